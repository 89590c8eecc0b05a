"""The XNYS session calendar as the data layer uses it.

Owns the one cached ``exchange_calendars`` XNYS calendar (loaded from 1990 so
old histories such as ^VIX resolve) and the questions the data layer asks of
it: which sessions fall in a range, which session is the last *completed* one
at a given instant (staleness is counted in sessions, never wall-clock days),
and how many sessions separate two dates.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
#: First date the calendar knows; histories older than this cannot be checked.
CALENDAR_START = "1990-01-01"
#: Minutes after the close before a session's daily bar counts as published.
PUBLISH_DELAY_MINUTES = 30


@functools.lru_cache(maxsize=1)
def xnys():  # -> exchange_calendars.ExchangeCalendar (imported lazily: ~1 s)
    import exchange_calendars as xc

    end = pd.Timestamp.now().normalize() + pd.Timedelta(days=2 * 365)
    return xc.get_calendar("XNYS", start=CALENDAR_START, end=end.strftime("%Y-%m-%d"))


def _day(value: date | str | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tz is not None:
        stamp = stamp.tz_convert(NEW_YORK).tz_localize(None)
    return stamp.normalize()


def sessions(start: date | str | pd.Timestamp, end: date | str | pd.Timestamp) -> pd.DatetimeIndex:
    """XNYS sessions between ``start`` and ``end`` inclusive (tz-naive ``datetime64[ns]``)."""
    cal = xnys()
    first, last = cal.first_session, cal.last_session
    lo, hi = max(_day(start), first), min(_day(end), last)
    if lo > hi:
        return pd.DatetimeIndex([], name="date", dtype="datetime64[ns]")
    out = cal.sessions_in_range(lo, hi)
    naive = out.tz_localize(None) if out.tz is not None else out
    return pd.DatetimeIndex(naive.to_numpy().astype("datetime64[ns]"), name="date")


def is_session(day: date | str | pd.Timestamp) -> bool:
    return xnys().is_session(_day(day))


def last_completed_session(now: datetime | None = None) -> pd.Timestamp:
    """The latest session whose close (plus a publishing delay) is before ``now``."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    cal = xnys()
    ny_now = pd.Timestamp(now).tz_convert(NEW_YORK)
    today = ny_now.tz_localize(None).normalize()
    if cal.is_session(today):
        close = cal.session_close(today) + pd.Timedelta(minutes=PUBLISH_DELAY_MINUTES)
        if pd.Timestamp(now) >= close:
            return today
    if cal.is_session(today):
        return pd.Timestamp(cal.previous_session(today))
    return pd.Timestamp(cal.date_to_session(today, direction="previous"))


def sessions_after(last: date | pd.Timestamp | None, upto: date | pd.Timestamp) -> int:
    """How many sessions lie after ``last`` up to and including ``upto`` (the staleness)."""
    if last is None:
        return len(sessions(CALENDAR_START, upto))
    return len(sessions(_day(last) + pd.Timedelta(days=1), upto))


def ny_today(now: datetime | None = None) -> pd.Timestamp:
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return pd.Timestamp(now).tz_convert(NEW_YORK).tz_localize(None).normalize()


__all__ = ["NEW_YORK", "is_session", "last_completed_session", "ny_today", "sessions", "sessions_after", "xnys"]
