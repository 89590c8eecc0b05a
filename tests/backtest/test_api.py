"""``regimeflex.backtest.run``: configuration → targets (the runner's pipeline) → simulated book."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.backtest import run
from regimeflex.backtest.api import load_bars, period, resolve_for_backtest
from regimeflex.config import load_settings
from regimeflex.errors import ConfigError
from regimeflex.pipeline import compute_targets
from regimeflex.plugins import PluginHost


@pytest.fixture
def settings(etf_project):
    return load_settings(etf_project)


def test_run_trades_exactly_the_targets_the_daily_pipeline_computes(settings):
    result = run(settings)
    host = PluginHost.load()
    selection = resolve_for_backtest(settings, host)
    lo, hi = period(settings)
    bars = load_bars(settings, host, lo, hi)
    expected = compute_targets(bars, selection, host, settings).weights.loc[lo:hi]
    pd.testing.assert_frame_equal(result.targets, expected)


def test_run_covers_the_configured_period_and_starts_flat(settings):
    result = run(settings)
    assert result.equity.index[0] == pd.Timestamp("2019-03-01")
    assert result.equity.index[-1] == pd.Timestamp("2019-12-31")
    assert result.equity["cash"].iloc[0] == 100_000.0
    assert result.trades["date"].min() == pd.Timestamp("2019-03-04")


def test_warmup_history_makes_signals_ready_on_the_first_day(settings):
    result = run(settings)
    assert result.targets.iloc[0].abs().sum() > 0


def test_benchmark_series_is_rebased_to_the_starting_cash(settings):
    result = run(settings)
    eq = result.equity
    spy = pd.read_csv(
        __import__("pathlib").Path(settings.data.providers["csv"]["path"]) / "SPY.csv",
        index_col="Date",
        parse_dates=True,
    )["Adj Close"]
    assert eq["benchmark"].iloc[0] == 100_000.0
    ratio = spy.loc["2019-12-31"] / spy.loc["2019-03-01"]
    assert eq["benchmark"].iloc[-1] == pytest.approx(100_000.0 * ratio, rel=1e-9)


def test_metrics_come_from_the_report_layer(settings):
    from regimeflex.report.metrics import returns_from_equity, sharpe_ratio

    result = run(settings)
    expected = sharpe_ratio(returns_from_equity(result.equity["equity"]))
    assert result.metrics["sharpe"] == pytest.approx(expected, rel=1e-12)


def test_costs_from_run_yaml_are_charged_in_research_mode(make_project):
    period_yaml = "backtest:\n  start: 2019-03-01\n  end: 2019-12-31\n  warmup_sessions: 40\n  mode: research\n"
    free = run(load_settings(make_project(run_extra=period_yaml)))
    costly = run(
        load_settings(make_project(run_extra=period_yaml + "  costs: {commission_bps: 10, slippage_bps: 5}\n"))
    )
    assert costly.trades["commission"].sum() == pytest.approx((costly.trades["notional"] * 1e-3).sum(), rel=1e-12)
    assert costly.final_equity < free.final_equity


def test_start_and_end_arguments_override_run_yaml(settings):
    result = run(settings, start="2019-06-03", end="2019-09-30")
    assert (result.equity.index[0], result.equity.index[-1]) == (pd.Timestamp("2019-06-03"), pd.Timestamp("2019-09-30"))


def test_start_after_end_is_refused_with_the_fix(settings):
    with pytest.raises(ConfigError) as e:
        period(settings, "2019-10-01", "2019-09-01")
    assert str(e.value) == (
        "backtest: start 2019-10-01 is after end 2019-09-01; "
        "pass --start/--end in order (or fix run.yaml backtest.start/end)"
    )


def test_run_without_settings_needs_bars_and_weights():
    with pytest.raises(ConfigError) as e:
        run()
    assert str(e.value) == "backtest.run: pass settings, or both bars and weights"


def test_run_on_given_bars_and_weights_skips_the_hooks(etf_bars, trend_weights):
    result = run(bars=etf_bars, weights=trend_weights(etf_bars))
    assert len(result.equity) == len(etf_bars)
    assert np.isfinite(result.metrics["sharpe"])


def test_risk_yaml_equity_breakers_become_engine_rules(make_project):
    from regimeflex.backtest.api import sim_config

    cfg = make_project()
    (cfg / "risk.yaml").write_text(
        "sizer:\n  plugin: equal_weight\ncircuit_breakers:\n"
        "  max_drawdown: {threshold: 0.15, action: 'reduce:0.5', reset: recovery}\n"
        "  daily_loss: null\n"
    )
    rules = sim_config(load_settings(cfg)).breakers.rules
    assert [(r.measure, r.threshold, r.action, r.reset) for r in rules] == [
        ("max_drawdown", 0.15, "reduce:0.5", "recovery")
    ]


def test_breakers_can_be_switched_off_for_a_backtest(make_project):
    from regimeflex.backtest.api import sim_config

    cfg = make_project(run_extra="backtest:\n  breakers: false\n")
    assert sim_config(load_settings(cfg)).breakers.rules == ()


def test_unknown_backtest_key_in_run_yaml_names_it(make_project):
    cfg = make_project(run_extra="backtest:\n  rebalanse: weekly\n")
    with pytest.raises(ConfigError) as e:
        load_settings(cfg)
    assert "run.yaml: backtest.rebalanse: unknown key" in str(e.value)
