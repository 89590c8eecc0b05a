"""The ledger is verified before anything acts on it, incrementally, and anchored by signed checkpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from regimeflex.errors import LedgerBroken
from regimeflex.ledger import open_writer, read_entries, verify_file, verify_since_checkpoint
from regimeflex.ledger.anchor import KEY_ENV, state_path
from regimeflex.ledger.journal import open_journal
from regimeflex.ledger.store import GENESIS, _encode

SESSION = "2024-03-12"
KEY = "test-ledger-key-not-real-0123456789"


def write_run(path: Path, n: int, *, session: str = "2024-03-05", checkpoint: bool = True) -> None:
    """One run's worth of entries through a verifying journal (which stores the verified prefix)."""
    with open_journal(path) as journal:
        journal.record("run_start", {"session": session})
        for i in range(n):
            journal.append(
                "fill", {"fill_id": f"f{session}-{i}", "symbol": "SPY", "side": "buy", "qty": 1, "price": 1.0}
            )
        journal.commit()
        if checkpoint:
            journal.checkpoint()


def rewrite(path: Path, change) -> None:
    """What an attacker with file access does: edit entries and recompute every hash."""
    entries = list(read_entries(path))
    prev, out = GENESIS, []
    for e in entries:
        e = change(e) or e
        if e["kind"] == "checkpoint":  # a careful attacker re-points the checkpoints too (cannot re-sign)
            e["data"]["head"] = prev
        line, prev = _encode(e["height"], e["seq"], e["ts"], e["kind"], e["data"], prev)
        out.append(line)
    path.write_bytes(b"".join(out))


# ---------------------------------------------------------------- incremental
def test_incremental_verification_hashes_only_entries_appended_since_the_last_verified_prefix(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    write_run(ledger, 200)
    assert state_path(ledger).exists()
    full = verify_file(ledger)
    with open_writer(ledger) as w:  # three entries appended by a writer that did not verify
        for i in range(3):
            w.append("order_update", {"client_order_id": f"c{i}", "status": "accepted"})
    since = verify_since_checkpoint(ledger)
    assert since.ok and since.entries == full.entries + 3
    assert since.hashed == 3 + 1  # the new entries plus the verified prefix's last line
    assert verify_file(ledger).hashed == full.entries + 3


def test_a_verifying_writer_refuses_an_edited_entry_appended_since_the_checkpoint(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    write_run(ledger, 5)
    with open_writer(ledger) as w:
        w.append("intent", {"client_order_id": "rf-1", "symbol": "SPY", "side": "buy", "qty": 37})
    ledger.write_bytes(ledger.read_bytes().replace(b'"qty":37', b'"qty":97'))
    before = ledger.read_bytes()
    with pytest.raises(LedgerBroken) as err:
        open_journal(ledger)
    assert f"line {len(before.splitlines())}: content does not match its id" in str(err.value)
    assert ledger.read_bytes() == before  # nothing written
    with open_writer(ledger):  # the lock was released
        pass


def test_deleting_the_last_verified_line_is_detected_at_the_verified_boundary(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    write_run(ledger, 5)
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(b"".join(lines[:-1]))
    result = verify_since_checkpoint(ledger)
    assert not result.ok and "shorter" in result.problem and "lines were deleted" in result.problem


@pytest.mark.parametrize("damage", ["swap", "edit", "delete_and_append"])
def test_damage_inside_the_verified_prefix_is_refused_before_acting_without_rehashing_it(
    tmp_path: Path, damage: str
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    write_run(ledger, 50, session="2024-03-05")
    write_run(ledger, 5, session="2024-03-06")
    lines = ledger.read_bytes().splitlines(keepends=True)
    if damage == "swap":  # two fills of equal length, deep inside the prefix
        lines[10], lines[11] = lines[11], lines[10]
    elif damage == "edit":
        lines[10] = lines[10].replace(b'"price":1.0', b'"price":9.0')
    else:  # one line gone, one line's worth of bytes appended so the length still fits
        lines.append(lines.pop(10))
    ledger.write_bytes(b"".join(lines))
    result = verify_since_checkpoint(ledger)
    assert not result.ok and result.hashed <= 1
    with pytest.raises(LedgerBroken):
        open_journal(ledger)


def test_swapped_lines_after_the_checkpoint_are_refused(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    write_run(ledger, 2)
    with open_writer(ledger) as w:
        w.append("intent", {"client_order_id": "a", "qty": 1})
        w.append("intent", {"client_order_id": "b", "qty": 2})
    lines = ledger.read_bytes().splitlines(keepends=True)
    lines[-1], lines[-2] = lines[-2], lines[-1]
    ledger.write_bytes(b"".join(lines))
    with pytest.raises(LedgerBroken, match="a line was deleted, inserted or moved here"):
        open_journal(ledger)


def test_with_the_key_a_verified_prefix_file_that_was_edited_is_ignored(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    ledger = tmp_path / "ledger.jsonl"
    write_run(ledger, 5)
    state = json.loads(state_path(ledger).read_text())
    state["offset"] = 0  # claims nothing needs verifying... but has no valid MAC any more
    state_path(ledger).write_text(json.dumps({**state, "entries": 0, "last_id": GENESIS}))
    assert verify_since_checkpoint(ledger).hashed == len(ledger.read_bytes().splitlines())


# ---------------------------------------------------------------- anchoring
def test_checkpoints_sign_the_head_with_hmac_sha256_of_the_ledger_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    ledger = tmp_path / "ledger.jsonl"
    write_run(ledger, 3)
    *body, last = list(read_entries(ledger))
    assert last["kind"] == "checkpoint" and last["data"]["head"] == body[-1]["id"]
    message = json.dumps(
        {"v": 1, "what": "checkpoint", "head": body[-1]["id"], "entries": len(body), "height": last["height"]},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    assert last["data"]["sig"] == hmac.new(KEY.encode(), message, hashlib.sha256).hexdigest()
    assert KEY not in ledger.read_text() and KEY not in state_path(ledger).read_text()
    result = verify_file(ledger)
    assert result.ok and result.signed == 1


def test_with_the_key_a_full_rewrite_with_recomputed_hashes_is_detected(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    ledger = tmp_path / "ledger.jsonl"
    write_run(ledger, 3, session="2024-03-05")
    write_run(ledger, 3, session="2024-03-06")

    def bigger_fill(e):
        if e["kind"] == "fill":
            e["data"]["qty"] = 97
        return e

    rewrite(ledger, bigger_fill)
    state_path(ledger).unlink()  # the attacker removes the verified prefix too
    result = verify_file(ledger)
    assert not result.ok and "checkpoint signature does not match" in result.problem
    with pytest.raises(LedgerBroken):
        open_journal(ledger)


def test_without_the_key_a_full_rewrite_passes_the_chain_but_not_a_published_head(
    tmp_path: Path, run_cli, project: Path
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    write_run(ledger, 3)
    published = list(read_entries(ledger))[-2]["id"]  # the checkpoint's signed head
    code, out, _ = run_cli("--config", str(project), "ledger", "verify", "--ledger", str(ledger), "--head", published)
    assert code == 0 and f"head {published}: found at line" in out
    rewrite(ledger, lambda e: {**e, "data": {**e["data"], "qty": 97}} if e["kind"] == "fill" else e)
    state_path(ledger).unlink()
    assert verify_file(ledger).ok  # documented: without the key a rewrite verifies
    code, out, _ = run_cli("--config", str(project), "ledger", "verify", "--ledger", str(ledger), "--head", published)
    assert code == 1 and f"head {published}: NOT in this ledger" in out


# ------------------------------------------------------------------ the CLI
def crash_run(project: Path, point: str, *extra: str) -> None:
    env = {**os.environ, "REGIMEFLEX_CRASH_AT": point}
    done = subprocess.run(
        [sys.executable, "-c", "from regimeflex.cli import main; main()", "--config", str(project), "run"]
        + ["--as-of", SESSION, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.slow
def test_run_sends_nothing_exits_1_and_alerts_when_an_intent_was_edited(run_cli, project: Path) -> None:
    (project / "broker.yaml").write_text("broker: paper\nmode: paper\n")
    crash_run(project, "after_intents")  # intents committed, nothing sent
    ledger = project.parent / "logs" / "audit" / "ledger.jsonl"
    raw = ledger.read_bytes()
    first_intent = next(line for line in raw.splitlines() if b'"kind":"intent"' in line)
    qty = json.loads(first_intent)["data"]["qty"]
    edited = first_intent.replace(f'"qty":{qty}'.encode(), f'"qty":{qty + 60}'.encode())
    ledger.write_bytes(raw.replace(first_intent, edited))

    code, out, err = run_cli("--config", str(project), "run", "--as-of", SESSION, "--json")
    assert code == 1
    summary = json.loads(out)
    assert summary["status"] == "failed" and summary["orders"] == []
    assert any("content does not match its id" in m for m in summary["messages"])
    assert "ledger does not verify" in err  # the ERROR alert (console notifier)
    book = project.parent / "state" / "paper_broker.json"
    assert not book.exists() or not json.loads(book.read_text())["orders"]
    code, out, _ = run_cli("--config", str(project), "doctor")
    assert code == 1 and "FAIL" in out and "content does not match its id" in out


def test_a_run_publishes_its_signed_head_in_the_notification_and_the_report(
    run_cli, project: Path, monkeypatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    code, out, err = run_cli("--config", str(project), "run", "--as-of", SESSION, "--json")
    assert code == 0
    anchor = json.loads(out)["ledger_anchor"]
    ledger = project.parent / "logs" / "audit" / "ledger.jsonl"
    entries = {e["id"]: e for e in read_entries(ledger)}
    checkpoint = entries[anchor["checkpoint"]]
    assert checkpoint["kind"] == "checkpoint" and checkpoint["prev"] == anchor["head"] in entries
    assert checkpoint["data"]["sig"] == anchor["sig"] is not None
    assert f"ledger head {anchor['head']} signature {anchor['sig']}" in err  # the run's notification
    report = Path(json.loads(out)["report_path"]).read_text()
    assert anchor["head"] in report and anchor["sig"] in report
    assert KEY not in out + err + report + ledger.read_text()
    assert list(read_entries(ledger))[-1]["kind"] == "checkpoint"  # the run ends with one
    code, out, _ = run_cli("--config", str(project), "ledger", "verify", "--head", anchor["head"])
    assert code == 0 and "signed checkpoint(s) verified with REGIMEFLEX_LEDGER_KEY" in out
