"""``backtest.chunk_symbols``: a research backtest of independent sleeves run a chunk of symbols at a time
gives the very same book as the unchunked run, and is refused where symbols are coupled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.backtest import run
from regimeflex.backtest.results import summary
from regimeflex.config import load_settings
from regimeflex.errors import ConfigError

SLEEVES = (
    "backtest:\n  start: 2019-03-01\n  end: 2019-12-31\n  warmup_sessions: 40\n  mode: research\n"
    "  rebalance: on_change\n  sleeves: true\n  breakers: false\n"
)
TREND = "strategies:\n  trend:\n    plugin: trend\n    budget: 1.0\n    params: {rule: price_above_sma, slow: 20}\n"


def project(make_project, extra: str = "", sizer: str = "sleeve"):
    config = make_project(run_extra=SLEEVES + extra, strategies=TREND)
    (config / "risk.yaml").write_text(f"sizer:\n  plugin: {sizer}\n")
    return load_settings(config)


@pytest.fixture
def unchunked(make_project):
    return run(project(make_project))


@pytest.mark.parametrize("chunk", [1, 2])
def test_chunked_equity_curve_equals_the_unchunked_one_bit_for_bit(make_project, unchunked, chunk):
    chunked = run(project(make_project, f"  chunk_symbols: {chunk}\n"))
    pd.testing.assert_frame_equal(chunked.equity, unchunked.equity, check_exact=True)


@pytest.mark.parametrize("chunk", [1, 2])
def test_chunked_trades_equal_the_unchunked_ones_row_for_row(make_project, unchunked, chunk):
    chunked = run(project(make_project, f"  chunk_symbols: {chunk}\n"))
    assert len(unchunked.trades) > 10
    pd.testing.assert_frame_equal(chunked.trades, unchunked.trades, check_exact=True)


def test_chunked_summary_counts_symbols_and_entries_like_the_unchunked_run(make_project, unchunked):
    chunked = summary(run(project(make_project, "  chunk_symbols: 2\n")))
    whole = summary(unchunked)
    assert (chunked["symbols"], chunked["entries"], chunked["final_equity"]) == (
        whole["symbols"],
        whole["entries"],
        whole["final_equity"],
    )


def test_chunked_result_says_which_panels_it_did_not_keep(make_project):
    result = run(project(make_project, "  chunk_symbols: 2\n"))
    assert result.positions.columns.empty and result.weights.columns.empty
    assert any("chunk_symbols: 2" in n and "not kept" in n and "turnover: no data" in n for n in result.notes)
    assert np.isnan(result.metrics["turnover"])


def test_sleeves_are_the_traded_symbols_each_with_an_equal_share_of_the_cash(unchunked):
    first_buys = unchunked.trades[unchunked.trades["side"] == "buy"].groupby("symbol").first()
    assert set(first_buys.index) <= {"SPY", "GLD", "TLT"}
    assert first_buys["notional"].to_numpy() == pytest.approx(100_000 / 3, rel=1e-12)


def test_chunks_need_sleeves(make_project):
    config = make_project(run_extra=SLEEVES.replace("  sleeves: true\n", "") + "  chunk_symbols: 2\n")
    with pytest.raises(Exception, match="chunk_symbols needs sleeves: true"):
        load_settings(config)


def test_a_sizer_that_does_not_declare_per_symbol_is_refused_by_name(make_project):
    settings = project(make_project, "  chunk_symbols: 2\n", sizer="equal_weight")
    with pytest.raises(ConfigError, match=r"sizer \(plugin 'equal_weight'\) does not declare the 'per_symbol'"):
        run(settings)


def test_equity_breakers_couple_the_sleeves_and_are_refused(make_project):
    settings = project(make_project, "  chunk_symbols: 2\n").model_copy()
    config = make_project(
        run_extra=SLEEVES.replace("  breakers: false\n", "") + "  chunk_symbols: 2\n", strategies=TREND
    )
    (config / "risk.yaml").write_text(
        "sizer:\n  plugin: sleeve\ncircuit_breakers:\n  max_drawdown: {threshold: 0.2, action: flatten}\n"
    )
    del settings
    with pytest.raises(ConfigError, match="max_drawdown.*backtest.breakers: false"):
        run(load_settings(config))


def test_chunk_symbols_belongs_to_research_mode(make_project):
    config = make_project(run_extra="backtest:\n  chunk_symbols: 2\n")
    with pytest.raises(Exception, match="chunk_symbols"):
        load_settings(config)


def with_stops(settings_dir, stops: str):
    (settings_dir / "risk.yaml").write_text(f"sizer:\n  plugin: sleeve\nstops: {stops}\n")
    return load_settings(settings_dir)


@pytest.mark.parametrize(
    "stops",
    ["{kind: fixed, pct: 0.02}", "{kind: trailing, pct: 0.02, cooldown_sessions: 2}"],
    ids=["fixed", "trailing"],
)
@pytest.mark.parametrize("chunk", [1, 2])
def test_chunked_backtest_with_stops_equals_the_unchunked_one_fill_for_fill(make_project, stops, chunk):
    whole = run(with_stops(make_project(run_extra=SLEEVES, strategies=TREND), stops))
    chunked = run(with_stops(make_project(run_extra=SLEEVES + f"  chunk_symbols: {chunk}\n", strategies=TREND), stops))
    assert (whole.trades["event"] == "stop").sum() >= 2  # the stops fire on the real 2019 bars
    assert chunked.metrics["final_equity"] == pytest.approx(whole.metrics["final_equity"], rel=1e-9)
    pd.testing.assert_series_equal(chunked.equity["equity"], whole.equity["equity"], rtol=1e-9)
    pd.testing.assert_frame_equal(chunked.trades, whole.trades, rtol=1e-9)


def test_chunked_backtest_with_costs_and_whole_shares_equals_the_unchunked_one(make_project):
    costs = "  costs: {commission_bps: 5, slippage_bps: 3}\n  fractional: false\n"
    whole = run(project(make_project, costs))
    chunked = run(project(make_project, costs + "  chunk_symbols: 2\n"))
    assert (whole.trades["commission"] > 0).all()
    assert chunked.metrics["final_equity"] == pytest.approx(whole.metrics["final_equity"], rel=1e-9)
    pd.testing.assert_frame_equal(chunked.trades, whole.trades, rtol=1e-9)


def test_chunked_backtest_says_which_buys_got_no_stop_in_the_unchunked_runs_one_line(make_project):
    stops = "{kind: atr, atr_window: 60, atr_multiple: 2}"  # 60 sessions of ATR: the early buys have none yet
    whole = run(with_stops(make_project(run_extra=SLEEVES, strategies=TREND), stops))
    chunked = run(with_stops(make_project(run_extra=SLEEVES + "  chunk_symbols: 1\n", strategies=TREND), stops))
    line = [n for n in whole.notes if n.startswith("stops:")]
    assert len(line) == 1 and "GLD" in line[0] and "SPY" in line[0]
    assert [n for n in chunked.notes if n.startswith("stops:")] == line
