"""Validation: each rule on real files and on corrupted copies of real files; policies; the report."""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeflex.config import load_settings
from regimeflex.config.data import RulePolicies
from regimeflex.data.normalize import normalize_frame
from regimeflex.data.validate import RULES, Finding, resolve_policies, validate_long
from regimeflex.errors import ConfigError

D = date.fromisoformat
NOW = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)

# The real defects of all_stocks_5yr.csv (see tests/data/SOURCES.md), for the symbols of the subset.
NAN_ROWS = [
    ("BHF", "2017-07-26"),
    ("DHR", "2015-07-17"),
    ("DHR", "2016-01-12"),
    ("ES", "2015-07-17"),
    ("FTV", "2016-07-01"),
    ("O", "2015-07-17"),
    ("O", "2016-01-12"),
    ("REGN", "2015-06-09"),
    ("UA", "2016-04-07"),
    ("VRTX", "2015-05-12"),
    ("WRK", "2015-06-26"),
]
OHLC_ROWS = [
    ("AOS", "2014-05-19"),
    ("BBY", "2016-03-14"),
    ("CHD", "2014-05-19"),
    ("CHK", "2014-06-30"),
    ("DHR", "2014-11-06"),
    ("IP", "2014-07-01"),
    ("LNT", "2016-05-19"),
    ("O", "2014-08-27"),
    ("O", "2014-11-06"),
    ("SPG", "2014-05-28"),
    ("UA", "2016-06-10"),
    ("WRK", "2016-05-13"),
]
ZERO_VOLUME_ROWS = [("DHR", "2016-01-12"), ("FTV", "2016-07-01"), ("O", "2016-01-12"), ("UA", "2016-04-07")]
MISSING = {
    "BMY": ["2013-04-26", "2013-06-07"],
    "DHR": [
        "2013-04-26",
        "2013-09-09",
        "2013-09-10",
        "2013-09-11",
        "2014-06-10",
        "2015-03-09",
        "2015-03-10",
        "2015-03-11",
        "2015-03-12",
        "2015-03-13",
        "2015-03-16",
        "2015-03-17",
        "2015-03-18",
        "2015-03-19",
        "2015-03-20",
        "2016-04-04",
    ],
    "ES": [
        "2015-03-09",
        "2015-03-10",
        "2015-03-11",
        "2015-03-12",
        "2015-03-13",
        "2015-03-16",
        "2015-03-17",
        "2015-03-18",
        "2015-03-19",
        "2015-03-20",
    ],
    "ICE": ["2013-04-26", "2013-09-09", "2013-09-10", "2013-09-11", "2014-06-10"],
    "O": [
        "2013-04-26",
        "2013-09-09",
        "2013-09-10",
        "2013-09-11",
        "2014-06-10",
        "2014-07-02",
        "2015-03-09",
        "2015-03-10",
        "2015-03-11",
        "2015-03-12",
        "2015-03-13",
        "2015-03-16",
        "2015-03-17",
        "2015-03-18",
        "2015-03-19",
        "2015-03-20",
    ],
    "ORCL": ["2013-07-15", "2013-07-16"],
}
SHORT = [
    ("APTV", "2017-12-05"),
    ("BHF", "2017-07-17"),
    ("DWDP", "2017-09-01"),
    ("FTV", "2016-07-01"),
    ("UA", "2016-04-07"),
    ("WRK", "2015-06-24"),
]


@pytest.fixture(scope="module")
def stocks() -> pd.DataFrame:
    path = Path(__file__).resolve().parent.parent / "data" / "all_stocks_5yr_subset.csv.gz"
    return normalize_frame(pd.read_csv(path), where=path.name)


def real(data_dir: Path, name: str, symbol: str) -> pd.DataFrame:
    return normalize_frame(pd.read_csv(data_dir / name), symbol=symbol, where=name)


def keys(report, rule: str | None = None) -> set[tuple[str, date | None, str]]:
    return {k for k in report.keys() if rule is None or k[2] == rule}


def inserted(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` added at their date's place (so the copy stays in date order)."""
    return pd.concat([frame, rows], ignore_index=True).sort_values("date", kind="stable").reset_index(drop=True)


def check(long: pd.DataFrame, **kw):
    return validate_long(long, now=NOW, **kw)


# --------------------------------------------------- the real 500-stock panel


def test_all_stocks_panel_yields_exactly_its_real_defects(stocks: pd.DataFrame) -> None:
    _, report = check(stocks)
    expected = {(s, D(d), "nan_field") for s, d in NAN_ROWS}
    expected |= {(s, D(d), "ohlc_inconsistent") for s, d in OHLC_ROWS}
    expected |= {(s, D(d), "zero_volume") for s, d in ZERO_VOLUME_ROWS}
    expected |= {(s, D(d), "missing_session") for s, days in MISSING.items() for d in days}
    expected |= {(s, D(d), "short_history") for s, d in SHORT}
    assert keys(report) == expected


def test_importing_all_stocks_keeps_every_clean_row_and_no_defective_one(stocks: pd.DataFrame) -> None:
    clean, report = check(stocks)
    bad = {(s, pd.Timestamp(d)) for s, d in NAN_ROWS + OHLC_ROWS}
    kept = set(zip(clean["symbol"], clean["date"]))
    assert kept == set(zip(stocks["symbol"], stocks["date"])) - bad
    assert report.rows_in - report.rows_out == len(bad)


def test_genuine_big_moves_are_not_outliers_by_default(stocks: pd.DataFrame) -> None:
    _, report = check(stocks)
    assert keys(report, "outlier_jump") == set()


def test_lower_outlier_factor_reports_the_real_spin_off_drops(stocks: pd.DataFrame) -> None:
    _, report = check(stocks, outlier_factor=2.2)
    assert keys(report, "outlier_jump") == {
        ("EBAY", D("2015-07-20"), "outlier_jump"),
        ("NI", D("2015-07-02"), "outlier_jump"),
    }


def test_rejected_bad_print_causes_no_jump_on_the_next_session(stocks: pd.DataFrame) -> None:
    # LNT closes 17.87 on 2016-05-19 between ~35 closes; that row is rejected, so 05-20 is no jump
    _, report = check(stocks[stocks["symbol"] == "LNT"], outlier_factor=1.5)
    assert keys(report, "outlier_jump") == set()


def test_clean_real_files_have_no_findings(data_dir: Path) -> None:
    for name, sym in [
        ("GOOG.csv", "GOOG"),
        ("SPY-2019-lumibot.csv", "SPY"),
        ("orcl-1995-2001.csv", "ORCL"),
        ("SPY-1993-2017.csv", "SPY"),
        ("VIX-1990-2020.csv", "VIX"),
        ("GLD-2019-lumibot.csv", "GLD"),
    ]:
        _, report = check(real(data_dir, name, sym))
        assert report.findings == [], name


# --------------------------------------------- corrupted copies of real files


@pytest.fixture
def goog(data_dir: Path) -> pd.DataFrame:
    return real(data_dir, "GOOG.csv", "GOOG")


def test_swapped_rows_are_unsorted_and_repaired_by_sorting(goog: pd.DataFrame) -> None:
    bad = goog.copy()
    bad.iloc[[10, 11]] = bad.iloc[[11, 10]].to_numpy()
    clean, report = check(bad)
    day = goog["date"].iloc[10].date()
    assert keys(report) == {("GOOG", day, "unsorted_dates")}
    assert clean["date"].is_monotonic_increasing and len(clean) == len(goog)


def test_repeated_row_is_a_duplicate_row_kept_once(goog: pd.DataFrame) -> None:
    bad = inserted(goog, goog.iloc[[5]])
    clean, report = check(bad)
    assert keys(report) == {("GOOG", goog["date"].iloc[5].date(), "duplicate_row")}
    assert report.findings[0].action == "repaired"
    assert len(clean) == len(goog)


def test_conflicting_rows_for_one_session_are_both_rejected(goog: pd.DataFrame) -> None:
    twin = goog.iloc[[5]].assign(close=goog["close"].iloc[5] * 0.999)
    clean, report = check(inserted(goog, twin))
    day = goog["date"].iloc[5]
    assert keys(report) == {("GOOG", day.date(), "duplicate_date"), ("GOOG", day.date(), "missing_session")}
    assert day not in set(clean["date"])


def test_duplicate_date_warn_keeps_the_last_row(goog: pd.DataFrame) -> None:
    twin = goog.iloc[[5]].assign(close=goog["close"].iloc[5] * 0.999)
    clean, _ = check(inserted(goog, twin), policies={"duplicate_date": "warn"})
    assert clean.loc[clean["date"] == goog["date"].iloc[5], "close"].item() == twin["close"].item()


def test_weekend_date_is_a_non_session(goog: pd.DataFrame) -> None:
    saturday = goog.iloc[[0]].assign(date=pd.Timestamp("2004-08-21"))
    clean, report = check(inserted(goog, saturday))
    assert keys(report) == {("GOOG", D("2004-08-21"), "non_session")}
    assert pd.Timestamp("2004-08-21") not in set(clean["date"])


def test_date_after_the_last_completed_session_is_future(goog: pd.DataFrame) -> None:
    # NOW is 2026-01-05 18:00 New York: that day's session has closed, 01-06 has not
    ahead = goog.iloc[[-1]].assign(date=pd.Timestamp("2026-01-06"))
    _, report = check(pd.concat([goog, ahead], ignore_index=True), policies={"missing_session": "ignore"})
    assert keys(report) == {("GOOG", D("2026-01-06"), "future_date")}


def test_empty_open_is_a_nan_field_with_the_field_named(goog: pd.DataFrame) -> None:
    bad = goog.copy()
    bad.loc[3, "open"] = np.nan
    clean, report = check(bad)
    assert report.findings == [Finding("GOOG", goog["date"].iloc[3].date(), "nan_field", "rejected", "empty open")]
    assert len(clean) == len(goog) - 1


def test_nan_repair_fills_open_high_low_from_close(stocks: pd.DataFrame) -> None:
    rows = stocks[stocks["symbol"] == "REGN"]
    clean, report = check(rows, policies={"nan_field": "repair"})
    fixed = clean[clean["date"] == pd.Timestamp("2015-06-09")].iloc[0]
    assert fixed["open"] == fixed["high"] == fixed["low"] == fixed["close"] == 526.09
    assert [f.action for f in report.findings if f.rule == "nan_field"] == ["repaired"]


def test_missing_volume_in_a_series_with_volume_is_nan_field(goog: pd.DataFrame) -> None:
    bad = goog.copy()
    bad.loc[7, "volume"] = np.nan
    _, report = check(bad)
    assert report.findings == [Finding("GOOG", goog["date"].iloc[7].date(), "nan_field", "rejected", "empty volume")]


def test_zero_price_is_non_positive(goog: pd.DataFrame) -> None:
    bad = goog.copy()
    bad.loc[4, ["low", "close"]] = 0.0
    _, report = check(bad)
    assert keys(report) == {("GOOG", goog["date"].iloc[4].date(), "non_positive_price")}


def test_negative_volume_is_reported(goog: pd.DataFrame) -> None:
    bad = goog.copy()
    bad.loc[4, "volume"] = -100.0
    _, report = check(bad)
    assert report.findings == [
        Finding("GOOG", goog["date"].iloc[4].date(), "negative_volume", "rejected", "volume -100")
    ]


def test_zero_volume_is_warned_and_kept(goog: pd.DataFrame) -> None:
    bad = goog.copy()
    bad.loc[4, "volume"] = 0.0
    clean, report = check(bad)
    assert keys(report) == {("GOOG", goog["date"].iloc[4].date(), "zero_volume")}
    assert len(clean) == len(goog)


def test_close_above_high_is_ohlc_inconsistent(goog: pd.DataFrame) -> None:
    bad = goog.copy()
    bad.loc[4, "close"] = bad.loc[4, "high"] * 1.05
    _, report = check(bad)
    assert keys(report) == {("GOOG", goog["date"].iloc[4].date(), "ohlc_inconsistent")}


def test_ohlc_repair_widens_high_and_low(stocks: pd.DataFrame) -> None:
    clean, _ = check(stocks[stocks["symbol"] == "CHD"], policies={"ohlc_inconsistent": "repair"})
    row = clean[clean["date"] == pd.Timestamp("2014-05-19")].iloc[0]
    assert (row["low"], row["high"]) == (18.77, 33.9525)


def test_tenfold_close_is_an_outlier_jump(goog: pd.DataFrame) -> None:
    bad = goog.copy()
    bad.loc[20, ["open", "high", "low", "close"]] *= 10
    _, report = check(bad)
    assert keys(report) == {
        ("GOOG", goog["date"].iloc[20].date(), "outlier_jump"),
        ("GOOG", goog["date"].iloc[21].date(), "outlier_jump"),
    }


def test_deleted_row_is_a_missing_session(goog: pd.DataFrame) -> None:
    _, report = check(goog.drop(index=30))
    assert keys(report) == {("GOOG", goog["date"].iloc[30].date(), "missing_session")}


def test_requested_range_wider_than_history_is_short_history(goog: pd.DataFrame) -> None:
    _, report = check(goog, start=date(2004, 1, 2), end=date(2013, 3, 1))
    assert keys(report) == {("GOOG", D("2004-08-19"), "short_history")}


def test_history_ending_before_the_range_end_is_short_history(goog: pd.DataFrame) -> None:
    _, report = check(goog, start=date(2004, 8, 19), end=date(2013, 12, 31))
    assert keys(report) == {("GOOG", D("2013-03-01"), "short_history")}


# ----------------------------------------------------------- policy plumbing


def test_ignore_turns_a_rule_off(stocks: pd.DataFrame) -> None:
    _, report = check(stocks, policies={"missing_session": "ignore", "short_history": "ignore"})
    assert {k[2] for k in report.keys()} == {"nan_field", "ohlc_inconsistent", "zero_volume"}


def test_warn_policy_keeps_the_row(stocks: pd.DataFrame) -> None:
    clean, _ = check(stocks[stocks["symbol"] == "LNT"], policies={"ohlc_inconsistent": "warn"})
    assert pd.Timestamp("2016-05-19") in set(clean["date"])


def test_policy_a_rule_does_not_accept_is_refused() -> None:
    with pytest.raises(ValueError) as err:
        resolve_policies({"missing_session": "reject"})
    assert str(err.value) == "rule 'missing_session' accepts warn, ignore; got 'reject'"


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError) as err:
        resolve_policies({"ohlc": "warn"})
    assert str(err.value).startswith("unknown validation rule 'ohlc'; rules are unreadable_row, unsorted_dates, ")


def test_data_yaml_policy_model_matches_the_rules_table() -> None:
    fields = RulePolicies.model_fields
    assert list(fields) == list(RULES)
    for rule, (default, allowed) in RULES.items():
        assert fields[rule].default == default
        assert set(typing.get_args(fields[rule].annotation)) == set(allowed)


def test_data_yaml_refuses_a_policy_the_rule_lacks(project: Path) -> None:
    (project / "data.yaml").write_text("validation:\n  policy:\n    missing_session: reject\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == (
        "data.yaml: validation.policy.missing_session: Input should be 'warn' or 'ignore', got 'reject'"
    )


def test_report_frame_lists_symbol_date_rule_action(goog: pd.DataFrame) -> None:
    _, report = check(goog.drop(index=30))
    frame = report.to_frame()
    assert list(frame.columns) == ["symbol", "date", "rule", "action", "detail"]
    assert frame.iloc[0].tolist() == [
        "GOOG",
        goog["date"].iloc[30].date().isoformat(),
        "missing_session",
        "warned",
        "no row for this session",
    ]
