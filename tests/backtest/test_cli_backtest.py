"""``regimeflex backtest``: summary, --json, --out files, determinism, bad dates."""

from __future__ import annotations

import json

import pandas as pd
import pytest


def test_json_summary_reports_period_equity_and_metrics(run_cli, etf_project):
    code, out, _ = run_cli("--config", str(etf_project), "backtest", "--json")
    info = json.loads(out)
    assert code == 0
    assert (info["start"], info["end"], info["symbols"]) == ("2019-03-01", "2019-12-31", 3)
    assert info["final_equity"] == pytest.approx(info["metrics"]["final_equity"], rel=1e-9)
    assert {"sharpe", "max_drawdown", "cagr"} <= set(info["metrics"])


def test_text_summary_is_one_readable_block(run_cli, etf_project):
    code, out, _ = run_cli("--config", str(etf_project), "backtest", "--start", "2019-06-03")
    assert code == 0
    assert out.startswith("backtest 2019-06-03 → 2019-12-31: ")
    assert "final equity" in out and "Sharpe" in out


def test_out_dir_holds_parquet_frames_csv_curves_and_summary(run_cli, etf_project, tmp_path):
    out_dir = tmp_path / "bt"
    code, _, _ = run_cli("--config", str(etf_project), "backtest", "--out", str(out_dir))
    assert code == 0
    for name in ("equity", "positions", "weights", "trades", "targets"):
        assert (out_dir / f"{name}.parquet").is_file()
    assert (out_dir / "equity.csv").is_file() and (out_dir / "trades.csv").is_file()
    eq = pd.read_parquet(out_dir / "equity.parquet")
    assert eq.index[0] == pd.Timestamp("2019-03-01")
    assert json.loads((out_dir / "summary.json").read_text())["sessions"] == len(eq)
    assert not list(out_dir.glob(".*.tmp"))


def test_out_dir_holds_a_tear_sheet_with_the_final_equity(run_cli, etf_project, tmp_path):
    out_dir = tmp_path / "bt"
    run_cli("--config", str(etf_project), "backtest", "--out", str(out_dir))
    html = (out_dir / "tearsheet.html").read_text()
    final = pd.read_parquet(out_dir / "equity.parquet")["equity"].iloc[-1]
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "Equity vs SPY" in html and f"${final:,.2f}" in html


def test_same_inputs_write_the_same_bytes(run_cli, etf_project, tmp_path):
    run_cli("--config", str(etf_project), "backtest", "--out", str(tmp_path / "a"))
    run_cli("--config", str(etf_project), "backtest", "--out", str(tmp_path / "b"))
    files = sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(tmp_path / "b")) for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert any(name.startswith("symbols/") for name in files)
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_bad_start_date_is_a_usage_error_naming_the_option(run_cli, etf_project):
    code, _, err = run_cli("--config", str(etf_project), "backtest", "--start", "2019-13-01")
    assert code == 2
    assert "Error: Invalid value for --start: '2019-13-01' is not a date; use YYYY-MM-DD" in err
