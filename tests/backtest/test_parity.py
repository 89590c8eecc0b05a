"""Live/backtest parity: the daily runner, day by day with the paper broker, sees the same targets,
sends the same orders and reports the same equity as the *default* backtest's rows (``mode: daily``:
the daily run's planner, paper fills and costs, and risk.yaml's circuit breakers, all left at their
defaults)."""

from __future__ import annotations

import pytest

from regimeflex.backtest import run
from regimeflex.config import load_settings
from regimeflex.runner import RunOptions, run_cycle

#: full history in both (the csv files hold 2019 only), so a daily run and the backtest read the same bars;
#: nothing else in backtest: — the execution rules are the defaults
PROJECT = "history_sessions: 260\nbacktest:\n  start: 2019-10-07\n  end: 2019-12-31\n  warmup_sessions: 260\n"
#: costs on, so the fills' slippage and commission arithmetic is part of what must agree
BROKER = (
    "broker: paper\nmode: paper\nbrokers:\n  paper:\n    slippage_bps: 5\n    commission_per_share: 0.005\n"
    "    commission_min: 1.0\n"
)


RISK = {
    "defaults": "sizer:\n  plugin: equal_weight\n  params: {max_weight: 0.4}\n",
    # a concentration limit below the sizer's cap: the breaker trips on the runner's account and must
    # trip on the same sessions, with the same effect on the orders, in the backtest
    "breaker": "sizer:\n  plugin: equal_weight\n  params: {max_weight: 0.4}\ncircuit_breakers:\n  concentration: 0.3\n",
}


@pytest.fixture(scope="module", params=sorted(RISK))
def parity(make_shared_project, request):
    """The default backtest and the runner's summary for each of its 60 sessions."""
    config = make_shared_project(run_extra=PROJECT)
    (config / "risk.yaml").write_text(RISK[request.param])
    (config / "broker.yaml").write_text(BROKER)
    settings = load_settings(config)
    backtest = run(settings)
    summaries = {day: run_cycle(settings, RunOptions(as_of=day.date())) for day in backtest.targets.index}
    return backtest, summaries, request.param


@pytest.mark.slow
def test_default_backtest_uses_the_daily_runs_rules(parity):
    backtest, _, _ = parity
    assert backtest.rules["mode"] == "daily"
    assert backtest.rules["shares"] == "whole"
    assert backtest.rules["min_weight_change"] == 0.005
    assert backtest.rules["slippage_bps"] == 5.0
    assert backtest.orders is not None


@pytest.mark.slow
def test_breakers_trip_on_the_same_sessions_in_runner_and_backtest(parity):
    backtest, summaries, scenario = parity
    tripped = {d for d, s in summaries.items() if any(b["state"] == "tripped" for b in s.breakers)}
    assert {d for d in summaries if backtest.equity.loc[d, "breaker"]} == tripped
    if scenario == "breaker":
        assert tripped  # the scenario trips it, so the comparison above is not vacuous


@pytest.mark.slow
def test_daily_runner_completes_each_of_the_last_60_sessions(parity):
    backtest, summaries, scenario = parity
    assert len(summaries) == 60
    assert {d: s.status for d, s in summaries.items()} == {d: "completed" for d in summaries}


@pytest.mark.slow
def test_daily_runner_targets_equal_backtest_rows(parity):
    backtest, summaries, scenario = parity
    for day, summary in summaries.items():
        if backtest.equity.loc[day, "breaker"]:
            continue  # the runner's targets are cut by the tripped breaker; the orders and equity tests cover it
        expected = {s: round(float(w), 6) for s, w in backtest.targets.loc[day].items() if abs(w) > 1e-12}
        assert summary.targets == pytest.approx(expected, abs=1e-9), day


@pytest.mark.slow
def test_daily_runner_orders_equal_backtest_orders_of_the_day(parity):
    backtest, summaries, scenario = parity
    orders = backtest.orders
    assert len(orders) > 3  # the period trades: the comparison below is not vacuous
    for day, summary in summaries.items():
        expected = [(r.symbol, r.side, float(r.qty)) for r in orders[orders["date"] == day].itertuples()]
        assert [(o["symbol"], o["side"], float(o["qty"])) for o in summary.orders] == expected, day


@pytest.mark.slow
def test_daily_runner_equity_equals_backtest_equity_at_each_close(parity):
    backtest, summaries, scenario = parity
    for day, summary in summaries.items():
        assert summary.equity == pytest.approx(float(backtest.equity.loc[day, "equity"]), rel=1e-6), day
