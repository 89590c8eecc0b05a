"""The XNYS session calendar as the data layer uses it.

Owns the XNYS sessions (from ``exchange_calendars``, loaded from 1990 so old
histories such as ^VIX resolve) and the questions the data layer asks of
them: which sessions fall in a range, which session is the last *completed*
one at a given instant (staleness is counted in sessions, never wall-clock
days), and how many sessions separate two dates. Importing and building the
full calendar takes ~1 s, most of a short run, so the answers come from a
:class:`SessionTable` (session dates and close instants, two arrays) kept on
disk per ``exchange_calendars`` version and build day under the user cache
directory (``$REGIMEFLEX_CACHE_HOME``, else ``$XDG_CACHE_HOME/regimeflex``,
else ``~/.cache/regimeflex``) and rebuilt from ``exchange_calendars`` when
absent, unreadable or from another day; :func:`xnys` still gives the full
calendar to callers that need more. A question about dates further ahead
than that table (an OPEX date in 2035, a synthetic history reaching 2040) is
answered from a table built for whole decades ahead (:func:`table_covering`),
so no future range is silently empty; dates before 1990 have no sessions.
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
#: First date the calendar knows; histories older than this cannot be checked.
CALENDAR_START = "1990-01-01"
#: Minutes after the close before a session's daily bar counts as published.
PUBLISH_DELAY_MINUTES = 30
#: How far past today the calendar reaches (the calendar guard looks ahead).
HORIZON = pd.Timedelta(days=2 * 365)


def _horizon_end() -> pd.Timestamp:
    return pd.Timestamp.now().normalize() + HORIZON


@functools.lru_cache(maxsize=1)
def xnys():  # -> exchange_calendars.ExchangeCalendar (imported lazily: ~1 s)
    import exchange_calendars as xc

    return xc.get_calendar("XNYS", start=CALENDAR_START, end=_horizon_end().strftime("%Y-%m-%d"))


@dataclass(frozen=True)
class SessionTable:
    """XNYS session dates (tz-naive midnight, ascending), each session's close (UTC instant) and
    whether it closes early (e.g. the day after Thanksgiving)."""

    sessions: np.ndarray  # datetime64[ns]
    closes: np.ndarray  # datetime64[ns], UTC
    early: np.ndarray  # bool

    @property
    def first_session(self) -> pd.Timestamp:
        return pd.Timestamp(self.sessions[0])

    @property
    def last_session(self) -> pd.Timestamp:
        return pd.Timestamp(self.sessions[-1])

    def position(self, day: pd.Timestamp) -> int:
        """Index of ``day`` in the sessions, or -1 when it is not a session."""
        i = int(np.searchsorted(self.sessions, np.datetime64(day, "ns")))
        return i if i < len(self.sessions) and self.sessions[i] == np.datetime64(day, "ns") else -1

    @classmethod
    def from_calendar(cls, cal) -> SessionTable:
        days = cal.sessions
        days = days.tz_localize(None) if days.tz is not None else days
        closes = cal.closes
        closes = closes.dt.tz_convert("UTC").dt.tz_localize(None) if closes.dt.tz is not None else closes
        days = days.to_numpy().astype("datetime64[ns]")
        early = np.isin(days, pd.DatetimeIndex(cal.early_closes).to_numpy().astype("datetime64[ns]"))
        return cls(days, closes.to_numpy().astype("datetime64[ns]"), early)


def cache_home() -> Path:
    """Where RegimeFlex keeps per-user caches that belong to no project (the session table)."""
    explicit = os.environ.get("REGIMEFLEX_CACHE_HOME")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "regimeflex"


def _table_file() -> Path:
    from importlib.metadata import version

    # the build day is in the name because the table reaches HORIZON past the day it was built
    return cache_home() / f"xnys-{version('exchange_calendars')}-{pd.Timestamp.now():%Y%m%d}.npz"


def _read_table(path: Path) -> SessionTable | None:
    try:
        with np.load(path) as npz:
            table = SessionTable(
                npz["sessions"].astype("datetime64[ns]"),
                npz["closes"].astype("datetime64[ns]"),
                npz["early"].astype(bool),
            )
    except (OSError, ValueError, KeyError, EOFError):
        return None  # absent or damaged: rebuild it
    ok = (
        len(table.sessions) > 0
        and len(table.sessions) == len(table.closes) == len(table.early)
        and bool(np.all(table.sessions[1:] > table.sessions[:-1]))
    )
    return table if ok else None


def _write_table(path: Path, table: SessionTable) -> None:
    """Write atomically and drop older tables; a cache that cannot be written is skipped, not an error."""
    import io

    from regimeflex.fsio import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez(buffer, sessions=table.sessions, closes=table.closes, early=table.early)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
        for old in path.parent.glob("xnys-*.npz"):
            if old != path:
                with contextlib.suppress(OSError):
                    old.unlink()


@functools.lru_cache(maxsize=1)
def session_table() -> SessionTable:
    """The XNYS sessions from 1990 to two years ahead: from the user cache, else built and stored."""
    path = _table_file()
    table = _read_table(path)
    if table is None:
        table = SessionTable.from_calendar(xnys())
        _write_table(path, table)
    return table


@functools.lru_cache(maxsize=4)
def _wider_table(last_year: int) -> SessionTable:
    """The XNYS sessions from 1990 to the end of ``last_year`` (built in memory, ~0.5 s)."""
    import exchange_calendars as xc

    return SessionTable.from_calendar(xc.get_calendar("XNYS", start=CALENDAR_START, end=f"{last_year}-12-31"))


def table_covering(start: date | str | pd.Timestamp, end: date | str | pd.Timestamp) -> SessionTable:
    """A session table that answers for every date up to ``end``: the everyday one when it
    reaches, else one built to the end of ``end``'s decade (exchange holidays follow rules, so
    they are known for any year; a closure announced later is not)."""
    table = session_table()
    hi = _day(end)
    if hi <= table.last_session:
        return table
    last_year = max(hi.year, table.last_session.year)
    return _wider_table(last_year + 9 - last_year % 10)


def _day(value: date | str | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tz is not None:
        stamp = stamp.tz_convert(NEW_YORK).tz_localize(None)
    return stamp.normalize()


def sessions(start: date | str | pd.Timestamp, end: date | str | pd.Timestamp) -> pd.DatetimeIndex:
    """XNYS sessions between ``start`` and ``end`` inclusive (tz-naive ``datetime64[ns]``), for any years."""
    days = table_covering(start, end).sessions
    lo = np.searchsorted(days, np.datetime64(_day(start), "ns"), side="left")
    hi = np.searchsorted(days, np.datetime64(_day(end), "ns"), side="right")
    return pd.DatetimeIndex(days[lo : max(lo, hi)], name="date")


def is_session(day: date | str | pd.Timestamp) -> bool:
    return table_covering(day, day).position(_day(day)) >= 0


def previous_session(day: date | str | pd.Timestamp) -> pd.Timestamp:
    """The last session strictly before ``day``."""
    days = table_covering(day, day).sessions
    i = int(np.searchsorted(days, np.datetime64(_day(day), "ns"), side="left"))
    if i == 0:
        raise ValueError(f"no XNYS session before {_day(day):%Y-%m-%d} (the calendar starts {CALENDAR_START})")
    return pd.Timestamp(days[i - 1])


def last_completed_session(now: datetime | None = None) -> pd.Timestamp:
    """The latest session whose close (plus a publishing delay) is before ``now``."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    table = session_table()
    instant = pd.Timestamp(now).tz_convert("UTC").tz_localize(None) - pd.Timedelta(minutes=PUBLISH_DELAY_MINUTES)
    # sessions whose close is at or before ``instant`` have completed; closes ascend with the sessions
    done = int(np.searchsorted(table.closes, np.datetime64(instant, "ns"), side="right"))
    if done == 0:
        raise ValueError(f"no XNYS session completed before {now:%Y-%m-%d %H:%M} UTC")
    return pd.Timestamp(table.sessions[done - 1])


def early_closes(start: date | str | pd.Timestamp, end: date | str | pd.Timestamp) -> pd.DatetimeIndex:
    """XNYS sessions between ``start`` and ``end`` that close early."""
    table = table_covering(start, end)
    days = sessions(start, end)
    lo = int(np.searchsorted(table.sessions, days.to_numpy()[0])) if len(days) else 0
    return pd.DatetimeIndex(days[table.early[lo : lo + len(days)]], name="date")


def sessions_after(last: date | pd.Timestamp | None, upto: date | pd.Timestamp) -> int:
    """How many sessions lie after ``last`` up to and including ``upto`` (the staleness)."""
    if last is None:
        return len(sessions(CALENDAR_START, upto))
    return len(sessions(_day(last) + pd.Timedelta(days=1), upto))


def ny_today(now: datetime | None = None) -> pd.Timestamp:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return pd.Timestamp(now).tz_convert(NEW_YORK).tz_localize(None).normalize()


__all__ = [
    "NEW_YORK",
    "SessionTable",
    "cache_home",
    "early_closes",
    "is_session",
    "last_completed_session",
    "ny_today",
    "previous_session",
    "session_table",
    "sessions",
    "sessions_after",
    "table_covering",
    "xnys",
]
