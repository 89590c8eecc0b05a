"""Protective stops in ``backtest.mode: research``: the engine's date loop fills them with the paper broker's rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeflex.backtest.engine import EVENT_NAMES, SimConfig, SimResult, simulate
from regimeflex.backtest.replay import ReplayConfig, replay
from regimeflex.execution.planner import PlanRules
from regimeflex.execution.simulator import PaperSettings
from regimeflex.execution.stops import StopRule
from regimeflex.types import make_bars

DATA = Path(__file__).resolve().parents[1] / "data"
FIXED = StopRule(kind="fixed", pct=0.05)


def bars_of(rows: list[tuple[float, float, float, float]], symbol: str = "AAA") -> pd.DataFrame:
    """Bars for one symbol from (open, high, low, close) rows on consecutive business days."""
    idx = pd.bdate_range("2024-01-02", periods=len(rows))
    frame = pd.DataFrame(rows, index=idx, columns=["open", "high", "low", "close"])
    fields = {f: frame[[f]].rename(columns={f: symbol}) for f in frame.columns}
    fields["volume"] = pd.DataFrame({symbol: 1e6}, index=idx)
    return make_bars(fields)


def fills(sim: SimResult) -> list[tuple[str, str, str, float, str]]:
    """(date, symbol, side, price, event) of every fill."""
    events = sim.trade_event if sim.trade_event is not None else np.zeros(len(sim.trade_day), dtype=np.int8)
    return sorted(
        (
            sim.dates[d].date().isoformat(),
            sim.symbols[j],
            "buy" if q > 0 else "sell",
            round(float(p), 6),
            EVENT_NAMES[int(e)],
        )
        for d, j, q, p, e in zip(sim.trade_day, sim.trade_sym, sim.trade_qty, sim.trade_price, events)
    )


def exits(sim: SimResult) -> list[tuple[str, float, str]]:
    return [(day, price, event) for day, _sym, _side, price, event in fills(sim) if event]


def hold(bars: pd.DataFrame, weight: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(weight, index=bars.index, columns=bars["close"].columns)


# The book decides at day 0's close (100), buys at day 1's open (100): a 5 % stop sits at 95 from day 2 on.
ENTRY = [(100, 101, 99, 100), (100, 101, 99, 100)]


def test_a_stop_fills_at_the_open_when_the_session_gaps_below_it():
    bars = bars_of([*ENTRY, (93, 94, 90, 92)])
    assert exits(simulate(hold(bars), bars, SimConfig(stops=FIXED))) == [("2024-01-04", 93.0, "stop")]


def test_a_stop_fills_at_the_stop_when_the_low_touches_it():
    bars = bars_of([*ENTRY, (97, 98, 95, 96)])
    assert exits(simulate(hold(bars), bars, SimConfig(stops=FIXED))) == [("2024-01-04", 95.0, "stop")]


def test_a_stop_does_not_fill_on_the_entrys_own_session():
    bars = bars_of([(100, 101, 99, 100), (100, 101, 90, 96)])
    assert exits(simulate(hold(bars), bars, SimConfig(stops=FIXED))) == []


def test_a_trailing_stop_ratchets_on_the_closes_and_fills_at_the_ratcheted_level():
    # distance 5: the close of 110 lifts the stop to 105, the close of 107 leaves it there
    bars = bars_of([*ENTRY, (104, 111, 103, 110), (108, 109, 106, 107), (107, 107, 104, 105)])
    sim = simulate(hold(bars), bars, SimConfig(stops=StopRule(kind="trailing", pct=0.05)))
    assert exits(sim) == [("2024-01-08", 105.0, "stop")]


def test_a_take_profit_fills_at_its_level_above_the_entry():
    bars = bars_of([*ENTRY, (105, 112, 104, 111)])
    sim = simulate(hold(bars), bars, SimConfig(stops=StopRule(kind="fixed", pct=0.05, take_profit_pct=0.1)))
    assert exits(sim) == [("2024-01-04", 110.0, "take_profit")]


def test_the_stop_is_checked_before_the_take_profit_on_a_bar_that_reaches_both():
    bars = bars_of([*ENTRY, (100, 112, 94, 100)])
    sim = simulate(hold(bars), bars, SimConfig(stops=StopRule(kind="fixed", pct=0.05, take_profit_pct=0.1)))
    assert exits(sim) == [("2024-01-04", 95.0, "stop")]


STOPPED = [*ENTRY, (97, 98, 94, 96)] + [(96, 97, 95.5, 96)] * 6  # stopped out on 2024-01-04 (row 2)


def buy_days(sim: SimResult) -> list[str]:
    return [day for day, _sym, side, _p, _e in fills(sim) if side == "buy"]


def test_a_stopped_out_symbol_whose_target_holds_reenters_at_the_next_open():
    bars = bars_of(STOPPED)
    sim = simulate(hold(bars), bars, SimConfig(stops=FIXED, rebalance="on_change"))  # the target never changes
    assert buy_days(sim) == ["2024-01-03", "2024-01-05"]


def test_the_cooldown_blocks_reentry_for_its_sessions():
    bars = bars_of(STOPPED)
    rule = StopRule(kind="fixed", pct=0.05, cooldown_sessions=2)
    # buys planned on the stop-out session (01-04) and the 2 after it are refused: planned 01-09, filled 01-10
    assert buy_days(simulate(hold(bars), bars, SimConfig(stops=rule))) == ["2024-01-03", "2024-01-10"]


def test_a_full_exit_by_the_targets_removes_the_stop():
    bars = bars_of([*ENTRY, (100, 101, 99, 100), (100, 101, 99, 100), (90, 91, 80, 85)])
    weights = hold(bars)
    weights.iloc[2:] = 0.0  # sold at the open of 01-05; the crash on 01-08 finds no position and no stop
    sim = simulate(weights, bars, SimConfig(stops=FIXED))
    assert exits(sim) == [] and sim.shares[-1, 0] == 0.0


def test_stops_run_the_date_loop_and_no_stops_keep_the_loop_free_path():
    assert SimConfig().loop_free and not SimConfig(stops=FIXED).loop_free


def test_an_atr_stop_with_no_atr_yet_leaves_the_buy_unprotected_and_says_so():
    bars = bars_of([*ENTRY, (80, 81, 70, 75)])
    sim = simulate(hold(bars), bars, SimConfig(stops=StopRule(kind="atr", atr_window=14)))
    assert exits(sim) == []
    assert sim.notes == ("stops: 1 buy(s) got no atr stop (no ATR or reference price yet at the decision): AAA ×1",)


# ------------------------------------------------------------------ parity with the daily rules on real data


def real_bars(sessions: int = 60) -> pd.DataFrame:
    fields: dict[str, dict[str, pd.Series]] = {}
    for sym in ("SPY", "GLD"):
        raw = pd.read_csv(DATA / f"{sym}-2019-lumibot.csv", parse_dates=["Date"], index_col="Date").iloc[:sessions]
        for f in ("open", "high", "low", "close", "volume"):
            fields.setdefault(f, {})[sym] = raw[f.capitalize()]
    return make_bars({f: pd.DataFrame(cols) for f, cols in fields.items()})


PARITY_RULES = {
    "fixed with take-profit": StopRule(kind="fixed", pct=0.01, take_profit_pct=0.02),
    "atr": StopRule(kind="atr", atr_multiple=0.5, atr_window=5),
    "trailing": StopRule(kind="trailing", pct=0.015),
    "trailing with cooldown": StopRule(kind="trailing", pct=0.015, cooldown_sessions=3),
}


@pytest.mark.parametrize("name", list(PARITY_RULES))
def test_research_and_daily_rules_fill_the_same_stops_over_60_real_sessions(name: str):
    rule = PARITY_RULES[name]
    bars = real_bars(60)
    weights = pd.DataFrame(0.45, index=bars.index, columns=["GLD", "SPY"])
    weights.iloc[:8] = 0.0  # enter once an ATR(5) exists
    # the same entries on both sides: the planner's no-churn threshold keeps it from topping up drift (a
    # top-up is an entry that moves the stop), as on_change keeps the engine from rebalancing
    daily, _orders = replay(
        weights,
        bars,
        ReplayConfig(
            initial_cash=100_000.0,
            stops=rule,
            paper=PaperSettings(slippage_bps=0),
            rules=PlanRules(min_weight_change=0.3),
        ),
    )
    research = simulate(weights, bars, SimConfig(initial_cash=100_000.0, stops=rule, rebalance="on_change"))
    assert len(exits(daily)) >= 2  # the stops really fired on real data
    assert fills(research) == fills(daily)  # every fill's date, symbol, side, price and reason, exactly
    # quantities differ: the planner buys whole shares sized at the decision's close, the engine fractional
    # shares at the open; the stop levels and fill prices do not depend on the quantity
    assert research.equity[-1] == pytest.approx(daily.equity[-1], rel=5e-3)


# ------------------------------------------------------------------ the command line


def test_research_backtest_with_stops_runs_from_the_cli_and_says_so(run_cli, make_project):
    config = make_project(
        run_extra="backtest:\n  start: 2019-06-03\n  end: 2019-12-31\n  warmup_sessions: 60\n  mode: research\n"
    )
    risk = config / "risk.yaml"
    risk.write_text(risk.read_text() + "stops: {kind: fixed, pct: 0.03, take_profit_pct: 0.05, cooldown_sessions: 2}\n")
    code, out, _ = run_cli("--config", str(config), "backtest", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["mode"] == "research"
    assert info["rules"]["stops"] == {
        "kind": "fixed",
        "simulated": True,
        "pct": 0.03,
        "take_profit_pct": 0.05,
        "cooldown_sessions": 2,
    }
    assert (
        "stops: fixed (3.00% of the entry price below the entry, take-profit 5.00% above the entry"
        in info["rules_text"]
    )


def test_the_tear_sheet_of_a_research_backtest_says_which_stops_were_simulated(run_cli, make_project, tmp_path):
    config = make_project(
        run_extra="backtest:\n  start: 2019-06-03\n  end: 2019-12-31\n  warmup_sessions: 60\n  mode: research\n"
    )
    risk = config / "risk.yaml"
    risk.write_text(risk.read_text() + "stops: {kind: trailing, pct: 0.02}\n")
    code, _, _ = run_cli("--config", str(config), "backtest", "--out", str(tmp_path / "bt"))
    assert code == 0
    html = (tmp_path / "bt" / "tearsheet.html").read_text()
    assert "stops: trailing (2.00% of the entry price below the entry, ratcheting up on each close" in html


def test_the_daily_rules_replay_marks_its_stop_exits_like_the_engine():
    bars = bars_of([*ENTRY, (97, 98, 95, 96)])
    sim, _orders = replay(
        hold(bars, 0.9), bars, ReplayConfig(initial_cash=10_000.0, stops=FIXED, paper=PaperSettings(slippage_bps=0))
    )
    assert exits(sim) == [("2024-01-04", 95.0, "stop")]


def test_with_next_close_fills_the_session_bar_comes_before_its_closing_reentry():
    bars = bars_of([*ENTRY, (97, 98, 94, 96)])
    sim = simulate(hold(bars), bars, SimConfig(stops=FIXED, fill="next_close"))
    # bought at 01-03's close (100), stopped at 95 on 01-04, bought back at 01-04's close as the target holds
    assert fills(sim) == [
        ("2024-01-03", "AAA", "buy", 100.0, ""),
        ("2024-01-04", "AAA", "buy", 96.0, ""),
        ("2024-01-04", "AAA", "sell", 95.0, "stop"),
    ]
