"""Calendar guard: OPEX third-Friday rule with holiday shifts, FOMC days, early closes, windows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from regimeflex.config.risk import CalendarSettings
from regimeflex.data.calendar import is_session
from regimeflex.risk.calendar import (
    calendar_guard,
    calendar_guard_frame,
    fomc_dates,
    opex_dates,
    shipped_fomc_dates,
    shipped_fomc_table,
    upcoming_events,
)


def third_friday_or_previous_session(year: int, month: int) -> pd.Timestamp:
    fridays = [
        d
        for d in pd.date_range(f"{year}-{month:02d}-01", periods=31, freq="D")
        if d.month == month and d.weekday() == 4
    ]
    day = fridays[2]
    while not is_session(day):
        day -= pd.Timedelta(days=1)
    return day


def test_every_opex_2015_to_2026_is_the_third_friday_or_the_session_before_a_holiday():
    found = opex_dates("2015-01-01", "2026-12-31")
    expected = [third_friday_or_previous_session(y, m) for y in range(2015, 2027) for m in range(1, 13)]
    assert list(found) == expected


def test_good_friday_2022_opex_moves_to_thursday():
    assert pd.Timestamp("2022-04-14") in opex_dates("2022-04-01", "2022-04-30")
    assert pd.Timestamp("2022-04-15") not in opex_dates("2022-04-01", "2022-04-30")


def test_every_shipped_fomc_day_that_is_a_session_is_guarded():
    settings = CalendarSettings()
    days = [d for d in shipped_fomc_dates() if is_session(d)]
    frame = calendar_guard_frame(pd.DatetimeIndex(days), settings)
    assert frame["fomc"].all()
    assert not frame["allow_entries"].any()


def test_shipped_fomc_table_has_eight_scheduled_meetings_every_year_1994_to_2027():
    table = shipped_fomc_table()
    scheduled = table.dates[[k == "scheduled" for k in table.kinds]]
    per_year = pd.Series(1, index=scheduled).groupby(scheduled.year).size()
    assert list(per_year.index) == list(range(1994, 2028))
    # 2020's March 17-18 meeting was replaced by the unscheduled one of Sunday March 15
    assert (per_year.drop(2020) == 8).all() and per_year[2020] == 7


def test_shipped_fomc_table_marks_the_intermeeting_decisions_unscheduled():
    table = shipped_fomc_table()
    unscheduled = {d.date().isoformat() for d, k in zip(table.dates, table.kinds) if k == "unscheduled"}
    assert unscheduled >= {
        "2001-01-03",
        "2001-04-18",
        "2001-09-17",
        "2008-01-22",
        "2008-10-08",
        "2020-03-03",
        "2020-03-15",
    }
    assert set(table.kinds) == {"scheduled", "unscheduled"}


def test_fomc_day_skips_entries_by_default():
    decision = calendar_guard(dt.date(2024, 3, 20), CalendarSettings())
    assert not decision.allow_entries
    assert [e.kind for e in decision.events] == ["fomc"]


def test_ordinary_session_allows_everything():
    decision = calendar_guard(dt.date(2024, 3, 12), CalendarSettings())
    assert decision.is_session and decision.allow_entries and decision.scale == 1.0
    assert decision.events == ()


def test_holiday_is_not_a_session_and_allows_nothing():
    decision = calendar_guard(dt.date(2024, 12, 25), CalendarSettings())
    assert not decision.is_session and not decision.allow_entries


def test_fomc_override_in_risk_yaml_replaces_the_shipped_list():
    settings = CalendarSettings(fomc={"dates": ["2024-03-12"]})
    assert list(fomc_dates(settings)) == [pd.Timestamp("2024-03-12")]
    assert not calendar_guard(dt.date(2024, 3, 12), settings).allow_entries
    assert calendar_guard(dt.date(2024, 3, 20), settings).allow_entries


def test_window_before_guards_the_session_before_the_event():
    settings = CalendarSettings(fomc={"rule": "skip_entries", "before": 1})
    assert not calendar_guard(dt.date(2024, 3, 19), settings).allow_entries
    assert calendar_guard(dt.date(2024, 3, 18), settings).allow_entries


def test_window_after_counts_sessions_across_a_weekend():
    settings = CalendarSettings(opex={"rule": "reduce:0.5", "after": 1})
    assert calendar_guard(dt.date(2024, 3, 18), settings).scale == 0.5  # Monday after OPEX Friday 03-15


def test_reduce_rule_scales_and_allow_rule_only_reports():
    reduce = calendar_guard(dt.date(2024, 3, 15), CalendarSettings(opex={"rule": "reduce:0.5"}))
    allow = calendar_guard(dt.date(2024, 3, 15), CalendarSettings())
    assert reduce.scale == 0.5 and reduce.allow_entries
    assert allow.scale == 1.0 and [e.kind for e in allow.events] == ["opex"]


def test_day_after_thanksgiving_is_an_early_close():
    decision = calendar_guard(dt.date(2024, 11, 29), CalendarSettings())
    assert decision.early_close
    assert "early_close" in [e.kind for e in decision.events]


def test_unscheduled_sunday_fomc_guards_the_next_session():
    assert not calendar_guard(dt.date(2020, 3, 16), CalendarSettings()).allow_entries


def test_upcoming_events_lists_the_next_fomc_and_opex_in_date_order():
    events = upcoming_events(dt.date(2024, 3, 11), CalendarSettings(), n_sessions=10)
    assert [(e.kind, e.date.isoformat()) for e in events] == [("opex", "2024-03-15"), ("fomc", "2024-03-20")]


def test_bad_rule_is_rejected_with_the_allowed_values():
    from regimeflex.config.base import validate_model
    from regimeflex.config.risk import RiskSettings
    from regimeflex.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        validate_model(RiskSettings, {"calendar": {"opex": {"rule": "skip"}}}, "risk.yaml")
    assert str(err.value) == (
        "risk.yaml: calendar.opex.rule: must be one of skip_entries, allow or reduce:<x> (0 < x < 1), got 'skip'"
    )
