"""Coverage in the open: `data coverage`, one summary line in run/backtest, findings one line per rule.

Real files: the all_stocks subset (its real holes and defects), ORCL 1995–2001 and SPY 1993–2017.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"
SUBSET = DATA / "all_stocks_5yr_subset.csv.gz"


@pytest.fixture
def csv_project(project: Path) -> Path:
    folder = project.parent / "csv"
    folder.mkdir()
    shutil.copy(DATA / "orcl-1995-2001.csv", folder)
    shutil.copy(DATA / "SPY-1993-2017.csv", folder)
    (project / "data.yaml").write_text("provider: csv\nadjusted: true\nproviders:\n  csv:\n    path: csv\n")
    run_yaml = (project / "run.yaml").read_text().replace("[SPY, QQQ, IWM, EFA, TLT, GLD]", "[ORCL]")
    (project / "run.yaml").write_text(run_yaml)
    return project


def test_coverage_lists_holes_and_rejected_rows_per_symbol(run_cli, project: Path) -> None:
    run_cli("--config", project, "data", "import", SUBSET, "--prices", "adjusted")
    code, out, _ = run_cli(
        "--config", project, "data", "coverage", "DHR", "LNT", "SPY", "--as-of", "2018-02-07", "--json"
    )
    rows = {r["symbol"]: r for r in json.loads(out)["symbols"]}
    assert code == 0
    # 16 sessions the file lacks + 3 rows rejected on import = 19 sessions without a bar inside its history
    assert rows["DHR"]["missing_sessions"] == 19 and rows["DHR"]["rejected"] == {"ohlc_inconsistent": 1, "nan_field": 2}
    assert rows["DHR"]["warned"] == {"missing_session": 16, "zero_volume": 1} and rows["DHR"]["sessions_behind"] == 0
    assert rows["LNT"]["rejected"] == {"ohlc_inconsistent": 1} and rows["LNT"]["missing_sessions"] == 1
    assert rows["SPY"]["role"] == "universe" and rows["SPY"]["rows"] == 0 and rows["SPY"]["sessions_behind"] is None


def test_coverage_table_says_no_bars_for_a_benchmark_without_data(run_cli, project: Path) -> None:
    run_yaml = (project / "run.yaml").read_text().replace("[SPY, QQQ, IWM, EFA, TLT, GLD]", "[AAPL]")
    (project / "run.yaml").write_text(run_yaml)
    run_cli("--config", project, "data", "import", SUBSET, "--symbol", "AAPL", "--prices", "adjusted")
    code, out, _ = run_cli("--config", project, "data", "coverage", "--as-of", "2018-02-07")
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:-1]}
    assert code == 0 and lines["SPY"][1:3] == ["benchmark", "-"] and "no bars" in " ".join(lines["SPY"])
    assert lines["AAPL"][1:6] == ["universe", "2013-02-08", "2018-02-07", "1259", "0"]


def test_a_backtest_past_the_data_prints_one_data_line(run_cli, csv_project: Path) -> None:
    code, out, err = run_cli(
        "--config", csv_project, "backtest", "--start", "1999-01-04", "--end", "2002-06-28", "--json"
    )
    lines = [line for line in err.splitlines() if "data: " in line]
    assert code == 0 and len(lines) == 1
    assert "data: 1 symbol(s) end before 2002-06-28: ORCL 2001-12-31 — `regimeflex data coverage` lists it" in lines[0]
    assert json.loads(out)["notes"][0].startswith("data: 1 symbol(s) end before 2002-06-28")


def test_a_backtest_on_clean_covering_data_prints_no_data_line(run_cli, csv_project: Path) -> None:
    code, _, err = run_cli("--config", csv_project, "backtest", "--start", "1999-01-04", "--end", "2001-12-31")
    assert code == 0 and "data: " not in err


def test_a_backtest_without_its_benchmark_says_so(run_cli, csv_project: Path) -> None:
    (csv_project.parent / "csv" / "SPY-1993-2017.csv").unlink()
    code, _, err = run_cli("--config", csv_project, "backtest", "--start", "1999-01-04", "--end", "2001-12-31")
    # issue #14: a benchmark that does not cover the period is a pre-flight error, never a flat line
    assert code == 1
    assert "backtest pre-flight: SPY (run.yaml benchmark, risk.yaml regime.detect.benchmark) has no bars" in err


def test_a_run_puts_the_data_line_in_its_summary_and_the_reports_data_section(run_cli, csv_project: Path) -> None:
    code, out, err = run_cli("--config", csv_project, "run", "--as-of", "2002-06-03", "--json")
    summary = json.loads(out)
    assert summary["data"][0].startswith("data: 1 symbol(s) end before 2002-06-03: ORCL 2001-12-31")
    report = Path(summary["report_path"]).read_text()
    assert '<ul class="plain" data-key="data_notes"><li>data: 1 symbol(s) end before 2002-06-03' in report


def test_import_summarises_findings_one_line_per_rule(run_cli, project: Path) -> None:
    code, out, _ = run_cli("--config", project, "data", "import", SUBSET, "--prices", "adjusted")
    lines = out.splitlines()
    assert lines[1].startswith("unsorted_dates") is False
    by_rule = [line for line in lines if line.startswith("missing_session:")]
    assert by_rule == [line for line in lines if "missing_session" in line]
    assert by_rule[0].startswith("missing_session: 51 row(s) warned — e.g. BMY ")
    assert lines[-1] == "(--verbose lists every finding)"
    assert len(lines) < 15


def test_import_verbose_lists_every_finding(run_cli, project: Path) -> None:
    code, out, _ = run_cli("--config", project, "data", "import", SUBSET, "--prices", "adjusted", "--verbose")
    assert sum(" missing_session " in line for line in out.splitlines()) == 51
