"""`regimeflex data fetch|import|validate|info` on a temp project (synthetic provider, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regimeflex.cli import main
from regimeflex.data.calendar import sessions

JANUARY_2024 = len(sessions("2024-01-02", "2024-01-31"))

SUBSET = Path(__file__).resolve().parent.parent / "data" / "all_stocks_5yr_subset.csv.gz"


def run(capsys, project: Path, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(project), *args])
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_fetch_fills_the_cache_and_prints_one_row_per_symbol(capsys, project: Path) -> None:
    code, out, _ = run(capsys, project, "data", "fetch", "SPY", "QQQ", "--start", "2024-01-02", "--end", "2024-06-07")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["symbol", "source", "fetched", "first", "last", "stale"]
    assert lines[1].split() == ["QQQ", "provider", "110", "2024-01-02", "2024-06-07", "0"]
    assert lines[3] == "synthetic: 1 provider call(s), 2024-01-02 → 2024-06-07"


def test_second_fetch_makes_no_provider_call(capsys, project: Path) -> None:
    run(capsys, project, "data", "fetch", "SPY", "--start", "2024-01-02", "--end", "2024-06-07")
    code, out, _ = run(capsys, project, "data", "fetch", "SPY", "--start", "2024-01-02", "--end", "2024-06-07")
    assert code == 0 and "synthetic: 0 provider call(s)" in out


def test_fetch_json_is_the_data_report(capsys, project: Path) -> None:
    code, out, _ = run(
        capsys, project, "data", "fetch", "SPY", "--start", "2024-01-02", "--end", "2024-01-31", "--json"
    )
    report = json.loads(out)
    assert code == 0 and report["provider"] == "synthetic"
    assert report["symbols"] == [
        {
            "symbol": "SPY",
            "source": "provider",
            "rows_fetched": JANUARY_2024,
            "first_bar": "2024-01-02",
            "last_bar": "2024-01-31",
            "stale_sessions": 0,
            "reimported": None,
            "damaged": None,
            "held": False,
            "holes": 0,
        }
    ]


def test_fetch_without_symbols_takes_the_universe_and_benchmark(capsys, project: Path) -> None:
    code, out, _ = run(capsys, project, "data", "fetch", "--start", "2024-01-02", "--end", "2024-01-05", "--json")
    universe = ["EFA", "GLD", "IWM", "QQQ", "SPY", "TLT"]
    assert code == 0 and [s["symbol"] for s in json.loads(out)["symbols"]] == universe


def test_many_symbols_on_a_terminal_show_a_progress_bar(capsys, project: Path, monkeypatch) -> None:
    monkeypatch.setattr("regimeflex.cli.data.is_tty", lambda: True)
    symbols = [f"S{i:02d}" for i in range(30)]
    code, out, _ = run(capsys, project, "data", "fetch", *symbols, "--start", "2024-01-02", "--end", "2024-01-05")
    assert code == 0 and "fetching 30 symbols" in out
    assert "synthetic: 2 provider call(s)" in out


def test_failing_provider_without_cache_exits_1_with_one_line(capsys, project: Path) -> None:
    (project / "data.yaml").write_text("provider: csv\nproviders:\n  csv:\n    path: nowhere\n")
    code, _, err = run(capsys, project, "data", "fetch", "SPY", "--start", "2024-01-02", "--end", "2024-01-05")
    nowhere = project.parent / "nowhere"
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"error: data provider csv failed (csv provider: {nowhere} does not exist; set "
        f"providers.csv.path in data.yaml to a folder of CSV files or one CSV file) and the "
        f"cache has no bars for SPY; nothing to run on. Fix the provider (keys, network) and "
        f"rerun."
    )


def test_import_reports_rows_kept_and_rejected(capsys, project: Path) -> None:
    code, out, _ = run(capsys, project, "data", "import", str(SUBSET), "--prices", "adjusted")
    assert code == 0
    assert out.splitlines()[0] == (
        "imported 29450 of 29473 rows for 28 symbol(s) into the synthetic cache; 23 row(s) rejected"
    )
    assert "ohlc_inconsistent: 12 row(s) rejected — e.g. AOS 2014-05-19 " in out


def test_validate_files_with_rejections_exits_1_with_a_findings_table(capsys, project: Path) -> None:
    code, out, _ = run(
        capsys, project, "data", "validate", "--path", str(SUBSET), "LNT", "--prices", "adjusted", "--verbose"
    )
    assert code == 1
    assert out.splitlines() == [
        f"validated 1259 rows from {SUBSET}: 1 rejected, 0 other finding(s)",
        "symbol  date        rule               action    detail",
        "LNT     2016-05-19  ohlc_inconsistent  rejected  open 35.19 high 35.785 low 35.085 close 17.87",
    ]


def test_validate_cache_after_import_passes_with_warnings_only(capsys, project: Path) -> None:
    run(capsys, project, "data", "import", str(SUBSET), "--prices", "adjusted", "--symbol", "LNT")
    code, out, _ = run(capsys, project, "data", "validate", "--json")
    result = json.loads(out)
    assert code == 0 and result["ok"] is True
    assert result["findings"] == [
        {
            "symbol": "LNT",
            "date": "2016-05-19",
            "rule": "missing_session",
            "action": "warned",
            "detail": "no row for this session",
        }
    ]


def test_strict_validate_fails_on_warnings(capsys, project: Path) -> None:
    run(capsys, project, "data", "import", str(SUBSET), "--prices", "adjusted", "--symbol", "LNT")
    code, _, _ = run(capsys, project, "data", "validate", "--strict")
    assert code == 1


def test_info_lists_cached_symbols_with_rows(capsys, project: Path) -> None:
    run(capsys, project, "data", "fetch", "SPY", "--start", "2024-01-02", "--end", "2024-01-31")
    code, out, _ = run(capsys, project, "data", "info", "--json")
    info = json.loads(out)
    assert code == 0 and info["provider"] == "synthetic"
    assert [(s["symbol"], s["first"], s["last"], s["rows"]) for s in info["symbols"]] == [
        ("SPY", "2024-01-02", "2024-01-31", JANUARY_2024)
    ]


def test_info_on_an_empty_cache_says_how_to_fill_it(capsys, project: Path) -> None:
    code, out, _ = run(capsys, project, "data", "info")
    assert code == 0
    assert out.strip() == (
        f"the synthetic cache ({project.parent / 'data' / 'cache' / 'synthetic'}) is empty; "
        f"fill it with `regimeflex data fetch`"
    )


def test_importing_a_folder_on_a_terminal_shows_a_progress_bar(capsys, project: Path, monkeypatch) -> None:
    import shutil

    folder = project.parent / "files"
    folder.mkdir()
    for name in ("orcl-1995-2001.csv", "SPY-2019-lumibot.csv", "GLD-2019-lumibot.csv"):
        shutil.copy(SUBSET.parent / name, folder)
    monkeypatch.setattr("regimeflex.cli.data.is_tty", lambda: True)
    code, out, _ = run(capsys, project, "data", "import", str(folder), "--prices", "adjusted")
    assert code == 0 and "importing 3 files" in out and "importing orcl-1995-2001.csv" in out
    assert "for 3 symbol(s)" in out
