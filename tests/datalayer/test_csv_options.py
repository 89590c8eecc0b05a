"""Files as users have them, and one validation path: what `data import` finds, a run finds.

Real files from tests/data: GOOG.csv (blank date header, no Adj Close), VIXCLS-fred-style-2019.csv (the real
VIX closes written the way FRED writes a series: `DATE,VIXCLS`, `.` on weekdays without a value).
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from regimeflex.config import load_settings
from regimeflex.data.service import import_source, load_bars, validate_files
from regimeflex.errors import DataError
from regimeflex.plugins import PluginHost

DATA = Path(__file__).resolve().parent.parent / "data"
NOW = datetime(2024, 6, 7, 23, 0, tzinfo=UTC)
FRED_HOLIDAYS = [
    "2019-01-21",
    "2019-02-18",
    "2019-04-19",
    "2019-05-27",
    "2019-07-04",
    "2019-09-02",
    "2019-11-28",
    "2019-12-25",
    "2020-01-01",
    "2020-01-20",
]


def project_with(project: Path, csv_yaml: str) -> object:
    (project / "data.yaml").write_text(f"provider: csv\nadjusted: true\nproviders:\n  csv:\n{csv_yaml}")
    return load_settings(project)


def fred_yaml(path: str) -> str:
    return (
        f"    path: {path}\n"
        "    files:\n"
        "      VIXCLS*.csv: {symbol: VIX, columns: {close: VIXCLS}, na_values: ['.'], close_only: true}\n"
    )


def test_a_fred_download_imports_with_a_column_mapping_and_its_gaps_are_reported(project: Path) -> None:
    settings = project_with(project, fred_yaml("fred"))
    stored, report = import_source(settings, DATA / "VIXCLS-fred-style-2019.csv", now=NOW)
    assert stored == ["VIX"]
    gaps = sorted(str(f.date) for f in report.findings if f.rule == "nan_field")
    assert gaps == ["2019-01-01", *FRED_HOLIDAYS]  # every "." is reported, none is kept
    assert {f.rule for f in report.findings} <= {"nan_field", "non_session"}
    cached = settings.path("data/cache/csv/VIX.csv").read_text().splitlines()
    assert cached[0] == "date,open,high,low,close,volume" and cached[1] == "2019-01-02,,,,23.22,"
    assert len(cached) - 1 == report.rows_out == 276


def test_a_close_only_series_serves_a_run_with_no_findings_but_its_gaps(project: Path) -> None:
    folder = project.parent / "fred"
    folder.mkdir()
    shutil.copy(DATA / "VIXCLS-fred-style-2019.csv", folder)
    settings = project_with(project, fred_yaml(str(folder)))
    bars, report = load_bars(settings, PluginHost.load(), ["VIX"], date(2019, 1, 2), date(2019, 12, 31), now=NOW)
    assert bars["close"]["VIX"].notna().sum() == 252 and bars["open"]["VIX"].isna().all()
    assert bars.loc["2019-01-02", ("close", "VIX")] == 23.22
    assert sorted(str(f.date) for f in report.validation.findings if f.rule == "nan_field") == FRED_HOLIDAYS[:-2]


def test_an_ohlc_file_without_adj_close_must_declare_its_prices(project: Path) -> None:
    settings = project_with(project, "    path: x\n")
    with pytest.raises(DataError) as err:
        import_source(settings, DATA / "GOOG.csv", now=NOW)
    assert str(err.value) == (
        f"{DATA / 'GOOG.csv'}: has no Adj Close column, so whether its Open/High/Low/Close are "
        f"split/dividend-adjusted or raw cannot be told; declare it in data.yaml: providers.csv.prices: "
        f"adjusted | raw (or per file under providers.csv.files)"
    )


def test_prices_can_be_declared_per_file(project: Path) -> None:
    (project / "data.yaml").write_text(
        "provider: csv\nadjusted: false\nproviders:\n  csv:\n    files:\n      GOOG.csv: {prices: raw}\n"
    )
    stored, report = import_source(load_settings(project), DATA / "GOOG.csv", now=NOW)
    assert stored == ["GOOG"] and report.rows_out == 2148


def _defective_goog(folder: Path) -> Path:
    """The real GOOG.csv with a repeated session that differs, a row whose date is not a date and a row
    with one field too many — the defects a hand-edited export picks up."""
    lines = (DATA / "GOOG.csv").read_text().splitlines()
    row = lines[100].split(",")
    lines.insert(101, ",".join([row[0], *(f"{float(v) * 1.01:.2f}" for v in row[1:5]), row[5]]))
    lines[200] = "2005-13-45" + lines[200][len("2005-06-01") :]
    lines[300] = lines[300] + ",oops"
    folder.mkdir()
    path = folder / "GOOG.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _keys(findings) -> list[tuple]:
    return sorted((f.symbol, f.date or date.min, f.rule, f.action, f.detail) for f in findings)


def test_the_same_defective_file_gives_the_same_findings_through_import_and_a_run(project: Path) -> None:
    folder = project.parent / "files"
    path = _defective_goog(folder)
    settings = project_with(project, f"    path: {folder}\n    prices: adjusted\n")
    _, imported = import_source(settings, path, provider="imported", now=NOW)
    _, run = load_bars(settings, PluginHost.load(), ["GOOG"], date(2004, 8, 19), date(2013, 3, 1), now=NOW)
    checked = validate_files(settings, path, now=NOW)
    assert _keys(imported.findings) == _keys(run.validation.findings) == _keys(checked.findings)
    rules = {f.rule for f in imported.findings}
    assert {"duplicate_date", "unreadable_row"} <= rules


def test_a_bad_date_or_extra_field_rejects_only_that_row_and_names_the_value(project: Path) -> None:
    folder = project.parent / "files"
    path = _defective_goog(folder)
    settings = project_with(project, f"    path: {folder}\n    prices: adjusted\n")
    _, report = import_source(settings, path, now=NOW)
    unreadable = sorted(f.detail for f in report.findings if f.rule == "unreadable_row")
    assert unreadable[0] == "GOOG.csv line 201: date '2005-13-45' is not a date"
    assert unreadable[1].startswith("GOOG.csv line 301: 7 fields where the header has 6: '2005-")
    assert unreadable[1].endswith(",oops'")
    assert report.rows_out == 2148 - 2 - 1  # two bad rows out; the clashing session out, the rest in
    bars = load_bars(settings, PluginHost.load(), ["GOOG"], date(2004, 8, 19), date(2013, 3, 1), now=NOW)[0]
    assert np.isfinite(bars["close"]["GOOG"]).sum() == 2148 - 2 - 1


def test_a_csv_column_mapping_accepts_exactly_the_fields_the_reader_produces() -> None:
    """``providers.csv.columns`` is checked in the config layer (no pandas there); its field list is the
    reader's long columns plus ``adj_close``."""
    from regimeflex.config.data import CSV_FIELDS
    from regimeflex.data.normalize import LONG_COLUMNS

    assert set(CSV_FIELDS) == {*LONG_COLUMNS, "adj_close"}
