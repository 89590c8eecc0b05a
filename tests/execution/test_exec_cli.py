"""The ledger, kill and reconcile commands."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from regimeflex.ledger import open_writer


@pytest.fixture
def ledger(project: Path) -> Path:
    path = project.parent / "logs" / "audit" / "ledger.jsonl"
    with open_writer(path) as w:
        w.append("run_start", {"session": "2024-03-05"}, height=1)
        w.append("intent", {"client_order_id": "rf-1", "symbol": "SPY", "side": "buy", "qty": 3})
        w.append(
            "fill",
            {"fill_id": "f1", "client_order_id": "rf-1", "symbol": "SPY", "side": "buy", "qty": 3, "price": 500.0},
        )
        w.append("run_start", {"session": "2024-03-06"}, height=2)
    return path


def set_mode(project: Path, mode: str, extra: str = "") -> None:
    (project / "broker.yaml").write_text(f"broker: paper\nmode: {mode}\n{extra}")


def test_verify_reports_an_intact_ledger(run_cli, project: Path, ledger: Path) -> None:
    code, out, _ = run_cli("--config", str(project), "ledger", "verify")
    assert code == 0
    assert out.splitlines()[0] == f"{ledger}: OK, 4 entries, hash chain intact"
    assert "signatures: not checked (REGIMEFLEX_LEDGER_KEY is not set)" in out


def test_verify_exits_1_naming_the_first_bad_line(run_cli, project: Path, ledger: Path) -> None:
    ledger.write_bytes(
        ledger.read_bytes().replace(
            b'"qty":3,"side":"buy","symbol":"SPY"}', b'"qty":30,"side":"buy","symbol":"SPY"}', 1
        )
    )
    code, _, err = run_cli("--config", str(project), "ledger", "verify")
    assert code == 1
    assert err.strip() == (
        f"error: {ledger}: line 2: content does not match its id (the line was edited after it was written)"
    )


def test_verify_json_names_the_bad_line(run_cli, project: Path, ledger: Path) -> None:
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(b"".join([lines[0], lines[2], lines[1], lines[3]]))
    code, out, _ = run_cli("--config", str(project), "ledger", "verify", "--json")
    assert code == 1
    assert json.loads(out)["bad_line"] == 2


def test_show_filters_by_height_and_kind(run_cli, project: Path, ledger: Path) -> None:
    code, out, _ = run_cli("--config", str(project), "ledger", "show", "--height", "1", "--kind", "fill", "--json")
    assert code == 0
    assert [(e["kind"], e["data"]["fill_id"]) for e in json.loads(out)] == [("fill", "f1")]


def test_show_prints_a_table(run_cli, project: Path, ledger: Path) -> None:
    code, out, _ = run_cli("--config", str(project), "ledger", "show", "--kind", "run_start")
    assert code == 0
    rows = out.strip().splitlines()
    assert rows[0].split() == ["height", "seq", "ts", "kind", "data"]
    assert len(rows) == 3 and rows[2].split()[:2] == ["2", "3"]


def test_show_without_a_ledger_says_how_one_is_made(run_cli, project: Path) -> None:
    code, _, err = run_cli("--config", str(project), "ledger", "show")
    ledger = project.parent / "logs" / "audit" / "ledger.jsonl"
    assert code == 1
    assert err.strip() == f"error: {ledger}: no ledger yet (it is created by the first `regimeflex run`)"


def test_export_csv_has_one_row_per_entry(run_cli, project: Path, ledger: Path) -> None:
    code, out, _ = run_cli("--config", str(project), "ledger", "export", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 4
    assert json.loads(rows[2]["data"])["fill_id"] == "f1" and rows[2]["kind"] == "fill"


def test_export_to_a_file(run_cli, project: Path, ledger: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "fills.csv"
    code, _, err = run_cli(
        "--config", str(project), "ledger", "export", "--csv", "--kind", "fill", "--out", str(target)
    )
    assert code == 0 and err.strip() == f"wrote 1 entries to {target}"
    assert len(target.read_text().splitlines()) == 2


def test_repair_moves_a_torn_line_aside(run_cli, project: Path, ledger: Path) -> None:
    with ledger.open("ab") as fh:
        fh.write(b'{"data":')
    code, out, _ = run_cli("--config", str(project), "ledger", "repair")
    assert code == 0 and out.strip() == (
        f"{ledger}: moved torn line 5 (8 bytes) to ledger.jsonl.torn; recorded a torn_tail entry (line 5); "
        "chain verifies, 5 entries"
    )
    assert run_cli("--config", str(project), "ledger", "verify")[0] == 0


def test_repair_refuses_a_chain_broken_in_the_middle_naming_the_first_bad_line(
    run_cli, project: Path, ledger: Path
) -> None:
    lines = ledger.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"seq":1', b'"seq":7')
    ledger.write_bytes(b"".join(lines) + b'{"torn')
    before = ledger.read_bytes()
    code, out, err = run_cli("--config", str(project), "ledger", "repair")
    assert code == 1
    assert f"{ledger}: line 2: content does not match its id" in err
    assert "nothing to repair" not in out + err and "nothing was changed" in err
    assert ledger.read_bytes() == before


def test_kill_on_status_off(run_cli, project: Path) -> None:
    flag = project / "kill_switch.flag"
    code, out, _ = run_cli("--config", str(project), "kill", "on", "--reason", "broker outage")
    assert code == 0 and out.strip() == f"kill switch ENGAGED ({flag}): broker outage"
    code, out, _ = run_cli("--config", str(project), "kill", "status", "--json")
    assert code == 3 and json.loads(out)["reason"] == "broker outage"
    code, out, _ = run_cli("--config", str(project), "kill", "off")
    assert code == 0 and out.strip() == f"kill switch released ({flag})"
    code, out, _ = run_cli("--config", str(project), "kill", "status")
    assert code == 0 and out.strip() == f"kill switch off ({flag}): trading allowed"


def test_kill_on_cancel_open_cancels_and_records(run_cli, project: Path) -> None:
    from regimeflex.builtins import paper
    from regimeflex.execution.killswitch import KillSwitch
    from regimeflex.execution.session import execute_session
    from regimeflex.ledger import load_state
    from regimeflex.ledger.journal import open_journal
    from regimeflex.plugins import PluginHost

    set_mode(project, "paper")
    root = project.parent
    with open_journal(root / "logs" / "audit" / "ledger.jsonl") as journal:
        out = execute_session(
            journal=journal,
            host=PluginHost.from_plugins({"paper": paper}),
            broker="paper",
            mode="paper",
            session=date(2024, 3, 5),
            targets={"SPY": 0.5},
            prices={"SPY": 500.0},
            state_dir=root / "state",
            kill_switch=KillSwitch(project / "kill_switch.flag"),
        )
    assert [r.status for r in out.results] == ["accepted"]
    code, stdout, _ = run_cli("--config", str(project), "kill", "on", "--cancel-open")
    assert code == 0 and "1 open order(s) canceled at paper" in stdout
    state = load_state(root / "logs" / "audit" / "ledger.jsonl")
    assert state.orders[out.orders[0].client_order_id].status == "canceled"


def test_reconcile_in_dry_run_has_nothing_to_compare(run_cli, project: Path) -> None:
    (project / "broker.yaml").write_text("broker: paper\nmode: dry_run\n")
    code, out, _ = run_cli("--config", str(project), "reconcile")
    assert code == 0
    assert out.strip() == "broker.yaml mode is dry_run: no orders were sent, so there is nothing to reconcile"


def test_reconcile_live_without_the_flag_is_refused(run_cli, project: Path) -> None:
    set_mode(project, "live")
    code, _, err = run_cli("--config", str(project), "reconcile")
    assert code == 2
    assert "broker.yaml: mode: live also needs --live on the command line" in err


def test_reconcile_reports_position_drift_and_exits_1(run_cli, project: Path, ledger: Path) -> None:
    set_mode(project, "paper")
    state = project.parent / "state"
    state.mkdir()
    (state / "paper_broker.json").write_text(json.dumps({"cash": 100000.0, "orders": {}, "fills": []}))
    code, out, _ = run_cli("--config", str(project), "reconcile", "--json")
    report = json.loads(out)
    assert code == 1
    assert [(m["kind"], m["symbol"]) for m in report["mismatches"]] == [("position_drift", "SPY")]
    assert report["mismatches"][0]["detail"] == "SPY: ledger holds 3, broker holds 0"
