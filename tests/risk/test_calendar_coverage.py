"""Calendars that never go silently inert: FOMC outside its table is `unknown`, OPEX for any month."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from regimeflex.config.risk import CalendarSettings
from regimeflex.data.calendar import is_session
from regimeflex.risk.calendar import (
    calendar_guard,
    fomc_table,
    fomc_unknown_spans,
    opex_dates,
    upcoming_events,
)


def third_friday_or_previous_session(year: int, month: int) -> pd.Timestamp:
    fridays = [d for d in pd.date_range(f"{year}-{month:02d}-01", periods=31, freq="D") if d.month == month]
    day = [d for d in fridays if d.weekday() == 4][2]
    while not is_session(day):
        day -= pd.Timedelta(days=1)
    return day


@pytest.mark.parametrize("day", ["1995-02-01", "1995-12-19", "2019-03-20", "2019-12-11"])
def test_fomc_days_in_1995_and_2019_skip_entries(day):
    decision = calendar_guard(dt.date.fromisoformat(day), CalendarSettings())
    assert not decision.allow_entries
    assert [e.kind for e in decision.events] == ["fomc"] and decision.unknown == ()


@pytest.mark.parametrize("day", ["2001-09-17", "2008-01-22", "2008-10-08"])
def test_unscheduled_intermeeting_decisions_skip_entries(day):
    assert not calendar_guard(dt.date.fromisoformat(day), CalendarSettings()).allow_entries


@pytest.mark.parametrize("day", ["1993-06-16", "2028-03-15", "2035-06-13"])
def test_outside_the_fomc_table_the_state_is_unknown_not_allow(day):
    decision = calendar_guard(dt.date.fromisoformat(day), CalendarSettings())
    assert decision.is_session
    assert decision.unknown == ("fomc",)
    assert any("fomc: unknown" in r and "1994-01-01..2027-12-31" in r for r in decision.reasons)


def test_inside_the_table_an_ordinary_session_is_known_and_clear():
    decision = calendar_guard(dt.date(2019, 3, 12), CalendarSettings())
    assert decision.unknown == () and decision.allow_entries and decision.events == ()


def test_a_window_reaching_past_the_table_end_is_unknown():
    # 2027-12-31 is inside the table, but with before: 1 the next session (2028-01-03) could be an FOMC day
    settings = CalendarSettings(fomc={"rule": "skip_entries", "before": 1})
    assert calendar_guard(dt.date(2027, 12, 31), settings).unknown == ("fomc",)
    assert calendar_guard(dt.date(2027, 12, 31), CalendarSettings()).unknown == ()


def test_with_rule_allow_nothing_depends_on_the_fomc_dates_so_nothing_is_unknown():
    settings = CalendarSettings(fomc={"rule": "allow"})
    assert calendar_guard(dt.date(2028, 3, 15), settings).unknown == ()
    assert fomc_unknown_spans(pd.bdate_range("2027-12-01", "2028-01-31"), settings) == []


def test_unknown_spans_list_the_sessions_outside_the_table():
    index = pd.DatetimeIndex([d for d in pd.bdate_range("2027-12-20", "2028-01-10") if is_session(d)])
    assert fomc_unknown_spans(index, CalendarSettings()) == [(dt.date(2028, 1, 3), dt.date(2028, 1, 10), 6)]


def test_dates_listed_in_risk_yaml_cover_the_whole_years_of_their_first_and_last_date():
    table = fomc_table(CalendarSettings(fomc={"dates": ["2028-01-26", "2029-12-12"]}))
    assert (table.start, table.end) == (pd.Timestamp("2028-01-01"), pd.Timestamp("2029-12-31"))
    assert table.source == "risk.yaml: calendar.fomc.dates"
    settings = CalendarSettings(fomc={"dates": ["2028-01-26"]})
    assert calendar_guard(dt.date(2028, 3, 15), settings).unknown == ()
    assert not calendar_guard(dt.date(2028, 1, 26), settings).allow_entries
    assert calendar_guard(dt.date(2030, 3, 13), settings).unknown == ("fomc",)


@pytest.mark.parametrize("year", [1995, 2019, 2028, 2035])
def test_opex_is_the_third_friday_or_the_session_before_in_every_month_of(year):
    found = opex_dates(f"{year}-01-01", f"{year}-12-31")
    assert list(found) == [third_friday_or_previous_session(year, m) for m in range(1, 13)]


@pytest.mark.parametrize(
    ("holiday", "opex"),
    [
        ("2030-04-19", "2030-04-18"),  # Good Friday on the third Friday of April
        ("2026-06-19", "2026-06-18"),  # Juneteenth on the third Friday of June
        ("2037-06-19", "2037-06-18"),
    ],
)
def test_opex_on_an_exchange_holiday_moves_to_the_session_before(holiday, opex):
    month = opex_dates(holiday[:7] + "-01", holiday[:7] + "-28")
    assert list(month) == [pd.Timestamp(opex)]
    assert not is_session(holiday)


def test_opex_ten_years_ahead_is_guarded_and_listed():
    settings = CalendarSettings(opex={"rule": "reduce:0.5"})
    assert calendar_guard(dt.date(2035, 3, 16), settings).scale == 0.5
    events = upcoming_events(dt.date(2035, 3, 12), settings, n_sessions=5)
    assert [(e.kind, e.date.isoformat()) for e in events] == [("opex", "2035-03-16")]
