"""The ledger file: chain, durability, single writer, torn tails, tamper detection."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from regimeflex.errors import LedgerError
from regimeflex.ledger import GENESIS, open_writer, read_entries, repair, verify_file
from regimeflex.ledger.store import torn_remedy


def write_entries(path: Path, n: int) -> None:
    with open_writer(path) as writer:
        writer.append("run_start", {"session": "2024-01-02"}, height=1)
        for i in range(n - 1):
            writer.append("intent", {"client_order_id": f"c{i}", "symbol": "SPY", "qty": i + 1})
        writer.commit()


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "logs" / "audit" / "ledger.jsonl"
    write_entries(path, 5)
    return path


def test_id_is_sha256_of_canonical_json_of_the_other_fields(ledger: Path) -> None:
    for entry in read_entries(ledger):
        rest = {k: v for k, v in entry.items() if k != "id"}
        expected = hashlib.sha256(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        assert entry["id"] == expected


def test_each_prev_is_the_id_of_the_line_before(ledger: Path) -> None:
    entries = list(read_entries(ledger))
    assert entries[0]["prev"] == GENESIS
    assert [e["prev"] for e in entries[1:]] == [e["id"] for e in entries[:-1]]


def test_entries_carry_the_documented_fields(ledger: Path) -> None:
    entry = next(read_entries(ledger))
    assert set(entry) == {"height", "seq", "ts", "kind", "data", "prev", "id"}
    assert entry["ts"].endswith("Z")


def test_seq_counts_from_zero_across_reopens(ledger: Path) -> None:
    with open_writer(ledger) as writer:
        writer.record("run_end", {"status": "ok"})
    assert [e["seq"] for e in read_entries(ledger)] == list(range(6))


def test_intact_ledger_verifies(ledger: Path) -> None:
    result = verify_file(ledger)
    assert (result.ok, result.entries) == (True, 5)


def test_missing_ledger_verifies_as_empty(tmp_path: Path) -> None:
    assert verify_file(tmp_path / "none.jsonl").entries == 0


def test_changed_byte_is_named_by_line(ledger: Path) -> None:
    data = bytearray(ledger.read_bytes())
    third = sum(len(x) for x in lines_of(ledger)[:2])
    pos = data.index(b'"qty":2', third) + 6
    data[pos] = ord("9")
    ledger.write_bytes(bytes(data))
    result = verify_file(ledger)
    assert result.message(ledger) == (
        f"{ledger}: line 3: content does not match its id (the line was edited after it was written)"
    )


def test_deleted_line_is_named_by_line(ledger: Path) -> None:
    lines = lines_of(ledger)
    ledger.write_bytes(b"".join(lines[:2] + lines[3:]))
    result = verify_file(ledger)
    assert (result.bad_line, result.problem) == (
        3,
        "prev does not match the id of the line before (a line was deleted, inserted or moved here)",
    )


def test_reordered_lines_are_named_by_line(ledger: Path) -> None:
    lines = lines_of(ledger)
    lines[3], lines[4] = lines[4], lines[3]
    ledger.write_bytes(b"".join(lines))
    assert verify_file(ledger).bad_line == 4


def test_rewritten_line_in_non_canonical_form_is_named(ledger: Path) -> None:
    lines = lines_of(ledger)
    lines[1] = (json.dumps(json.loads(lines[1]), indent=None) + "\n").encode()
    ledger.write_bytes(b"".join(lines))
    result = verify_file(ledger)
    assert (result.bad_line, result.problem) == (2, "not in canonical form (the line was rewritten by another tool)")


def test_garbage_line_is_named(ledger: Path) -> None:
    lines = lines_of(ledger)
    lines.insert(2, b"hello\n")
    ledger.write_bytes(b"".join(lines))
    result = verify_file(ledger)
    assert (result.bad_line, result.problem) == (3, "not valid JSON (the line was edited or corrupted)")


def test_torn_last_line_is_reported_with_the_remedy(ledger: Path) -> None:
    with ledger.open("ab") as fh:
        fh.write(b'{"data":{"fill_id":"f1"')
    result = verify_file(ledger)
    assert (result.ok, result.torn, result.bad_line) == (False, True, 6)
    assert result.problem == "torn last line (no newline): " + torn_remedy(ledger)
    assert "regimeflex ledger repair" in result.problem


def test_next_writer_moves_a_torn_tail_aside_and_records_it(ledger: Path) -> None:
    torn = b'{"data":{"fill_id":"f1"'
    with ledger.open("ab") as fh:
        fh.write(torn)
    with open_writer(ledger) as writer:
        assert writer.quarantined is not None and writer.quarantined.line_no == 6
    assert ledger.with_name("ledger.jsonl.torn").read_bytes() == torn + b"\n"
    last = list(read_entries(ledger))[-1]
    assert (last["kind"], last["data"]["line"], last["data"]["bytes"]) == ("torn_tail", 6, len(torn))
    assert last["data"]["sha256"] == hashlib.sha256(torn).hexdigest()
    assert verify_file(ledger).ok


def test_repair_quarantines_the_torn_tail(ledger: Path) -> None:
    with ledger.open("ab") as fh:
        fh.write(b"{")
    assert repair(ledger).torn.raw == b"{"
    assert verify_file(ledger).ok


def test_uncommitted_entries_are_not_on_disk(ledger: Path) -> None:
    before = ledger.read_bytes()
    writer = open_writer(ledger)
    writer.append("intent", {"client_order_id": "x"})
    assert ledger.read_bytes() == before
    writer.commit()
    assert ledger.read_bytes() != before
    writer.close()


def test_second_writer_is_refused_with_a_clear_message(ledger: Path) -> None:
    with open_writer(ledger):
        with pytest.raises(LedgerError) as err:
            open_writer(ledger)
    assert str(err.value) == (
        f"{ledger}: another RegimeFlex run is writing this ledger (pid {os.getpid()}, lock {ledger}.lock); "
        "only one run at a time may write — wait for it to finish and run again"
    )


def test_lock_of_a_killed_writer_is_released(ledger: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal
        from regimeflex.ledger import open_writer
        w = open_writer({str(ledger)!r})
        print("locked", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL and "locked" in proc.stdout
    with open_writer(ledger) as writer:
        writer.record("run_end", {})
    assert verify_file(ledger).ok


def test_secrets_in_data_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_SECRET_KEY", "test-secret-not-real")
    path = tmp_path / "l.jsonl"
    with open_writer(path) as writer:
        writer.record("order_ack", {"message": "rejected for key test-secret-not-real", "secret": "abc"})
    assert b"test-secret-not-real" not in path.read_bytes()
    assert verify_file(path).ok


def test_non_json_data_is_refused(tmp_path: Path) -> None:
    with open_writer(tmp_path / "l.jsonl") as writer:
        with pytest.raises(LedgerError) as err:
            writer.append("fill", {"price": float("nan")})
    assert str(err.value).startswith("ledger entry 'fill': data is not plain JSON (")


def test_height_cannot_go_down(ledger: Path) -> None:
    with open_writer(ledger) as writer:
        writer.append("run_start", {}, height=3)
        with pytest.raises(LedgerError) as err:
            writer.append("intent", {}, height=2)
    assert str(err.value) == f"{ledger}: height 2 is below the current height 3"


def test_height_going_down_in_the_file_is_named(tmp_path: Path) -> None:
    from regimeflex.ledger.store import _encode

    first, first_id = _encode(2, 0, "2024-01-02T00:00:00Z", "run_start", {}, GENESIS)
    second, _ = _encode(1, 1, "2024-01-02T00:00:01Z", "intent", {}, first_id)
    path = tmp_path / "l.jsonl"
    path.write_bytes(first + second)
    result = verify_file(path)
    assert (result.bad_line, result.problem) == (2, "height 1 is below the previous height 2")


def test_crash_point_tears_the_nth_line_of_a_kind(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    script = textwrap.dedent(f"""
        from regimeflex.ledger import open_writer
        with open_writer({str(path)!r}) as w:
            for i in range(3):
                w.record("fill", {{"fill_id": str(i)}})
    """)
    env = {**os.environ, "REGIMEFLEX_CRASH_AT": "write:fill:2"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    result = verify_file(path)
    assert (result.torn, result.bad_line, result.entries) == (True, 2, 1)
    with open_writer(path) as writer:
        assert writer.quarantined.line_no == 2
    assert [e["kind"] for e in read_entries(path)] == ["fill", "torn_tail"]


def test_credentials_in_urls_are_redacted(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    with open_writer(path) as writer:
        writer.record("order_update", {"message": "GET https://api.example/v2?apiKey=fake-key-123 failed"})
    assert b"fake-key-123" not in path.read_bytes()
    assert verify_file(path).ok


@pytest.mark.parametrize(
    "data",
    [
        {"Passphrase": "fake-pass-123"},
        {"SIGNING_KEY": "fake-pass-123"},
        {"CREDENTIALS": "fake-pass-123"},
        {"message": "POST /bot123:fake-pass-123/sendMessage"},
        {"message": "GET https://x.example/v1?TOKEN=fake-pass-123"},
        {"message": "AUTHORIZATION: Bearer fake-pass-123"},
    ],
)
def test_every_secret_looking_form_is_redacted_whatever_its_case(tmp_path: Path, data: dict) -> None:
    # the writer only runs the redaction when a line may hold a secret (a quick substring test first)
    path = tmp_path / "l.jsonl"
    with open_writer(path) as writer:
        writer.record("order_update", data)
    assert b"fake-pass-123" not in path.read_bytes()


def test_long_kinds_and_nested_look_alikes_still_verify(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    with open_writer(path) as writer:
        writer.append("a_very_long_kind_name_written_by_some_third_party_plugin", {"x": 1}, height=2)
        writer.append("fill", {"nested": {"height": 9, "kind": "x", "prev": "y", "seq": 3}}, height=3)
        for i in range(12):  # seq crosses from one digit to two
            writer.append("intent", {"i": i})
    result = verify_file(path)
    assert (result.ok, result.entries) == (True, 14)
