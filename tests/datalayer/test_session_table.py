"""The XNYS session table: the same answers as exchange_calendars, kept on disk so a run need not build the calendar."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeflex.data import calendar


@pytest.fixture
def fresh_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """session_table() with an empty cache home of its own (the lru cache cleared before and after)."""
    monkeypatch.setenv("REGIMEFLEX_CACHE_HOME", str(tmp_path / "cache"))
    calendar.session_table.cache_clear()
    yield tmp_path / "cache"
    calendar.session_table.cache_clear()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_sessions_equal_exchange_calendars_sessions_over_thirty_years() -> None:
    cal = calendar.xnys()
    expected = cal.sessions_in_range("1995-01-03", "2026-12-31")
    expected = expected.tz_localize(None) if expected.tz is not None else expected
    got = calendar.sessions("1995-01-01", "2026-12-31")
    assert got.equals(pd.DatetimeIndex(expected.to_numpy().astype("datetime64[ns]"), name="date"))


def test_early_closes_equal_exchange_calendars_early_closes() -> None:
    expected = pd.DatetimeIndex(calendar.xnys().early_closes)
    expected = expected[(expected >= "2000-01-01") & (expected <= "2026-12-31")]
    got = calendar.early_closes("2000-01-01", "2026-12-31")
    assert list(got) == list(expected) and pd.Timestamp("2026-11-27") in got


def test_early_close_counts_as_completed_thirty_minutes_after_one_pm() -> None:
    # 2026-11-27, the day after Thanksgiving, closes at 13:00 New York = 18:00 UTC
    assert calendar.last_completed_session(_utc("2026-11-27 18:29")) == pd.Timestamp("2026-11-25")
    assert calendar.last_completed_session(_utc("2026-11-27 18:30")) == pd.Timestamp("2026-11-27")


def test_regular_session_completes_thirty_minutes_after_four_pm() -> None:
    assert calendar.last_completed_session(_utc("2026-11-25 21:29")) == pd.Timestamp("2026-11-24")
    assert calendar.last_completed_session(_utc("2026-11-25 21:30")) == pd.Timestamp("2026-11-25")


def test_previous_session_skips_the_holiday() -> None:
    assert calendar.previous_session("2026-11-27") == pd.Timestamp("2026-11-25")
    assert not calendar.is_session("2026-11-26")


def test_table_is_written_to_the_cache_home_and_read_back_identical(fresh_table: Path) -> None:
    built = calendar.session_table()
    files = list(fresh_table.glob("xnys-*.npz"))
    assert len(files) == 1
    calendar.session_table.cache_clear()
    again = calendar.session_table()
    assert np.array_equal(built.sessions, again.sessions) and np.array_equal(built.closes, again.closes)


def test_a_damaged_table_file_is_rebuilt_not_an_error(fresh_table: Path) -> None:
    path = calendar._table_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    table = calendar.session_table()
    assert table.first_session == pd.Timestamp("1990-01-02")
    assert calendar._read_table(path) is not None  # the rebuilt table replaced the damaged file


def test_an_unwritable_cache_home_still_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("REGIMEFLEX_CACHE_HOME", str(blocker / "cache"))
    calendar.session_table.cache_clear()
    try:
        assert calendar.is_session("2024-07-03") and not calendar.is_session("2024-07-04")
    finally:
        calendar.session_table.cache_clear()


def test_a_process_with_a_stored_table_does_not_import_exchange_calendars(fresh_table: Path) -> None:
    calendar.session_table()  # writes the table for today
    code = (
        "import sys; from regimeflex.data import calendar as c; c.last_completed_session(); "
        "c.sessions('2020-01-01', '2020-12-31'); print('exchange_calendars' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"REGIMEFLEX_CACHE_HOME": str(fresh_table), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "False"
