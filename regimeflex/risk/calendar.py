"""Calendar guard: XNYS sessions and early closes, FOMC days and monthly OPEX.

Owns the event calendars the guard knows — FOMC decision dates (the shipped
table in ``risk/data/fomc_announcements.csv``, 1994–2027, scheduled and
unscheduled, or ``calendar.fomc.dates`` from risk.yaml), monthly options
expiry (the third Friday, moved to the previous session when that Friday is
a holiday, for any month) and XNYS early closes — and
:func:`calendar_guard`, which tells the runner for one session whether it is a
trading session, which events cover it (each event guards a window of
sessions before/after it) and what their rules allow: ``skip_entries`` (no
new or larger positions), ``reduce:<x>`` (targets × x) or ``allow``.
:func:`calendar_guard_frame` answers the same for a whole date index at once
(the backtest). An event on a non-session date guards the next session.

A guard that cannot see says so: a session whose FOMC window reaches outside
the table's coverage (:func:`fomc_table`) has the FOMC state ``unknown`` —
nothing is blocked on a guess, and the run, the backtest, ``risk status`` and
``doctor`` say that the table does not cover it.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from regimeflex.config.risk import CalendarSettings, EventRule
from regimeflex.data.calendar import early_closes, is_session, sessions

EVENT_KINDS: tuple[str, ...] = ("fomc", "opex", "early_close")


@dataclass(frozen=True)
class CalendarEvent:
    """One dated event (``date`` is the session it falls on)."""

    kind: str
    date: dt.date

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "date": self.date.isoformat()}


@dataclass(frozen=True)
class GuardDecision:
    """What the calendar allows on one session.

    ``events`` are the events whose window covers the session; ``scale`` is
    the product of their ``reduce:<x>`` factors; ``allow_entries`` is False
    when one of them says ``skip_entries``. A non-session allows nothing.
    """

    session: dt.date
    is_session: bool
    early_close: bool
    events: tuple[CalendarEvent, ...]
    allow_entries: bool
    scale: float
    reasons: tuple[str, ...]
    #: event kinds whose calendar does not cover this session's window (state ``unknown``)
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class FomcTable:
    """The FOMC decision dates in force and the span they cover (whole years).

    ``kinds`` says ``scheduled`` or ``unscheduled`` per date (``listed`` for a
    risk.yaml list); ``source`` names where the dates come from.
    """

    dates: pd.DatetimeIndex
    kinds: tuple[str, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    source: str

    def covers(self, day: pd.Timestamp | dt.date | str) -> bool:
        return bool(self.start <= pd.Timestamp(day) <= self.end)

    def describe(self) -> str:
        return f"{self.source} covers {self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"


SHIPPED_FOMC_SOURCE = "the shipped FOMC table (regimeflex/risk/data/fomc_announcements.csv)"


@functools.lru_cache(maxsize=1)
def shipped_fomc_table() -> FomcTable:
    """The FOMC decision dates shipped with RegimeFlex (1994–2027, see SOURCES.md beside them)."""
    text = resources.files("regimeflex.risk").joinpath("data/fomc_announcements.csv").read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines()[1:] if line.strip()]
    days = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows]), name="date").astype("datetime64[ns]")
    return FomcTable(
        dates=days,
        kinds=tuple(r[1].strip() for r in rows),
        start=pd.Timestamp(f"{days.min().year}-01-01"),
        end=pd.Timestamp(f"{days.max().year}-12-31"),
        source=SHIPPED_FOMC_SOURCE,
    )


def shipped_fomc_dates() -> pd.DatetimeIndex:
    """The shipped FOMC decision dates (scheduled and unscheduled)."""
    return shipped_fomc_table().dates


def fomc_table(settings: CalendarSettings | None = None) -> FomcTable:
    """The FOMC table in force: risk.yaml's ``calendar.fomc.dates`` when given (covering the whole
    years of its first and last date), else the shipped one."""
    if settings is not None and settings.fomc.dates is not None:
        days = pd.DatetimeIndex(sorted(pd.to_datetime(settings.fomc.dates)), name="date").astype("datetime64[ns]")
        if len(days) == 0:
            return FomcTable(days, (), pd.Timestamp.max, pd.Timestamp.min, "risk.yaml: calendar.fomc.dates (empty)")
        return FomcTable(
            dates=days,
            kinds=("listed",) * len(days),
            start=pd.Timestamp(f"{days.min().year}-01-01"),
            end=pd.Timestamp(f"{days.max().year}-12-31"),
            source="risk.yaml: calendar.fomc.dates",
        )
    return shipped_fomc_table()


def fomc_dates(settings: CalendarSettings | None = None) -> pd.DatetimeIndex:
    """The FOMC list in force: risk.yaml's ``calendar.fomc.dates`` when given, else the shipped one."""
    return fomc_table(settings).dates


def opex_dates(start: dt.date | str, end: dt.date | str) -> pd.DatetimeIndex:
    """Monthly options expiry between ``start`` and ``end`` (any months from 1990 on): the third
    Friday of each month, or the session before it when that Friday is an exchange holiday
    (Good Friday, Juneteenth)."""
    first = pd.Timestamp(start).to_period("M").to_timestamp()
    months = pd.date_range(first, pd.Timestamp(end), freq="MS")
    # the first Friday is day 1 + (4 - weekday) mod 7; the third is 14 days later
    third = months + pd.to_timedelta((4 - months.day_of_week) % 7 + 14, unit="D")
    if len(third) == 0:
        return pd.DatetimeIndex([], name="date", dtype="datetime64[ns]")
    cal_sessions = sessions(third.min() - pd.Timedelta(days=10), third.max()).to_numpy()
    position = np.searchsorted(cal_sessions, third.to_numpy(), side="right") - 1
    known = position >= 0  # months before the calendar's first session have no session to fall on
    moved = pd.DatetimeIndex(cal_sessions[position[known]], name="date")
    keep = (moved >= pd.Timestamp(start)) & (moved <= pd.Timestamp(end))
    return moved[keep]


def _event_days(kind: str, start: pd.Timestamp, end: pd.Timestamp, settings: CalendarSettings) -> pd.DatetimeIndex:
    if kind == "fomc":
        days = fomc_dates(settings)
        return days[(days >= start) & (days <= end)]
    if kind == "opex":
        return opex_dates(start, end)
    return early_closes(start, end)


def _rule(settings: CalendarSettings, kind: str) -> EventRule:
    return getattr(settings, kind)


def guard_table(index: pd.DatetimeIndex, settings: CalendarSettings) -> dict[str, np.ndarray]:
    """For each event kind, a boolean array over the XNYS sessions of ``index``'s span
    saying which sessions that kind's window covers; plus ``"sessions"``, the session dates,
    and ``"fomc_unknown"``, the sessions whose FOMC window reaches outside the table."""
    start, end = pd.Timestamp(index.min()), pd.Timestamp(index.max())
    margin = pd.Timedelta(days=21)
    span = sessions(start - margin, end + margin)
    values = span.to_numpy()
    table: dict[str, np.ndarray] = {"sessions": values}
    for kind in EVENT_KINDS:
        rule = _rule(settings, kind)
        days = _event_days(kind, span.min(), span.max(), settings).to_numpy()
        at = np.searchsorted(values, days, side="left")  # a non-session date → the next session
        at = at[at < len(values)]
        covered = np.zeros(len(values), dtype=bool)
        for offset in range(-rule.before, rule.after + 1):
            shifted = at + offset
            covered[shifted[(shifted >= 0) & (shifted < len(values))]] = True
        table[kind] = covered
    table["fomc_unknown"] = _outside_window(values, fomc_table(settings), settings.fomc)
    return table


def _outside_window(values: np.ndarray, fomc: FomcTable, rule: EventRule) -> np.ndarray:
    """Sessions whose window (``before``/``after`` sessions around them) reaches a date the
    FOMC table does not cover: whether an FOMC event guards them is unknown."""
    outside = (values < fomc.start.to_datetime64()) | (values > fomc.end.to_datetime64())
    unknown = np.zeros(len(values), dtype=bool)
    n = len(values)
    # session i is covered by an event at i - offset for offset in [-before, after]
    for offset in range(-rule.before, rule.after + 1):
        src = np.arange(n) - offset
        ok = (src >= 0) & (src < n)
        unknown[ok] |= outside[src[ok]]
    return unknown


def calendar_guard_frame(index: pd.DatetimeIndex, settings: CalendarSettings) -> pd.DataFrame:
    """The guard for every date of ``index`` at once: columns ``is_session``, ``allow_entries``,
    ``scale``, one boolean column per event kind (``fomc``, ``opex``, ``early_close``) and
    ``fomc_unknown`` (the FOMC table does not cover the session's window: state ``unknown``)."""
    index = pd.DatetimeIndex(index)
    table = guard_table(index, settings)
    where = np.searchsorted(table["sessions"], index.to_numpy())
    where = np.clip(where, 0, max(len(table["sessions"]) - 1, 0))
    on_session = table["sessions"][where] == index.to_numpy() if len(table["sessions"]) else np.zeros(len(index), bool)
    out = pd.DataFrame(index=index)
    out["is_session"] = on_session
    allow = on_session.copy()
    scale = np.where(on_session, 1.0, 0.0)
    for kind in EVENT_KINDS:
        covered = table[kind][where] & on_session
        out[kind] = covered
        rule = _rule(settings, kind)
        if rule.kind == "skip_entries":
            allow &= ~covered
        elif rule.kind == "reduce":
            scale = np.where(covered, scale * rule.factor, scale)
    out["fomc_unknown"] = table["fomc_unknown"][where] & on_session
    out["allow_entries"] = allow
    out["scale"] = scale
    return out


def fomc_unknown_spans(index: pd.DatetimeIndex, settings: CalendarSettings) -> list[tuple[dt.date, dt.date, int]]:
    """The runs of sessions in ``index`` whose FOMC state is ``unknown`` (outside the table), as
    ``(first, last, sessions)``; empty when the FOMC rule is ``allow`` (nothing depends on it)."""
    if settings.fomc.kind == "allow" or len(index) == 0:
        return []
    flags = calendar_guard_frame(pd.DatetimeIndex(index), settings)["fomc_unknown"]
    spans: list[tuple[dt.date, dt.date, int]] = []
    values = flags.to_numpy()
    if not values.any():
        return spans
    edges = np.flatnonzero(np.diff(np.concatenate([[False], values, [False]]).astype(int)))
    for a, b in zip(edges[::2], edges[1::2]):
        spans.append((flags.index[a].date(), flags.index[b - 1].date(), int(b - a)))
    return spans


def fomc_unknown_message(first: dt.date, last: dt.date, n: int, settings: CalendarSettings) -> str:
    """One line saying the guard could not see FOMC days on some sessions, and the fix."""
    what = f"{first.isoformat()}" if first == last else f"{first.isoformat()}..{last.isoformat()} ({n} sessions)"
    return (
        f"calendar guard: FOMC state unknown for {what}: {fomc_table(settings).describe()}; "
        f"rule {settings.fomc.rule} not applied there — upgrade regimeflex or list the dates in "
        f"risk.yaml calendar.fomc.dates"
    )


def calendar_guard(session: dt.date, settings: CalendarSettings) -> GuardDecision:
    """What the calendar allows on ``session`` (the runner calls this before anything else).

    :param session: the date the runner is about to trade.
    :param settings: ``risk.calendar`` from risk.yaml.
    """
    day = pd.Timestamp(session).normalize()
    if not is_session(day):
        return GuardDecision(
            session=day.date(),
            is_session=False,
            early_close=False,
            events=(),
            allow_entries=False,
            scale=0.0,
            reasons=("not an XNYS session",),
        )
    row = calendar_guard_frame(pd.DatetimeIndex([day]), settings).iloc[0]
    events: list[CalendarEvent] = []
    reasons: list[str] = []
    for kind in EVENT_KINDS:
        if not row[kind]:
            continue
        rule = _rule(settings, kind)
        for event_day in covering_events(day, kind, settings):
            events.append(CalendarEvent(kind=kind, date=event_day))
        reasons.append(f"{kind}: {rule.rule}")
    unknown = ("fomc",) if bool(row["fomc_unknown"]) and settings.fomc.kind != "allow" else ()
    if unknown:
        reasons.append(f"fomc: unknown ({fomc_table(settings).describe()})")
    return GuardDecision(
        session=day.date(),
        is_session=True,
        early_close=day in early_closes(day, day),
        events=tuple(events),
        allow_entries=bool(row["allow_entries"]),
        scale=float(row["scale"]),
        reasons=tuple(reasons),
        unknown=unknown,
    )


def covering_events(day: pd.Timestamp, kind: str, settings: CalendarSettings) -> list[dt.date]:
    """The ``kind`` events whose window covers ``day``."""
    rule = _rule(settings, kind)
    span = sessions(day - pd.Timedelta(days=21), day + pd.Timedelta(days=21)).to_numpy()
    me = int(np.searchsorted(span, day.to_datetime64()))
    days = _event_days(kind, pd.Timestamp(span[0]), pd.Timestamp(span[-1]), settings).to_numpy()
    at = np.searchsorted(span, days, side="left")
    return [pd.Timestamp(span[a]).date() for a in at if a < len(span) and a - rule.before <= me <= a + rule.after]


def upcoming_events(start: dt.date, settings: CalendarSettings, n_sessions: int | None = None) -> list[CalendarEvent]:
    """Events on the next ``n_sessions`` sessions from ``start`` (inclusive), in date order."""
    n = n_sessions or settings.upcoming_sessions
    span = sessions(pd.Timestamp(start), pd.Timestamp(start) + pd.Timedelta(days=int(n * 1.6) + 10))[:n]
    if len(span) == 0:
        return []
    found = []
    for kind in EVENT_KINDS:
        days = _event_days(kind, span.min(), span.max(), settings)
        at = np.searchsorted(span.to_numpy(), days.to_numpy(), side="left")
        found += [CalendarEvent(kind=kind, date=pd.Timestamp(span[a]).date()) for a in at if a < len(span)]
    return sorted(found, key=lambda e: (e.date, EVENT_KINDS.index(e.kind)))
