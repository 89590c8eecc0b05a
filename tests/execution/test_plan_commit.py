"""A plan's intents are all or nothing: crash at every write point, forged intents, rerun."""

from __future__ import annotations

import os
import signal
from datetime import date
from pathlib import Path

import pytest

from regimeflex.builtins import paper
from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.session import execute_session, intent_data
from regimeflex.ledger import load_state, open_writer, read_entries, verify_file
from regimeflex.ledger.anchor import KEY_ENV, plan_commit_data
from regimeflex.ledger.journal import open_journal
from regimeflex.plugins import PluginHost
from regimeflex.types import BrokerContext, Order

DAY = date(2016, 12, 1)
SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]
PRICES = {s: 50.0 + 10 * i for i, s in enumerate(SYMBOLS)}
TARGETS = {s: 0.1 for s in SYMBOLS}


def cycle(root: Path, events: list | None = None):
    """One run's execution step, ending with the run's checkpoint (as the runner does)."""
    with open_journal(root / "ledger.jsonl") as journal:
        out = execute_session(
            journal=journal,
            host=PluginHost.from_plugins({"paper": paper}),
            broker="paper",
            mode="paper",
            session=DAY,
            targets=TARGETS,
            prices=PRICES,
            broker_settings={"fill_at": "reference", "slippage_bps": 0},
            state_dir=root / "state",
            kill_switch=KillSwitch(root / "kill.flag"),
            notify=None if events is None else events.append,
        )
        journal.end_session(status="completed")
        journal.checkpoint()
        return out


def crash_in_child(root: Path, point: str) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            os.environ["REGIMEFLEX_CRASH_AT"] = point
            cycle(root)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


def book(root: Path) -> paper.PaperBook:
    return paper.PaperBook.load(BrokerContext(mode="paper", session=DAY, settings={}, state_dir=root / "state"))


WRITE_POINTS = (
    [f"write:intent:{i}" for i in range(1, len(SYMBOLS) + 1)]
    + ["write:plan_commit:1"]
    + [f"write:fill:{i}" for i in range(1, len(SYMBOLS) + 1)]
    + ["write:checkpoint:1"]
)


@pytest.mark.slow
@pytest.mark.parametrize("point", WRITE_POINTS)
def test_a_crash_at_any_write_point_ends_with_every_intended_order_placed_exactly_once(
    point: str, tmp_path: Path
) -> None:
    assert crash_in_child(tmp_path, point) == signal.SIGKILL
    events: list = []
    out = cycle(tmp_path, events)
    assert not out.errors
    ledger = tmp_path / "ledger.jsonl"
    assert verify_file(ledger).ok
    state = load_state(ledger)
    placed = book(tmp_path).orders
    live = [v for v in state.orders.values() if v.status != "abandoned"]
    assert sorted(placed) == sorted(v.client_order_id for v in live)  # nothing lost, nothing twice
    assert sorted(v.intent["symbol"] for v in live) == SYMBOLS
    assert all(v.committed for v in live)
    abandoned = [e for e in read_entries(ledger) if e["kind"] == "plan_abandoned"]
    torn_batch = point.startswith("write:intent:") and point != "write:intent:1" or point == "write:plan_commit:1"
    if torn_batch:  # the intents that reached the disk were recorded as abandoned, then planned again
        assert len(abandoned) == 1 and abandoned[0]["data"]["intents"]
        assert [e.kind for e in events if e.kind == "plan_abandoned"] == ["plan_abandoned"]
    else:
        assert abandoned == []
    assert {s: p.qty for s, p in state.positions().items()} == {s: p.qty for s, p in book(tmp_path).positions().items()}


def test_intents_without_a_plan_commit_are_never_sent_and_the_session_is_planned_again(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    with open_writer(ledger) as w:  # a torn batch: two intents, no plan_commit
        w.append("run_start", {"session": DAY.isoformat()}, height=1)
        for s in SYMBOLS[:2]:
            w.append(
                "intent", intent_data(Order(s, "buy", 999, f"rf-torn-{s}", session=DAY, strategy="portfolio"), "paper")
            )
    events: list = []
    out = cycle(tmp_path, events)
    assert "rf-torn-AAA" not in book(tmp_path).orders and "rf-torn-BBB" not in book(tmp_path).orders
    assert sorted(o.symbol for o in out.orders) == SYMBOLS and not out.resumed
    assert len(book(tmp_path).orders) == len(SYMBOLS)
    risk = [e for e in events if e.kind == "plan_abandoned"]
    assert risk and risk[0].data["count"] == 2 and "no plan_commit record" in risk[0].body


def test_with_the_key_a_forged_intent_appended_after_the_checkpoint_is_not_acted_upon(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "test-ledger-key-not-real-0123456789")
    ledger = tmp_path / "ledger.jsonl"
    with open_journal(ledger) as journal:  # an earlier session, anchored
        journal.record("run_start", {"session": "2016-11-30"})
        journal.checkpoint()
    forged = intent_data(Order("EVIL", "buy", 5000, "rf-forged", session=DAY, strategy="portfolio"), "paper")
    with open_writer(ledger) as w:  # correct hashes, and a commit record with the right digest but no valid sig
        w.append("run_start", {"session": DAY.isoformat()}, height=2)
        w.append("intent", forged)
        w.append(
            "plan_commit", {**plan_commit_data(DAY.isoformat(), "portfolio", "paper", [forged], None), "sig": "0" * 64}
        )
    assert verify_file(ledger).ok  # the chain itself is intact
    events: list = []
    out = cycle(tmp_path, events)
    assert "rf-forged" not in book(tmp_path).orders
    assert "EVIL" not in {o.symbol for o in out.orders}
    assert load_state(ledger).orders["rf-forged"].status == "abandoned"
    alert = next(e for e in events if e.kind == "plan_abandoned")
    assert alert.level.name == "ERROR" and "signature does not match" in alert.body
