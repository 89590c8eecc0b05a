"""One injected clock: ``--now`` (or REGIMEFLEX_NOW) is what every command takes as the current time."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from regimeflex.cli.common import parse_now


def test_a_bare_date_means_that_sessions_close_in_new_york():
    assert parse_now("2019-06-14") == datetime(2019, 6, 14, 20, 30, tzinfo=UTC)  # 16:30 EDT


def test_a_naive_date_time_is_utc_and_z_is_accepted():
    assert parse_now("2019-06-14T21:00:00") == datetime(2019, 6, 14, 21, 0, tzinfo=UTC)
    assert parse_now("2019-06-14T21:00:00Z") == datetime(2019, 6, 14, 21, 0, tzinfo=UTC)


def test_a_bad_now_is_a_usage_error_naming_the_option(run_cli, project):
    code, _, err = run_cli("--config", project, "--now", "yesterday", "risk", "status")
    assert code == 2
    assert "--now" in err and "'yesterday' is not a date or date-time" in err


def test_run_as_of_last_is_the_last_session_before_now(run_cli, project):
    code, out, _ = run_cli("--config", project, "--now", "2019-06-16", "run", "--as-of", "last", "--json")
    assert code == 0
    assert json.loads(out)["session"] == "2019-06-14"  # Sunday → the Friday before


def test_run_refuses_a_session_after_now(run_cli, project):
    code, _, err = run_cli("--config", project, "--now", "2019-06-14", "run", "--as-of", "2019-06-17")
    assert code == 2
    assert "--as-of 2019-06-17 is in the future (today in New York is 2019-06-14)" in err


def test_the_environment_variable_sets_the_same_clock(run_cli, project, monkeypatch):
    monkeypatch.setenv("REGIMEFLEX_NOW", "2019-06-14")
    code, out, _ = run_cli("--config", project, "risk", "status", "--json")
    assert code == 0
    assert json.loads(out)["calendar"]["today"]["date"] == "2019-06-14"
