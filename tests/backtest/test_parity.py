"""Live/backtest parity: the daily runner, day by day, sees the same targets as the backtest's rows."""

from __future__ import annotations

import pandas as pd
import pytest

from regimeflex.backtest import run
from regimeflex.config import load_settings
from regimeflex.runner import RunOptions, run_cycle

#: full history in both (the csv files hold 2019 only), so a daily run and the backtest read the same bars
PROJECT = ("history_sessions: 260\nbacktest:\n  start: 2019-10-07\n  end: 2019-12-31\n  warmup_sessions: 260\n")


@pytest.mark.slow
def test_daily_runner_targets_equal_backtest_rows_over_the_last_60_sessions(make_project):
    config = make_project(run_extra=PROJECT)
    (config / "risk.yaml").write_text("sizer:\n  plugin: equal_weight\n  params: {max_weight: 0.4}\n")
    (config / "broker.yaml").write_text("broker: paper\nmode: paper\n")
    settings = load_settings(config)
    backtest = run(settings)
    sessions = backtest.targets.index
    assert len(sessions) == 60
    for day in sessions:
        summary = run_cycle(settings, RunOptions(as_of=day.date()))
        assert summary.status == "completed", (day, summary.messages)
        expected = {s: round(float(w), 6) for s, w in backtest.targets.loc[day].items() if abs(w) > 1e-12}
        assert summary.targets == pytest.approx(expected, abs=1e-9), day
