"""A backtest lists the sessions its calendar guard could not see (outside the FOMC table)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

TESTS_DATA = Path(__file__).resolve().parent.parent / "data"


def spy_1993_project(root: Path) -> Path:
    """A csv project on real SPY bars 1993-01-29..1994-12-30 (tests/data/SPY-1993-2017.csv)."""
    csv_dir = root / "data" / "csv"
    csv_dir.mkdir(parents=True)
    raw = pd.read_csv(TESTS_DATA / "SPY-1993-2017.csv")
    raw[raw["Date"] < "1995-01-01"].to_csv(csv_dir / "SPY.csv", index=False)
    config = root / "config"
    config.mkdir()
    (config / "run.yaml").write_text("universe: [SPY]\nbenchmark: SPY\nbacktest:\n  warmup_sessions: 20\n")
    (config / "data.yaml").write_text(f"provider: csv\nproviders:\n  csv:\n    path: {csv_dir}\n")
    (config / "strategies.yaml").write_text(
        "strategies:\n  trend:\n    plugin: trend\n    budget: 1.0\n    params: {rule: crossover, fast: 5, slow: 20}\n"
    )
    (config / "risk.yaml").write_text("regime:\n  detect: {window: 20}\n")
    (config / "broker.yaml").write_text("broker: paper\nmode: dry_run\n")
    return config


def test_backtest_lists_the_span_before_the_fomc_table_as_unknown(run_cli, tmp_path):
    config = spy_1993_project(tmp_path)
    code, out, err = run_cli("--config", config, "backtest", "--start", "1993-06-01", "--end", "1994-06-30", "--json")
    assert code == 0, err
    notes = [n for n in json.loads(out)["notes"] if n.startswith("calendar guard")]
    assert len(notes) == 1
    assert notes[0].startswith("calendar guard: FOMC state unknown for 1993-06-01..1993-12-31 (150 sessions)")
    assert "1994-01-01..2027-12-31" in notes[0]
    code, out, _ = run_cli("--config", config, "backtest", "--start", "1993-06-01", "--end", "1994-06-30")
    assert code == 0
    assert "note: calendar guard: FOMC state unknown for 1993-06-01..1993-12-31 (150 sessions)" in out


def test_backtest_inside_the_fomc_table_has_no_calendar_note(run_cli, tmp_path):
    config = spy_1993_project(tmp_path)
    code, out, err = run_cli("--config", config, "backtest", "--start", "1994-02-01", "--end", "1994-12-30", "--json")
    assert code == 0, err
    assert [n for n in json.loads(out)["notes"] if n.startswith("calendar guard")] == []


def test_research_backtest_names_the_breakers_it_does_not_simulate_as_no_data(run_cli, tmp_path):
    config = spy_1993_project(tmp_path)
    (config / "run.yaml").write_text((config / "run.yaml").read_text() + "  mode: research\n")
    code, out, err = run_cli("--config", config, "backtest", "--start", "1994-02-01", "--end", "1994-12-30", "--json")
    assert code == 0, err
    assert [n for n in json.loads(out)["notes"] if n.startswith("circuit breakers")] == [
        "circuit breakers not simulated in a backtest (no data): vix, stale_data, rejected_orders, "
        "max_orders_per_day, concentration"
    ]


def test_daily_rules_backtest_simulates_every_breaker_so_names_none(run_cli, tmp_path):
    config = spy_1993_project(tmp_path)  # mode: daily, the default: the runner's breakers on the simulated account
    code, out, err = run_cli("--config", config, "backtest", "--start", "1994-02-01", "--end", "1994-12-30", "--json")
    assert code == 0, err
    assert [n for n in json.loads(out)["notes"] if n.startswith("circuit breakers")] == []
