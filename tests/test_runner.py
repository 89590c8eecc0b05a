"""The daily cycle end to end on the demo configuration (synthetic data, no keys, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

# A Wednesday session with 300+ sessions of synthetic history before it.
SESSION = "2024-03-13"


def test_dry_run_completes_and_prints_targets(run_cli, project: Path) -> None:
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", SESSION)
    assert code == 0
    assert f"RegimeFlex run — session {SESSION} — mode paper — completed" in out
    assert "targets:" in out


def test_json_summary_has_the_session_targets_and_step_timings(run_cli, project: Path) -> None:
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", SESSION, "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["session"] == SESSION and summary["status"] == "completed"
    assert set(summary["steps"]) >= {"plugins", "data", "targets"}
    assert all(-1.0 <= w <= 1.0 for w in summary["targets"].values())


def test_weekend_is_not_a_session_and_exits_zero(run_cli, project: Path) -> None:
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", "2024-03-16")
    assert code == 0
    assert "note: 2024-03-16 is not a trading session" in out


def test_kill_switch_exits_3_and_touches_nothing(run_cli, project: Path) -> None:
    (project / "kill_switch.flag").write_text("manual stop for the test")
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", SESSION)
    assert code == 3
    assert "note: kill switch engaged" in out
    root = project.parent
    assert not (root / "data").exists() and not (root / "reports").exists() and not (root / "state").exists()
    entries = [json.loads(line) for line in (root / "logs/audit/ledger.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in entries] == ["kill", "notify", "checkpoint"]  # the alert is audited, the run anchored
    assert entries[0]["data"]["reason"] == "manual stop for the test"


def test_live_mode_without_the_live_flag_is_refused(run_cli, project: Path) -> None:
    (project / "broker.yaml").write_text("broker: paper\nmode: live\n")
    code, out, err = run_cli("--config", str(project), "run", "--as-of", SESSION)
    assert code == 2
    assert "broker.yaml: mode: live also needs --live on the command line" in out + err


def test_rerun_of_the_same_session_resumes_instead_of_replanning(run_cli, project: Path) -> None:
    run_cli("--config", str(project), "run", "--as-of", SESSION, "--json")
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", SESSION, "--json")
    again = json.loads(out)
    assert code == 0
    assert f"orders for {SESSION} were already intended; resumed, not re-planned" in again["messages"]
    ledger = (project.parent / "logs/audit/ledger.jsonl").read_text().splitlines()
    intents = [json.loads(line) for line in ledger if '"kind":"intent"' in line]
    assert len(intents) == len(again["orders"])


def test_bad_date_is_a_usage_error(run_cli, project: Path) -> None:
    code, _, err = run_cli("--config", str(project), "run", "--as-of", "13/03/2024")
    assert code == 2
    assert "'13/03/2024' is not a date; use YYYY-MM-DD, 'last' or 'previous'" in err


def test_two_paper_sessions_fill_at_the_next_open_and_write_reports(run_cli, project: Path) -> None:
    from regimeflex.ledger.store import verify_file

    code, out, _ = run_cli("--config", str(project), "run", "--as-of", "2024-03-12", "--json")
    first = json.loads(out)
    assert code == 0 and first["orders"] and not first["fills"]
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", SESSION, "--json")
    second = json.loads(out)
    assert code == 0
    assert {f["client_order_id"] for f in second["fills"]} == {o["client_order_id"] for o in first["orders"]}
    assert second["equity"] != 100_000.0
    report = Path(second["report_path"])
    assert report.name == f"{SESSION}.html" and SESSION in report.read_text()
    assert verify_file(project.parent / "logs/audit/ledger.jsonl").ok


def test_every_enabled_breaker_is_reported_with_its_state(run_cli, project: Path) -> None:
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", SESSION, "--json")
    breakers = {b["name"]: b["state"] for b in json.loads(out)["breakers"]}
    assert code == 0
    assert set(breakers) == {
        "max_drawdown",
        "daily_loss",
        "vix",
        "stale_data",
        "rejected_orders",
        "max_orders_per_day",
        "concentration",
    }
    # a first run has no VIX series (none configured) and no previous close: those two cannot see
    assert breakers.pop("vix") == breakers.pop("daily_loss") == "no data"
    assert set(breakers.values()) == {"ok"}


def test_a_run_without_vix_data_shows_the_vix_breaker_as_no_data_and_counts_it(run_cli, project: Path) -> None:
    code, out, err = run_cli("--config", str(project), "run", "--as-of", SESSION)
    assert code == 0
    assert "circuit breakers: 5 ok, 0 tripped, 2 no data (daily_loss, vix)" in out
    assert "RISK" in err and "vix (no VIX series configured: set risk.yaml regime.vix_symbol)" in err


def test_a_vix_series_without_a_bar_for_the_session_is_no_data_naming_it(run_cli, project: Path) -> None:
    # the csv files end 2019-12-31, the VIX file is missing that last session
    import shutil

    import pandas as pd

    data = Path(__file__).resolve().parent / "data"
    folder = project.parent / "csvdata"
    folder.mkdir()
    for name in ("SPY", "GLD"):
        shutil.copy(data / f"{name}-2019-lumibot.csv", folder / f"{name}.csv")
    vix = pd.read_csv(data / "VIX-1990-2020.csv")
    vix[vix.iloc[:, 0].astype(str).str.endswith("/2019")].iloc[:-1].to_csv(folder / "VIX.csv", index=False)
    (project / "data.yaml").write_text(f"provider: csv\nproviders:\n  csv: {{path: {folder}}}\n")
    (project / "run.yaml").write_text("universe: [SPY, GLD]\nbenchmark: SPY\nhistory_sessions: 60\n")
    (project / "risk.yaml").write_text("regime:\n  detect: {window: 20}\n  vix_symbol: VIX\n")
    code, out, err = run_cli("--config", str(project), "run", "--as-of", "2019-12-31", "--json")
    assert code == 0, err
    vix_state = next(b for b in json.loads(out)["breakers"] if b["name"] == "vix")
    assert vix_state["state"] == "no data"
    assert "vix (no VIX close for 2019-12-31)" in err


def test_with_a_vix_series_the_vix_breaker_measures_the_sessions_close(run_cli, project: Path) -> None:
    risk = (project / "risk.yaml").read_text().replace("regime:\n", "regime:\n  vix_symbol: VIX\n")
    (project / "risk.yaml").write_text(risk)
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", SESSION, "--json")
    vix = next(b for b in json.loads(out)["breakers"] if b["name"] == "vix")
    assert code == 0
    assert vix["state"] in ("ok", "tripped") and vix["value"] > 0


def test_the_second_session_measures_the_daily_loss_from_the_first(run_cli, project: Path) -> None:
    run_cli("--config", str(project), "run", "--as-of", "2024-03-12")
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", SESSION, "--json")
    daily = next(b for b in json.loads(out)["breakers"] if b["name"] == "daily_loss")
    assert code == 0 and daily["state"] == "ok" and daily["value"] is not None


def test_staleness_is_counted_to_the_session_being_run(project: Path) -> None:
    from datetime import date

    from regimeflex.config import load_settings
    from regimeflex.data.service import DataReport, SymbolStatus
    from regimeflex.runner import stale_symbols

    settings = load_settings(project)
    # the data layer measured SPY against the last completed session (2024-03-12): 4 behind;
    # the run is for 2024-03-13, so the newest bar (2024-03-06) is 5 sessions behind it
    report = DataReport("synthetic", date(2024, 1, 2), date(2024, 3, 12), {})
    report.symbols["SPY"] = SymbolStatus("SPY", last_bar=date(2024, 3, 6), stale_sessions=4)
    for symbol in settings.run.universe[1:]:
        report.symbols[symbol] = SymbolStatus(symbol, last_bar=date(2024, 3, 13), stale_sessions=0)
    assert stale_symbols(settings, report, pd.Timestamp(SESSION)) == {"SPY": 5}


def test_a_failing_notifier_never_stops_the_run_and_its_failure_is_in_the_ledger(project: Path) -> None:
    import types

    from regimeflex import hookimpl
    from regimeflex.config import load_settings
    from regimeflex.plugins import PluginHost
    from regimeflex.runner import RunOptions, run_cycle

    broken = types.ModuleType("broken_pager")

    @hookimpl
    def notify(event, context):
        raise RuntimeError("pager service is down")

    broken.notify = notify
    host = PluginHost.load()
    PluginHost._register(host._reg, "broken_pager", broken, None, None, "broken_pager")
    (project / "run.yaml").write_text(
        (project / "run.yaml")
        .read_text()
        .replace(
            "    console:\n      min_level: INFO\n",
            "    console:\n      min_level: INFO\n    pager:\n      plugin: broken_pager\n",
        )
    )
    from datetime import date

    summary = run_cycle(load_settings(project), RunOptions(as_of=date(2024, 3, 13)), host=host)
    assert summary.status == "completed" and summary.exit_code == 0
    entries = [json.loads(line) for line in (project.parent / "logs/audit/ledger.jsonl").read_text().splitlines()]
    notify_entry = [e for e in entries if e["kind"] == "notify"][-1]
    assert notify_entry["data"]["failures"] and "pager service is down" in json.dumps(notify_entry["data"])


def test_a_run_outside_the_fomc_table_says_the_fomc_state_is_unknown(run_cli, project: Path) -> None:
    # 1993 is before the shipped table (1994-2027): the guard cannot see FOMC days and says so
    code, out, err = run_cli("--config", str(project), "run", "--as-of", "1993-06-16", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["status"] == "completed"
    assert {"event": "fomc", "rule": "skip_entries", "state": "unknown"} in summary["calendar"]
    assert any("FOMC state unknown for 1993-06-16" in m for m in summary["messages"])
    assert "RISK" in err and "FOMC state unknown for 1993-06-16" in err
