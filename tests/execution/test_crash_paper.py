"""Crash safety with the built-in paper broker: SIGKILL a forked cycle at each boundary, rerun."""

from __future__ import annotations

import os
import signal
from datetime import date
from pathlib import Path

import pytest

from regimeflex.builtins import paper
from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.session import execute_session
from regimeflex.ledger import load_state, verify_file
from regimeflex.ledger.journal import open_journal
from regimeflex.plugins import PluginHost

PRICES = {"SPY": 219.57}


def cycle(root: Path, session: date, weight: float):
    with open_journal(root / "ledger.jsonl") as journal:
        return execute_session(
            journal=journal,
            host=PluginHost.from_plugins({"paper": paper}),
            broker="paper",
            mode="paper",
            session=session,
            targets={"SPY": weight},
            prices=PRICES,
            broker_settings={"fill_at": "reference", "slippage_bps": 0},
            state_dir=root / "state",
            kill_switch=KillSwitch(root / "kill.flag"),
        )


def crash_in_child(root: Path, point: str) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            os.environ["REGIMEFLEX_CRASH_AT"] = point
            cycle(root, date(2016, 12, 1), 0.5)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "point",
    ["after_intents", "before_post", "after_post", "write:order_ack", "before_fills", "write:fill", "write:reconcile"],
)
def test_paper_rerun_after_a_crash_places_once_and_keeps_every_fill(point: str, tmp_path: Path) -> None:
    assert crash_in_child(tmp_path, point) == signal.SIGKILL
    cycle(tmp_path, date(2016, 12, 1), 0.5)
    state = load_state(tmp_path / "ledger.jsonl")
    book = paper.PaperBook.load(paper_context(tmp_path))
    assert list(book.orders) == list(state.orders)  # one paper order per intent
    assert [f["fill_id"] for f in book.fills] == list(state.fills)
    assert {s: p.qty for s, p in state.positions().items()} == {"SPY": 227.0}
    assert verify_file(tmp_path / "ledger.jsonl").ok


def paper_context(root: Path):
    from regimeflex.types import BrokerContext

    return BrokerContext(mode="paper", session=date(2016, 12, 1), settings={}, state_dir=root / "state")
