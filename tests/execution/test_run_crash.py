"""`regimeflex run` itself, SIGKILLed mid-cycle and rerun: the promise holds through the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from regimeflex.builtins.paper import PaperBook
from regimeflex.cli import main
from regimeflex.ledger import load_state, verify_file
from regimeflex.types import BrokerContext

FIRST, SECOND = "2024-03-12", "2024-03-13"


def run_cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return exited.value.code, capsys.readouterr().out


def crash(project: Path, session: str, point: str) -> None:
    env = {**os.environ, "REGIMEFLEX_CRASH_AT": point}
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from regimeflex.cli import main; main()",
            "--config",
            str(project),
            "run",
            "--as-of",
            session,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout[-2000:] + crashed.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize(("crash_session", "point"), [(FIRST, "after_post:1"), (SECOND, "write:fill:1")])
def test_killed_run_reruns_without_duplicates_or_lost_fills(
    crash_session: str, point: str, project: Path, capsys
) -> None:
    root = project.parent
    for session in (FIRST, SECOND):
        if session == crash_session:
            crash(project, session, point)
        code, out = run_cli(capsys, "--config", str(project), "run", "--as-of", session, "--json")
        assert code == 0, out

    ledger = root / "logs" / "audit" / "ledger.jsonl"
    assert verify_file(ledger).ok
    state = load_state(ledger)
    assert state.fills  # the first session's orders filled at the second session's open
    book = PaperBook.load(BrokerContext(mode="paper", session=date.fromisoformat(SECOND), state_dir=root / "state"))
    assert sorted(book.orders) == sorted(o.client_order_id for o in state.orders.values() if o.mode == "paper")
    assert sorted(f["fill_id"] for f in book.fills) == sorted(state.fills)
    assert {s: p.qty for s, p in book.positions().items()} == {s: p.qty for s, p in state.positions().items()}


def test_secrets_never_reach_ledger_reports_state_or_output(project: Path, capsys, monkeypatch) -> None:
    secrets = {
        "APCA_API_KEY_ID": "test-key-not-real",
        "APCA_API_SECRET_KEY": "test-secret-not-real",
        "POLYGON_API_KEY": "test-polygon-not-real",
        "TELEGRAM_BOT_TOKEN": "123456:test-token-not-real",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    printed = []
    for session in (FIRST, SECOND):
        code, out = run_cli(capsys, "--config", str(project), "run", "--as-of", session, "--json")
        printed.append(out)
    for args in (
        ("ledger", "show", "--json"),
        ("ledger", "export", "--csv"),
        ("reconcile", "--json"),
        ("kill", "status", "--json"),
    ):
        printed.append(run_cli(capsys, "--config", str(project), *args)[1])
    files = [p for p in project.parent.rglob("*") if p.is_file() and "config" not in p.parts]
    assert any(p.suffix == ".html" for p in files) and any(p.name == "ledger.jsonl" for p in files)
    texts = [p.read_bytes().decode("utf-8", "replace") for p in files] + printed
    for value in secrets.values():
        assert not any(value in text for text in texts), value
