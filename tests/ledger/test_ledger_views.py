"""Views derived from the ledger: positions, fills, open intents, breakers, heights."""

from __future__ import annotations

from pathlib import Path

import pytest

from regimeflex.ledger import load_state, open_writer, positions_from_fills
from regimeflex.types import Position


def fill(fid: str, symbol: str, side: str, qty: float, price: float, coid: str = "c1") -> dict:
    return {"fill_id": fid, "client_order_id": coid, "symbol": symbol, "side": side, "qty": qty, "price": price}


def intent(coid: str, session: str = "2024-01-02", mode: str = "paper", strategy: str = "trend") -> dict:
    return {
        "client_order_id": coid,
        "symbol": "SPY",
        "side": "buy",
        "qty": 10,
        "session": session,
        "mode": mode,
        "strategy": strategy,
    }


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.jsonl"


def test_adds_average_the_cost() -> None:
    got = positions_from_fills([fill("1", "SPY", "buy", 10, 100), fill("2", "SPY", "buy", 10, 110)])
    assert got == {"SPY": Position("SPY", 20, 105)}


def test_reductions_keep_the_average_cost() -> None:
    got = positions_from_fills([fill("1", "SPY", "buy", 10, 100), fill("2", "SPY", "sell", 4, 130)])
    assert got == {"SPY": Position("SPY", 6, 100)}


def test_a_flip_resets_the_average_cost_to_the_fill_price() -> None:
    got = positions_from_fills([fill("1", "SPY", "buy", 10, 100), fill("2", "SPY", "sell", 15, 90)])
    assert got == {"SPY": Position("SPY", -5, 90)}


def test_closed_positions_disappear() -> None:
    assert (
        positions_from_fills(
            [fill("1", "SPY", "buy", 0.1, 100), fill("2", "SPY", "buy", 0.2, 100), fill("3", "SPY", "sell", 0.3, 101)]
        )
        == {}
    )


def test_a_fill_recorded_twice_counts_once(path: Path) -> None:
    with open_writer(path) as w:
        w.append("intent", intent("c1"))
        w.append("fill", fill("f1", "SPY", "buy", 10, 100))
        w.append("fill", fill("f1", "SPY", "buy", 10, 100))
    state = load_state(path)
    assert state.positions()["SPY"].qty == 10
    assert state.orders["c1"].filled_qty == 10


def test_open_orders_exclude_final_statuses_and_dry_runs(path: Path) -> None:
    with open_writer(path) as w:
        for coid in ("open", "filled", "rejected"):
            w.append("intent", intent(coid))
        w.append("intent", intent("dry", mode="dry_run"))
        w.append("order_ack", {"client_order_id": "filled", "status": "filled", "broker_order_id": "b1"})
        w.append("order_ack", {"client_order_id": "rejected", "status": "rejected", "message": "no"})
        w.append("order_ack", {"client_order_id": "open", "status": "accepted", "broker_order_id": "b2"})
    state = load_state(path)
    assert [o.client_order_id for o in state.open_orders()] == ["open"]
    assert state.orders["open"].broker_order_id == "b2"


def test_an_intent_never_acked_is_open(path: Path) -> None:
    with open_writer(path) as w:
        w.append("intent", intent("c1"))
        w.append("order_sent", {"client_order_id": "c1"})
    state = load_state(path)
    assert [(o.client_order_id, o.sent, o.status) for o in state.open_orders()] == [("c1", True, "planned")]


def test_orders_for_a_session_and_strategy(path: Path) -> None:
    with open_writer(path) as w:
        w.append("intent", intent("a", session="2024-01-02"))
        w.append("intent", intent("b", session="2024-01-03"))
        w.append("intent", intent("c", session="2024-01-03", strategy="meanrev"))
    state = load_state(path)
    assert [o.client_order_id for o in state.orders_for("2024-01-03", "trend")] == ["b"]


def test_height_stays_on_a_rerun_and_grows_on_a_new_session(path: Path) -> None:
    state = load_state(path)
    assert state.height_for("2024-01-02") == 1
    with open_writer(path) as w:
        w.append("run_start", {"session": "2024-01-02"}, height=1)
    state = load_state(path)
    assert (state.height_for("2024-01-02"), state.height_for("2024-01-03")) == (1, 2)


def test_latest_breaker_entry_wins(path: Path) -> None:
    with open_writer(path) as w:
        w.append("breaker", {"name": "max_drawdown", "state": "tripped", "value": 0.21})
        w.append("breaker", {"name": "daily_loss", "state": "tripped"})
        w.append("breaker", {"name": "daily_loss", "state": "reset"})
    assert list(load_state(path).tripped_breakers()) == ["max_drawdown"]


def test_a_filled_order_whose_fills_are_missing_stays_open(path: Path) -> None:
    with open_writer(path) as w:
        w.append("intent", intent("c1"))
        w.append("order_ack", {"client_order_id": "c1", "status": "filled", "filled_qty": 10})
    assert [o.client_order_id for o in load_state(path).open_orders()] == ["c1"]
    with open_writer(path) as w:
        w.append("fill", fill("f1", "SPY", "buy", 10, 100))
    assert load_state(path).open_orders() == []


def test_a_real_intent_supersedes_a_dry_run_intent_with_the_same_id(path: Path) -> None:
    with open_writer(path) as w:
        w.append("intent", intent("c1", mode="dry_run"))
        w.append("intent", intent("c1", mode="paper"))
        w.append("intent", intent("c1", mode="dry_run"))
    assert load_state(path).orders["c1"].mode == "paper"
