"""Live/backtest parity: the daily runner, day by day with the paper broker, sees the same targets,
sends the same orders and reports the same equity as the backtest's rows in ``execution: planner`` mode."""

from __future__ import annotations

import pytest

from regimeflex.backtest import run
from regimeflex.config import load_settings
from regimeflex.errors import ConfigError
from regimeflex.runner import RunOptions, run_cycle

#: full history in both (the csv files hold 2019 only), so a daily run and the backtest read the same bars
PLANNER = (
    "history_sessions: 260\nbacktest:\n  start: 2019-10-07\n  end: 2019-12-31\n  warmup_sessions: 260\n"
    "  execution: planner\n"
)
#: the replay does not apply risk.yaml's equity breakers; none fires in this period for the runner either
#: (the targets test shows it), so switching them off in the backtest changes nothing here
PROJECT = PLANNER + "  breakers: false\n"
#: costs on, so the fills' slippage and commission arithmetic is part of what must agree
BROKER = (
    "broker: paper\nmode: paper\nbrokers:\n  paper:\n    slippage_bps: 5\n    commission_per_share: 0.005\n"
    "    commission_min: 1.0\n"
)


@pytest.fixture(scope="module")
def parity(make_shared_project):
    """The planner-mode backtest and the runner's summary for each of its 60 sessions."""
    config = make_shared_project(run_extra=PROJECT)
    (config / "risk.yaml").write_text("sizer:\n  plugin: equal_weight\n  params: {max_weight: 0.4}\n")
    (config / "broker.yaml").write_text(BROKER)
    settings = load_settings(config)
    backtest = run(settings)
    summaries = {day: run_cycle(settings, RunOptions(as_of=day.date())) for day in backtest.targets.index}
    return backtest, summaries


@pytest.mark.slow
def test_daily_runner_completes_each_of_the_last_60_sessions(parity):
    backtest, summaries = parity
    assert len(summaries) == 60
    assert {d: s.status for d, s in summaries.items()} == {d: "completed" for d in summaries}


@pytest.mark.slow
def test_daily_runner_targets_equal_backtest_rows(parity):
    backtest, summaries = parity
    for day, summary in summaries.items():
        expected = {s: round(float(w), 6) for s, w in backtest.targets.loc[day].items() if abs(w) > 1e-12}
        assert summary.targets == pytest.approx(expected, abs=1e-9), day


@pytest.mark.slow
def test_daily_runner_orders_equal_backtest_orders_of_the_day(parity):
    backtest, summaries = parity
    orders = backtest.orders
    assert len(orders) > 3  # the period trades: the comparison below is not vacuous
    for day, summary in summaries.items():
        expected = [(r.symbol, r.side, float(r.qty)) for r in orders[orders["date"] == day].itertuples()]
        assert [(o["symbol"], o["side"], float(o["qty"])) for o in summary.orders] == expected, day


@pytest.mark.slow
def test_daily_runner_equity_equals_backtest_equity_at_each_close(parity):
    backtest, summaries = parity
    for day, summary in summaries.items():
        assert summary.equity == pytest.approx(float(backtest.equity.loc[day, "equity"]), rel=1e-6), day


def test_planner_execution_refuses_equity_breakers_it_does_not_apply(make_project):
    config = make_project(run_extra=PLANNER)  # risk.yaml's default breakers, backtest.breakers left on
    with pytest.raises(ConfigError) as err:
        run(load_settings(config))
    assert str(err.value) == (
        "run.yaml: backtest.execution: planner does not apply risk.yaml's equity breakers "
        "(max_drawdown, daily_loss); set backtest.breakers: false, "
        "or use backtest.execution: engine"
    )
