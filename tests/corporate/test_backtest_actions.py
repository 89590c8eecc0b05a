"""Raw-price backtests apply corporate actions: the signals see back-adjusted prices, the simulated book
holds the raw shares (a split multiplies the held quantity, a cash dividend is credited on the ex-date),
in ``mode: research`` (the engine) and ``mode: daily`` (the replay through the paper book) alike — over
the real DISCK 2-for-1 of 2014-08-07 (tests/data/corporate, SOURCES.md). Adjusted prices are said to
include the actions (nothing applied twice); raw prices without actions say splits appear as moves."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from regimeflex.backtest.api import assemble
from regimeflex.backtest.engine import SimConfig
from regimeflex.backtest.replay import ReplayConfig
from regimeflex.data.actions import back_adjust, read_actions_file
from regimeflex.execution.planner import PlanRules
from regimeflex.execution.simulator import PaperSettings
from regimeflex.types import CorporateAction, make_bars
from tests.corporate.conftest import ACTIONS, PRICES, edit_yaml

EX = pd.Timestamp("2014-08-07")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """DISCK's real raw bars around the split (2014-07-01..2014-08-29)."""
    long = pd.read_csv(PRICES, parse_dates=["date"])
    long = long[(long["Name"] == "DISCK") & long["date"].between("2014-07-01", "2014-08-29")]
    fields = ("open", "high", "low", "close", "volume")
    return make_bars({f: long.pivot(index="date", columns="Name", values=f) for f in fields})


@pytest.fixture(scope="module")
def split() -> list[CorporateAction]:
    return [a for a in read_actions_file(ACTIONS) if a.symbol == "DISCK"]


def half_in_disck(bars: pd.DataFrame) -> pd.DataFrame:
    """Target 50 % DISCK from 2014-07-31's close on (bought at 2014-08-01's open), flat before."""
    w = pd.DataFrame(0.0, index=bars.index, columns=["DISCK"])
    w.loc["2014-07-31":, "DISCK"] = 0.5
    return w


def test_back_adjusted_prices_have_no_split_move_and_end_on_the_raw_price(raw, split) -> None:
    adjusted = back_adjust(raw, split)
    close = adjusted["close"]["DISCK"]
    assert close.pct_change().abs().max() < 0.07  # the largest real move is 6 %; the raw series falls 51 %
    assert close.loc[EX:].equals(raw["close"]["DISCK"].loc[EX:])
    assert close.loc["2014-08-06"] == pytest.approx(81.22 / 2)
    assert adjusted["volume"]["DISCK"].loc["2014-08-06"] == 2 * raw["volume"]["DISCK"].loc["2014-08-06"]


def test_a_cash_dividend_back_adjusts_earlier_prices_by_one_minus_cash_over_the_previous_close(raw) -> None:
    dividend = CorporateAction("DISCK", date(2014, 8, 7), "dividend", cash=0.5)
    close = back_adjust(raw, [dividend])["close"]["DISCK"]
    assert close.loc["2014-08-05"] == pytest.approx(82.81 * (1 - 0.5 / 81.22))
    assert close.loc["2014-08-07"] == 39.78


def test_the_research_engine_doubles_the_held_quantity_on_the_ex_date_and_keeps_equity(raw, split) -> None:
    result = assemble(half_in_disck(raw), raw, SimConfig(rebalance="on_change"), actions=split)
    bought = 50_000.0 / 83.01  # at 2014-08-01's open, once (on_change)
    shares = result.positions["DISCK"]
    assert shares.loc["2014-08-06"] == pytest.approx(bought)
    assert shares.loc["2014-08-07"] == pytest.approx(2 * bought)
    equity = result.equity["equity"]
    assert equity.loc["2014-08-06"] == pytest.approx(50_000.0 + bought * 81.22)
    assert equity.loc["2014-08-07"] == pytest.approx(50_000.0 + 2 * bought * 39.78)
    assert list(result.trades["date"]) == [pd.Timestamp("2014-08-01")]  # the split is no trade


def test_without_the_action_the_engine_books_the_split_as_a_loss(raw) -> None:
    result = assemble(half_in_disck(raw), raw, SimConfig(rebalance="on_change"))
    equity = result.equity["equity"]
    assert equity.loc["2014-08-07"] / equity.loc["2014-08-06"] - 1 < -0.25


def test_a_cash_dividend_is_credited_on_the_ex_date_in_both_modes(raw) -> None:
    dividend = [CorporateAction("DISCK", date(2014, 8, 7), "dividend", cash=0.5)]
    research = assemble(half_in_disck(raw), raw, SimConfig(rebalance="on_change"), actions=dividend)
    replay = ReplayConfig(rules=PlanRules(min_weight_change=0.2), paper=PaperSettings(slippage_bps=0.0))
    daily = assemble(half_in_disck(raw), raw, SimConfig(), replay=replay, actions=dividend)
    for result in (research, daily):
        cash = result.equity["cash"]
        held = result.positions["DISCK"].loc["2014-08-06"]
        assert cash.loc["2014-08-07"] - cash.loc["2014-08-06"] == pytest.approx(0.5 * held)


def test_the_replay_and_the_research_engine_agree_across_the_split(raw, split) -> None:
    research = assemble(half_in_disck(raw), raw, SimConfig(rebalance="on_change"), actions=split)
    replay = ReplayConfig(rules=PlanRules(min_weight_change=0.2), paper=PaperSettings(slippage_bps=0.0))
    daily = assemble(half_in_disck(raw), raw, SimConfig(), replay=replay, actions=split)
    whole = daily.positions["DISCK"]
    bought = np.floor(50_000.0 / raw["close"]["DISCK"].loc["2014-07-31"])  # planned on that close, whole shares
    assert whole.loc["2014-08-06"] == bought and whole.loc["2014-08-07"] == 2 * bought
    assert daily.trades["date"].tolist() == [pd.Timestamp("2014-08-01")]
    paper_cost = bought * 83.01
    assert daily.equity["equity"].loc["2014-08-07"] == pytest.approx(100_000 - paper_cost + 2 * bought * 39.78)
    # both books are about half in DISCK: their equity curves agree within the whole-share remainder
    gap = (daily.equity["equity"] - research.equity["equity"]).abs().max()
    assert gap < 0.001 * 100_000


# ------------------------------------------------------------------ the CLI backtest of the configured strategy


def backtest(run_cli, config: Path, mode: str, name: str) -> tuple[dict, Path]:
    edit_yaml(config / "run.yaml", backtest={"mode": mode})
    out = config.parent / name
    code, text, err = run_cli(
        "--config", str(config), "backtest", "--start", "2014-06-02", "--end", "2014-09-30", "--json", "--out", out
    )
    assert code == 0, err
    return json.loads(text), out


@pytest.mark.parametrize("mode", ["daily", "research"])
def test_the_strategys_position_is_held_across_the_split_on_raw_prices(run_cli, disc_project: Path, mode) -> None:
    summary, out = backtest(run_cli, disc_project, mode, f"bt-{mode}")
    assert any(n.startswith("raw prices from csv: 1 split(s)") for n in summary["notes"])
    targets = pd.read_parquet(out / "targets.parquet")["DISCK"]
    assert targets.loc["2014-08-06"] > 0 and targets.loc["2014-08-07":"2014-08-12"].min() > 0  # no signal flip
    positions = pd.read_parquet(out / "positions.parquet")["DISCK"]
    assert positions.loc["2014-08-07"] / positions.loc["2014-08-06"] == pytest.approx(2.0, rel=0.02)
    equity = pd.read_csv(out / "equity.csv", index_col=0, parse_dates=True)
    assert abs(equity["equity"].loc["2014-08-07"] / equity["equity"].loc["2014-08-06"] - 1) < 0.01
    # the benchmark (DISCK itself) is its total return, not a halving
    assert equity["benchmark"].loc["2014-08-07"] / equity["benchmark"].loc["2014-08-06"] > 0.95
    trades = pd.read_csv(out / "trades.csv")
    assert not ((trades["date"] == "2014-08-07") & (trades["side"] == "sell")).any()


def test_without_actions_the_backtest_says_splits_appear_as_price_moves(run_cli, disc_project: Path) -> None:
    doc = yaml.safe_load((disc_project / "data.yaml").read_text())
    del doc["providers"]["csv"]["actions_path"]
    edit_yaml(disc_project / "data.yaml", providers=doc["providers"])
    summary, out = backtest(run_cli, disc_project, "research", "bt-none")
    assert (
        "corporate actions: not provided by csv — raw prices, splits in raw prices appear as price moves"
        in (summary["notes"])
    )
    equity = pd.read_csv(out / "equity.csv", index_col=0, parse_dates=True)["equity"]
    assert equity.loc["2014-08-07"] / equity.loc["2014-08-06"] - 1 < -0.1  # what the note warns about
    assert "splits in raw prices appear as price moves" in (out / "tearsheet.html").read_text()


def test_adjusted_prices_are_said_to_include_the_actions_which_are_not_applied_again(
    run_cli, disc_project: Path
) -> None:
    doc = yaml.safe_load((disc_project / "data.yaml").read_text())
    doc["providers"]["csv"]["prices"] = "adjusted"  # declared adjusted: the actions file is then not applied
    edit_yaml(disc_project / "data.yaml", adjusted=True, providers=doc["providers"])
    summary, out = backtest(run_cli, disc_project, "research", "bt-adjusted")
    assert any(n.startswith("prices adjusted by csv: splits/dividends included") for n in summary["notes"])
    assert not any("split(s)" in n for n in summary["notes"])
    # these files are really raw: taken as adjusted, nothing multiplies the position, so the halving is a loss
    equity = pd.read_csv(out / "equity.csv", index_col=0, parse_dates=True)["equity"]
    assert equity.loc["2014-08-07"] / equity.loc["2014-08-06"] - 1 < -0.1
