"""`regimeflex report list | path | tearsheet`."""

from __future__ import annotations

import json
from pathlib import Path

from report_inputs import closes, portfolio


def add_reports(config: Path, *sessions: str) -> Path:
    daily = config.parent / "reports" / "daily"
    daily.mkdir(parents=True)
    for session in sessions:
        (daily / f"{session}.html").write_text("<!doctype html>", encoding="utf-8")
    return daily


def test_report_list_shows_newest_first(run_cli, project: Path) -> None:
    daily = add_reports(project, "2019-12-30", "2019-12-31")
    code, out, _ = run_cli("--config", str(project), "report", "list")
    assert code == 0
    assert out.splitlines() == [f"2019-12-31  {daily / '2019-12-31.html'}", f"2019-12-30  {daily / '2019-12-30.html'}"]


def test_report_list_json(run_cli, project: Path) -> None:
    add_reports(project, "2019-12-31")
    code, out, _ = run_cli("--config", str(project), "report", "list", "--json")
    assert code == 0
    assert [r["session"] for r in json.loads(out)["daily"]] == ["2019-12-31"]


def test_report_path_prints_the_latest(run_cli, project: Path) -> None:
    daily = add_reports(project, "2019-12-30", "2019-12-31")
    code, out, _ = run_cli("--config", str(project), "report", "path")
    assert (code, out.strip()) == (0, str(daily / "2019-12-31.html"))


def test_report_path_for_a_missing_session_says_how_to_make_it(run_cli, project: Path) -> None:
    daily = add_reports(project, "2019-12-31")
    code, _, err = run_cli("--config", str(project), "report", "path", "--session", "2019-12-30")
    assert code == 1
    assert f"no daily report for 2019-12-30 in {daily}; run `regimeflex run --as-of 2019-12-30` to write it" in err


def test_report_path_with_a_bad_date_is_a_usage_error(run_cli, project: Path) -> None:
    add_reports(project, "2019-12-31")
    code, _, err = run_cli("--config", str(project), "report", "path", "--session", "31/12/2019")
    assert code == 2
    assert "--session: not a date: '31/12/2019'; use YYYY-MM-DD" in err


def test_report_tearsheet_renders_a_backtest_folder(run_cli, tmp_path: Path) -> None:
    equity, weights, trades = portfolio()
    (tmp_path / "bt").mkdir()
    equity.to_frame("equity").assign(benchmark=closes()["SPY"]).to_csv(tmp_path / "bt" / "equity.csv")
    weights.to_csv(tmp_path / "bt" / "weights.csv")
    trades.to_csv(tmp_path / "bt" / "trades.csv")
    code, out, _ = run_cli("report", "tearsheet", str(tmp_path / "bt"), "--benchmark-name", "SPY")
    html = (tmp_path / "bt" / "tearsheet.html").read_text(encoding="utf-8")
    assert (code, out.strip()) == (0, f"wrote {tmp_path / 'bt' / 'tearsheet.html'}")
    assert f"{len(trades)} fills" in html and "<th>SPY</th>" in html


def test_report_tearsheet_without_equity_csv_says_how_to_write_it(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("report", "tearsheet", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'equity.csv'} not found; write the folder with `regimeflex backtest --out {tmp_path}`" in err
