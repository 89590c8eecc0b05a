"""Crash safety end to end: SIGKILL the cycle at every step boundary, rerun, check the promise.

Whatever crashes, when, a rerun never sends an order twice, never loses a fill, and the
ledger still verifies. Each case runs the execution cycle in a subprocess against the
local Alpaca emulator with ``REGIMEFLEX_CRASH_AT=<point>[:n]``, which makes the process
SIGKILL itself at that boundary, then reruns the same session and compares the ledger
with the emulator's books.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alpaca_emulator import AlpacaEmulator
from drive_session import run_session

from regimeflex.ledger import load_state, read_entries, verify_file

KEY, SECRET = "test-key-not-real", "test-secret-not-real"
DRIVER = Path(__file__).resolve().parent / "drive_session.py"
PRICES = {"SPY": 500.0, "QQQ": 400.0, "AAPL": 120.0}
#: sell 5 AAPL, buy 60 SPY, buy 50 QQQ: three POSTs, three fills
TARGETS = {"SPY": 0.3, "QQQ": 0.2, "AAPL": 0.0}

#: every boundary where a crash matters (n-th pass where the step repeats per order)
CRASH_POINTS = [
    "after_intents",  # intents durable, nothing sent
    "before_post:2",  # order_sent recorded for the 2nd order, POST not made
    "after_post:1",  # 1st POST done at the broker, its ack not written
    "after_post:3",  # all POSTs done, last ack missing
    "write:order_ack:2",  # torn line while writing the 2nd ack
    "write:order_sent:3",  # torn line while writing the 3rd order_sent
    "before_fills",  # fills fetched from the broker, none written
    "write:fill:2",  # torn line while writing the 2nd fill
    "write:reconcile",  # torn line while writing the reconcile summary
]


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[AlpacaEmulator]:
    emulator = AlpacaEmulator(key=KEY, secret=SECRET, prices=PRICES)
    emulator.base_url = emulator.start()
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    yield emulator
    emulator.stop()


def config(emu: AlpacaEmulator, tmp_path: Path, session: str = "2024-03-05", targets: dict | None = None) -> dict:
    return {
        "ledger": str(tmp_path / "logs" / "audit" / "ledger.jsonl"),
        "session": session,
        "targets": targets or TARGETS,
        "prices": PRICES,
        "kill": str(tmp_path / "kill_switch.flag"),
        "settings": {"base_url": emu.base_url, "timeout": 2.0, "backoff": 0.0},
    }


def yesterday(emu: AlpacaEmulator, tmp_path: Path) -> None:
    """The previous session bought 5 AAPL, so today's cycle has a sell and two buys."""
    assert run_session(config(emu, tmp_path, "2024-03-04", {"AAPL": 0.006})).sent


def forked_crash(cfg: dict, point: str) -> int:
    """Run the cycle in a forked child that kills itself at ``point``; return its wait status signal.

    Forking skips re-importing pandas & co. in every case (seconds each on a busy machine);
    the child is a separate process, and SIGKILL gives it no chance to clean up.
    """
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.environ["REGIMEFLEX_CRASH_AT"] = point
            run_session(cfg)
        finally:
            os._exit(0)  # reached only if the crash point never fired
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


def crash_run(cfg: dict, point: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "APCA_API_KEY_ID": KEY,
        "APCA_API_SECRET_KEY": SECRET,
        "REGIMEFLEX_CRASH_AT": point,
        "PYTHONPATH": os.pathsep.join([str(DRIVER.parent), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, str(DRIVER), json.dumps(cfg)], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_rerun_after_a_crash_keeps_the_promise(
    point: str, emu: AlpacaEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yesterday(emu, tmp_path)
    cfg = config(emu, tmp_path)
    assert forked_crash(cfg, point) == signal.SIGKILL

    rerun = run_session(cfg)
    assert rerun.exit_code == 0, rerun.errors

    ledger = Path(cfg["ledger"])
    state = load_state(ledger)
    intents = sorted(state.orders)
    assert len(state.orders_for("2024-03-05")) == 3
    assert sorted(emu.client_ids()) == intents  # every intent placed, exactly once
    assert emu.posts() - emu.duplicate_posts == 4  # no second order ever created
    assert verify_file(ledger).ok
    assert {s: p.qty for s, p in state.positions().items()} == emu.position_qty() == {"SPY": 60.0, "QQQ": 50.0}
    assert len(state.fills) == len(emu.activities) == 4  # no fill lost, none counted twice
    assert all(v.status == "filled" for v in state.orders.values())
    assert rerun.reconcile is not None and rerun.reconcile.ok


@pytest.mark.slow
def test_a_crash_in_a_fresh_interpreter_then_two_reruns(emu: AlpacaEmulator, tmp_path: Path) -> None:
    yesterday(emu, tmp_path)
    cfg = config(emu, tmp_path)
    crashed = crash_run(cfg, "after_post:2")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    run_session(cfg)
    assert sorted(emu.client_ids()) == sorted(load_state(Path(cfg["ledger"])).orders)
    posts = emu.posts()
    again = run_session(cfg)
    assert again.sent == [] and emu.posts() == posts
    kinds = [e["kind"] for e in read_entries(Path(cfg["ledger"]))]
    assert kinds.count("intent") == 4


@pytest.mark.slow
def test_two_concurrent_runs_one_refuses(emu: AlpacaEmulator, tmp_path: Path) -> None:
    from regimeflex.ledger import open_writer

    cfg = config(emu, tmp_path)
    with open_writer(Path(cfg["ledger"])):
        other = crash_run(cfg, "none")
    assert other.returncode == 1
    assert "another RegimeFlex run is writing this ledger" in other.stderr
    assert emu.posts() == 0
    assert not Path(cfg["ledger"]).exists() or Path(cfg["ledger"]).stat().st_size == 0


def test_secrets_stay_out_of_ledger_logs_and_errors(
    emu: AlpacaEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    import logging

    from alpaca_emulator import Fault

    caplog.set_level(logging.DEBUG)
    emu.inject(Fault("POST", "/v2/orders", status=500))
    first = run_session(config(emu, tmp_path, "2024-03-04", {"AAPL": 0.006}))
    monkeypatch.setenv("APCA_API_SECRET_KEY", "wrong-secret-not-real")
    second = run_session(config(emu, tmp_path))
    assert second.errors  # the wrong key was refused, and said so
    texts = [
        Path(config(emu, tmp_path)["ledger"]).read_text(),
        caplog.text,
        *first.errors,
        *second.errors,
        *(e.body for e in first.events + second.events),
    ]
    joined = "\n".join(texts)
    for secret in (KEY, SECRET, "wrong-secret-not-real"):
        assert secret not in joined


def test_partial_fills_completed_later_are_all_recorded(emu: AlpacaEmulator, tmp_path: Path) -> None:
    emu.fill_mode = "partial"
    cfg = config(emu, tmp_path, targets={"SPY": 0.3, "QQQ": 0.2})
    first = run_session(cfg)
    state = load_state(Path(cfg["ledger"]))
    assert sorted(v.status for v in state.orders.values()) == ["partially_filled", "partially_filled"]
    assert first.reconcile.ok and len(state.fills) == 2
    emu.fill_remaining()
    again = run_session(cfg)  # same session: resumed, nothing sent, the rest of the fills recorded
    state = load_state(Path(cfg["ledger"]))
    assert again.sent == [] and again.reconcile.ok
    assert len(state.fills) == len(emu.activities) == 4
    assert {s: p.qty for s, p in state.positions().items()} == emu.position_qty() == {"SPY": 60.0, "QQQ": 50.0}
    assert all(v.status == "filled" for v in state.orders.values())
