"""The cache follows its sources, and a damaged cache file is never used — on real CSV files.

A project with the csv provider over real files from tests/data (ORCL 1995–2001, SPY 1993–2017): a changed
source file, a benchmark file added later and a changed providers.csv.path each show up in the next backtest
with one INFO line saying why; a cache row edited to close ×10 is caught by the manifest's checksum.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from regimeflex import hookimpl
from regimeflex.builtins import synthetic
from regimeflex.config import load_settings
from regimeflex.data.service import load_bars
from regimeflex.plugins import PluginHost
from regimeflex.types import Level

DATA = Path(__file__).resolve().parent.parent / "data"
NOW = datetime(2024, 6, 7, 23, 0, tzinfo=UTC)
START, END = "1999-01-04", "2001-12-31"


@pytest.fixture
def csv_project(project: Path) -> Path:
    """The demo project reading ORCL (universe) and SPY (benchmark) from a csv/ folder of real files."""
    folder = project.parent / "csv"
    folder.mkdir()
    shutil.copy(DATA / "orcl-1995-2001.csv", folder)
    shutil.copy(DATA / "SPY-1993-2017.csv", folder)
    (project / "data.yaml").write_text("provider: csv\nadjusted: true\nproviders:\n  csv:\n    path: csv\n")
    run_yaml = (project / "run.yaml").read_text().replace("[SPY, QQQ, IWM, EFA, TLT, GLD]", "[ORCL]")
    (project / "run.yaml").write_text(run_yaml)
    return project


def backtest(run_cli, project: Path, *extra: str) -> tuple[dict, str]:
    code, out, err = run_cli("--config", project, "backtest", "--start", START, "--end", END, "--json", *extra)
    assert code == 0, err
    return json.loads(out), err


def _reimport_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "re-importing" in line]


def _edit_orcl(folder: Path, factor: float, year: str = "2000-") -> None:
    """Rescale one year of ORCL's prices in the source file (a vendor correcting old rows)."""
    path = folder / "orcl-1995-2001.csv"
    lines = path.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0].startswith(year):
            cells[1:6] = [f"{float(c) * factor:.6f}" for c in cells[1:6]]
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n")


def test_a_changed_source_file_changes_the_next_backtest_and_says_why(run_cli, csv_project: Path) -> None:
    first, _ = backtest(run_cli, csv_project)
    _edit_orcl(csv_project.parent / "csv", 0.5)
    second, err = backtest(run_cli, csv_project)
    lines = _reimport_lines(err)
    assert len(lines) == 1 and "re-importing ORCL" in lines[0] and "orcl-1995-2001.csv changed" in lines[0]
    assert second["final_equity"] != first["final_equity"]
    fresh = csv_project.parent / "data" / "cache"
    shutil.rmtree(fresh)
    from_scratch, _ = backtest(run_cli, csv_project)
    assert second["final_equity"] == from_scratch["final_equity"]


def test_touching_a_source_file_without_changing_it_reimports_nothing(run_cli, csv_project: Path) -> None:
    first, _ = backtest(run_cli, csv_project)
    path = csv_project.parent / "csv" / "orcl-1995-2001.csv"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second, err = backtest(run_cli, csv_project)
    assert _reimport_lines(err) == [] and second["final_equity"] == first["final_equity"]


def test_a_benchmark_file_added_later_shows_up_in_the_next_backtest(run_cli, csv_project: Path) -> None:
    folder = csv_project.parent / "csv"
    (folder / "SPY-1993-2017.csv").unlink()
    # without its file the benchmark does not cover the period: a pre-flight error, never a flat line
    code, _, err = run_cli("--config", csv_project, "backtest", "--start", START, "--end", END, "--json")
    assert code == 1 and "SPY (run.yaml benchmark, risk.yaml regime.detect.benchmark) has no bars" in err
    shutil.copy(DATA / "SPY-1993-2017.csv", folder)
    added, _ = backtest(run_cli, csv_project)
    shutil.rmtree(csv_project.parent / "data" / "cache")
    from_scratch, _ = backtest(run_cli, csv_project)
    assert added["metrics"]["benchmark_return"] is not None
    assert added["metrics"]["benchmark_return"] == from_scratch["metrics"]["benchmark_return"]


def test_changing_providers_csv_path_reimports_every_symbol_with_one_line(run_cli, csv_project: Path) -> None:
    backtest(run_cli, csv_project)
    other = csv_project.parent / "other"
    shutil.copytree(csv_project.parent / "csv", other)
    _edit_orcl(other, 2.0, year="1999-")
    (csv_project / "data.yaml").write_text("provider: csv\nadjusted: true\nproviders:\n  csv:\n    path: other\n")
    _, err = backtest(run_cli, csv_project)
    lines = _reimport_lines(err)
    assert len(lines) == 1 and "re-importing ORCL, SPY: providers.csv settings changed (path:" in lines[0]


def test_backtest_refresh_refetches_the_range(run_cli, csv_project: Path) -> None:
    first, _ = backtest(run_cli, csv_project)
    again, _ = backtest(run_cli, csv_project, "--refresh")
    assert again["final_equity"] == first["final_equity"]


def _settings_and_host(project: Path, fmt: str = "csv"):
    (project / "data.yaml").write_text(
        f"provider: csv\nadjusted: true\nproviders:\n  csv:\n    path: csv\ncache:\n  format: {fmt}\n"
    )
    return load_settings(project), PluginHost.load()


def _load(settings, host, **kw):
    return load_bars(settings, host, ["ORCL", "SPY"], date(1999, 1, 4), date(2001, 12, 31), now=NOW, **kw)


def test_a_cache_row_edited_to_ten_times_its_close_is_caught_by_the_checksum(csv_project: Path) -> None:
    settings, host = _settings_and_host(csv_project)
    clean, _ = _load(settings, host)
    path = settings.path("data/cache/csv/ORCL.csv")
    lines = path.read_text().splitlines()
    cells = lines[300].split(",")
    cells[4] = f"{float(cells[4]) * 10:.6f}"  # close ×10 on one row
    lines[300] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    bars, report = _load(settings, host)
    pd.testing.assert_frame_equal(bars, clean)
    event = next(e for e in report.events if e.kind == "data.damaged")
    assert event.level is Level.RISK and "ORCL: its bytes differ from the checksum in the manifest" in event.body
    assert event.data["refetched"] == ["ORCL"]


def test_a_damaged_cache_file_is_held_while_the_others_are_used(csv_project: Path) -> None:
    settings, host = _settings_and_host(csv_project, "parquet")
    _load(settings, host)
    path = settings.path("data/cache/csv/ORCL.parquet")
    path.write_bytes(path.read_bytes()[:100])
    (csv_project.parent / "csv" / "orcl-1995-2001.csv").write_text("Date,Open\n")  # and the source is broken too
    bars, report = _load(settings, host)
    assert bars["close"]["ORCL"].isna().all() and bars["close"]["SPY"].notna().sum() == 752
    assert report.symbols["ORCL"].source == "held" and report.symbols["SPY"].source == "cache"
    assert any(e.kind == "data.damaged" and e.data["held"] == ["ORCL"] for e in report.events)


def test_one_unreadable_source_file_fails_only_its_symbol(csv_project: Path) -> None:
    settings, host = _settings_and_host(csv_project)
    (csv_project.parent / "csv" / "orcl-1995-2001.csv").write_text("Date,Open\n1999-01-04,1.0\n")
    bars, report = _load(settings, host)
    assert bars["close"]["SPY"].notna().sum() == 752 and bars["close"]["ORCL"].isna().all()
    assert report.symbols["SPY"].source == "provider" and report.symbols["ORCL"].source == "none"
    assert "orcl-1995-2001.csv" in (report.provider_error or "")


def test_the_manifest_records_source_files_and_cache_checksums(csv_project: Path) -> None:
    settings, host = _settings_and_host(csv_project)
    _load(settings, host)
    manifest = json.loads(settings.path("data/cache/csv/_manifest.json").read_text())
    orcl = manifest["symbols"]["ORCL"]
    source = orcl["source"]["files"][0]
    assert source["path"].endswith("orcl-1995-2001.csv") and len(source["sha256"]) == 64
    assert orcl["rows"] == 752 and orcl["checksum"].startswith("xxh3_128:") and len(orcl["checksum"]) == 9 + 32


class _FeedVendor:
    """A data plugin whose values depend on its feed but not its timeout (answers bars_source)."""

    def __init__(self) -> None:
        self.requests: list = []

    @hookimpl
    def provide_bars(self, request):
        self.requests.append(request)
        return synthetic.generate(tuple(request.symbols), request.start, request.end, synthetic.SyntheticSettings())

    @hookimpl
    def bars_source(self, request):
        return {"settings": {"feed": request.settings.get("feed")}}


def _vendor_settings(project: Path, **values) -> object:
    body = "".join(f"    {k}: {v}\n" for k, v in values.items())
    (project / "data.yaml").write_text(f"provider: feedy\nadjusted: true\nproviders:\n  feedy:\n{body}")
    return load_settings(project)


def test_only_the_settings_a_provider_names_re_fetch(project: Path, caplog) -> None:
    vendor = _FeedVendor()
    host = PluginHost.from_plugins({"feedy": vendor})
    span = (["SPY"], date(2024, 1, 2), date(2024, 3, 28))
    load_bars(_vendor_settings(project, feed="iex", timeout=10), host, *span, now=NOW)
    load_bars(_vendor_settings(project, feed="iex", timeout=30), host, *span, now=NOW)
    assert len(vendor.requests) == 1  # a longer timeout changes no value
    with caplog.at_level("INFO"):
        load_bars(_vendor_settings(project, feed="sip", timeout=30), host, *span, now=NOW)
    assert len(vendor.requests) == 2
    assert "feedy: re-importing SPY: providers.feedy settings changed (feed: 'iex' → 'sip')" in caplog.text


def test_the_printed_refresh_remedy_repairs_a_damaged_cache_file(run_cli, csv_project: Path) -> None:
    first, _ = backtest(run_cli, csv_project)
    path = csv_project.parent / "data" / "cache" / "csv" / "ORCL.csv"
    lines = path.read_text().splitlines()
    cells = lines[10].split(",")
    cells[4] = f"{float(cells[4]) * 10:.6f}"
    lines[10] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run_cli("--config", csv_project, "data", "validate", "ORCL")
    assert code == 1 and f"cache file {path} is damaged (its bytes differ from the checksum in the manifest)" in err
    assert "`regimeflex backtest --refresh`" in err
    again, _ = backtest(run_cli, csv_project, "--refresh")
    code, _, _ = run_cli("--config", csv_project, "data", "validate", "ORCL")
    assert code == 0 and again["final_equity"] == first["final_equity"]
