"""Protective stops at a broker that takes stop orders but does not place them itself (Alpaca).

Owns the run's stop orders for a broker declaring the ``supports_stops`` capability without
``protects_entries`` (the paper broker places its own; see :mod:`regimeflex.execution.simulator`):

* once a protected buy (an intent with ``protect``) has fills, the symbol's held quantity gets one
  GTC sell order: ``stop`` at *the entry's average fill price − distance*, or ``trailing_stop`` with
  ``trail_price = distance`` for a trailing stop;
* with a take-profit (risk.yaml ``stops.take_profit_pct``) at a broker declaring
  ``supports_take_profit``, that order is one-cancels-other instead: the ``stop`` order carries
  ``take_profit_price`` = *average fill price + take-profit distance* (Alpaca: ``order_class: oco``,
  a limit sell at the take-profit and the stop as its other leg). A broker without the capability
  gets the stop alone and the run says so (the pre-flight refuses that configuration:
  :func:`regimeflex.config.risk.require_stops_supported`);
* each stop order is an ``intent`` (strategy ``stops``) with its own ``plan_commit``, written
  before it is sent, then sent through the same path as the plan's orders — so a crash or rerun
  looks it up by its client order id and never sends it twice. The id is deterministic:
  ``stop-<session>-<10 hex of sha256(entry id, leg number)>`` (the leg number counts the entry's
  earlier stop orders), and starts with ``stop-`` like every stop-out
  (:data:`regimeflex.execution.stops.STOP_PREFIX`, the re-entry cooldown reads it);
* before a planned sell of a symbol, its working stop order is canceled (``cancel_orders``) so
  the shares it holds are free; afterwards a new stop order covers what is still held;
* a stop that filled between runs is an ordinary broker fill of a known order: the next sync
  writes it to the ledger as a ``fill`` and reconcile stays matched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from regimeflex.execution.reconcile import result_data
from regimeflex.execution.stops import STOP_PREFIX
from regimeflex.ledger.anchor import ledger_key, plan_commit_data
from regimeflex.ledger.journal import Journal
from regimeflex.ledger.views import TERMINAL_STATUSES, OrderView
from regimeflex.log import get_logger
from regimeflex.types import BrokerContext, Event, Level, Order

if TYPE_CHECKING:
    from regimeflex.plugins.protocols import BrokerHost

log = get_logger("execution.protect")

#: the ``strategy`` of stop-order intents (kept apart from the plan's orders of the session)
STOPS_STRATEGY = "stops"


def places_stop_orders(capabilities: dict[str, bool]) -> bool:
    """Whether the run places protective stop orders at this broker (it takes them, and does not
    place a buy's stop itself)."""
    return bool(capabilities.get("supports_stops")) and not capabilities.get("protects_entries")


def stop_leg_id(session: date, entry: str, leg: int) -> str:
    """The deterministic client order id of an entry's ``leg``-th stop order (≤ 48 characters)."""
    digest = hashlib.sha256(f"{entry}|{leg}".encode()).hexdigest()[:10]
    return f"{STOP_PREFIX}{session:%Y%m%d}-{digest}"


def _legs(journal: Journal) -> list[OrderView]:
    return [v for v in journal.state.orders.values() if v.intent.get("strategy") == STOPS_STRATEGY]


def working_legs(journal: Journal, symbols: Sequence[str] | None = None) -> list[OrderView]:
    """Stop orders sent (or about to be) and not finished, optionally only for ``symbols``."""
    return [
        v
        for v in _legs(journal)
        if v.status not in TERMINAL_STATUSES
        and v.status != "abandoned"
        and (symbols is None or v.intent.get("symbol") in symbols)
    ]


def _latest_protected_entries(journal: Journal) -> dict[str, OrderView]:
    """symbol → its latest protected buy with fills (by ledger height)."""
    out: dict[str, OrderView] = {}
    for view in journal.state.orders.values():
        if view.intent.get("side") != "buy" or not view.intent.get("protect") or view.filled_qty <= 0:
            continue
        sym = str(view.intent["symbol"])
        if sym not in out or view.height > out[sym].height:
            out[sym] = view
    return out


def _avg_fill_price(journal: Journal, coid: str) -> float | None:
    fills = [f for f in journal.state.fills.values() if f.get("client_order_id") == coid]
    qty = sum(float(f["qty"]) for f in fills)
    return sum(float(f["qty"]) * float(f["price"]) for f in fills) / qty if qty else None


def wanted_legs(
    journal: Journal, session: date, mode: str, *, take_profit: bool = False
) -> tuple[list[Order], list[OrderView], list[str]]:
    """``(stop orders to place, working ones to cancel first, notes)`` for the ledger's positions.

    ``take_profit``: the broker takes one-cancels-other exits (``supports_take_profit``)."""
    held = {s: p.qty for s, p in journal.state.positions().items() if p.qty > 0}
    working = {str(v.intent["symbol"]): v for v in working_legs(journal)}
    place: list[Order] = []
    replace: list[OrderView] = []
    notes: list[str] = []
    for sym, entry in sorted(_latest_protected_entries(journal).items()):
        if entry.mode != mode:
            continue
        qty = held.get(sym, 0.0)
        leg = working.get(sym)
        if leg is not None and leg.intent.get("entry") == entry.client_order_id and abs(leg.qty - qty) < 1e-9:
            continue  # the position is covered
        if leg is not None:
            replace.append(leg)
        if qty <= 0:
            continue
        price = _avg_fill_price(journal, entry.client_order_id)
        protect = entry.intent["protect"]
        distance = float(protect["distance"])
        if price is None:
            continue
        trailing = bool(protect.get("trailing"))
        tp = protect.get("take_profit")
        oco = bool(tp) and take_profit and not trailing
        if tp and not oco:
            notes.append(f"stops: {sym} take-profit not placed at the broker (its stop order is)")
        n = sum(1 for v in _legs(journal) if v.intent.get("entry") == entry.client_order_id)
        place.append(
            Order(
                symbol=sym,
                side="sell",
                qty=qty,
                client_order_id=stop_leg_id(session, entry.client_order_id, n),
                type="trailing_stop" if trailing else "stop",
                stop_price=None if trailing else round(price - distance, 2),
                trail_price=round(distance, 2) if trailing else None,
                take_profit_price=round(price + float(tp), 2) if oco else None,
                time_in_force="gtc",
                reference_price=round(price, 6),
                strategy=STOPS_STRATEGY,
                session=session,
            )
        )
    return place, replace, notes


def cancel_legs(
    journal: Journal, host: BrokerHost, broker: str, context: BrokerContext, legs: Sequence[OrderView], why: str
) -> list[str]:
    """Cancel these stop orders at the broker (one ``cancel`` entry each); returns the canceled ids.
    Legs never sent are marked canceled in the ledger only."""
    sent = [v.client_order_id for v in legs if v.sent]
    canceled: list[str] = []
    if sent:
        for result in host.cancel_orders(broker, client_order_ids=sent, context=context):
            journal.record("cancel", {**result_data(result), "source": why})
            if result.status == "canceled":
                canceled.append(result.client_order_id)
    for view in legs:
        if not view.sent:
            journal.record(
                "order_update",
                {"client_order_id": view.client_order_id, "status": "canceled", "source": why, "message": why},
            )
            canceled.append(view.client_order_id)
    return canceled


def protect_positions(
    journal: Journal,
    host: BrokerHost,
    broker: str,
    context: BrokerContext,
    *,
    session: date,
    mode: str,
    emit: Callable[[Event], None],
) -> list[Any]:
    """Place (and replace) the stop orders the ledger's protected positions need; the results sent.

    Nothing is placed while the kill switch is engaged (``context.kill_switch``)."""
    from regimeflex.execution.session import intent_data

    if context.kill_switch.engaged():
        return []
    take_profit = bool(host.capabilities(broker).get("supports_take_profit"))
    place, replace, notes = wanted_legs(journal, session, mode, take_profit=take_profit)
    for note in notes:
        log.risk("%s", note)
    if replace:
        cancel_legs(journal, host, broker, context, replace, "stop replaced (position changed)")
    if place:
        fresh = [o for o in place if o.client_order_id not in journal.state.orders]
        intents = [intent_data(o, mode) | {"entry": _entry_of(journal, o)} for o in fresh]
        for data in intents:
            journal.append("intent", data)
        if intents:
            journal.append(
                "plan_commit", plan_commit_data(session.isoformat(), STOPS_STRATEGY, mode, intents, ledger_key())
            )
            journal.commit()
    results = []
    for order in place:
        view = journal.state.orders[order.client_order_id]
        if view.status not in ("planned", "unknown") or not view.committed:
            continue
        if context.kill_switch.engaged():
            break
        journal.record("order_sent", {"client_order_id": order.client_order_id})
        for result in host.execute_orders(broker, orders=[order], context=context):
            journal.record("order_ack", result_data(result))
            results.append(result)
            level = Level.RISK if result.status == "rejected" else Level.INFO
            log.info(
                "stops: %s %s %g at %s%s → %s",
                order.type,
                order.symbol,
                order.qty,
                order.stop_price or f"trail {order.trail_price}",
                f", take-profit {order.take_profit_price}" if order.take_profit_price else "",
                result.status,
            )
            if result.status == "rejected":
                emit(
                    Event(
                        kind="stop_rejected",
                        level=level,
                        title=f"Protective stop rejected: {order.symbol}",
                        body=result.message,
                        data=result_data(result),
                    )
                )
    return results


def _entry_of(journal: Journal, order: Order) -> str:
    entries = _latest_protected_entries(journal)
    return entries[order.symbol].client_order_id
