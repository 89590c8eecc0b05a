"""The built-in ``paper`` broker: a persistent simulated account.

Registered as plugin ``paper`` (pyproject entry point). The account itself —
orders remembered by client order id, fills at the next session's open with
slippage and commission from ``brokers.paper`` in broker.yaml, a state file
rebuilt from the ledger when missing — is the execution layer's
:class:`~regimeflex.execution.simulator.PaperBook`, which the backtest's
planner replay uses too, so paper trading and the replay fill alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from regimeflex.config.broker import PaperSettings
from regimeflex.hookspecs import hookimpl
from regimeflex.types import Account, BrokerContext, Fill, Order, OrderResult

__all__ = ["PaperSettings"]  # PaperBook and OPEN_STATUSES too, through __getattr__


def __getattr__(name: str) -> Any:
    """``PaperBook`` and ``OPEN_STATUSES`` load the simulated account (and pandas) on first use, so listing
    plugins or showing the config does not."""
    if name in ("PaperBook", "OPEN_STATUSES"):
        from regimeflex.execution import simulator

        return getattr(simulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def settings_model() -> type[BaseModel]:
    return PaperSettings


@hookimpl
def capabilities() -> dict[str, bool]:
    # supports_stops: accepts resting stop / trailing_stop sell orders and cancel_orders;
    # protects_entries: places each buy's protective stop itself when the buy fills (PaperBook)
    return {
        "supports_fractional": True,
        "supports_short": False,
        "persistent": True,
        "supports_stops": True,
        "protects_entries": True,
        "supports_take_profit": True,  # simulated on each session's bar (execution/stops.py)
        "supports_trailing_take_profit": True,
    }


@hookimpl
def execute_orders(orders: Sequence[Order], context: BrokerContext) -> list[OrderResult]:
    from regimeflex.execution.simulator import PaperBook

    book = PaperBook.load(context)
    book.apply_corporate_actions(book.pending_actions, context.session)  # the broker's split comes before orders
    results = []
    for order in orders:
        if context.kill_switch.engaged():
            break
        results.append(book.submit(order))
        book.save()  # each accepted order is durable before the next, like a real broker's
    return results


@hookimpl
def broker_account(context: BrokerContext) -> Account:
    """Read-only: the account is computed from the state file but never written back. A reader that
    saved (``regimeflex doctor`` racing a daily run) could overwrite the run's newer orders with
    its older copy; the processing it skips is redone identically by the next writing hook."""
    from regimeflex.execution.simulator import PaperBook

    book = PaperBook.load(context)
    book.process()
    return book.account()


@hookimpl
def broker_orders(client_order_ids: Sequence[str], context: BrokerContext) -> list[OrderResult]:
    from regimeflex.execution.simulator import OPEN_STATUSES, PaperBook

    book = PaperBook.load(context)
    book.process()
    book.save()
    if not client_order_ids:
        return [book.result(o) for o in book.orders.values() if o["status"] in OPEN_STATUSES]
    return [book.result(book.orders[c]) for c in client_order_ids if c in book.orders]


@hookimpl
def broker_fills(since: datetime | None, context: BrokerContext) -> list[Fill]:
    from regimeflex.execution.simulator import PaperBook

    book = PaperBook.load(context)
    book.process()
    book.save()
    fills = [book.fill(f) for f in book.fills]
    return [f for f in fills if since is None or f.ts is None or f.ts >= since]


@hookimpl
def cancel_open_orders(context: BrokerContext) -> list[OrderResult]:
    from regimeflex.execution.simulator import OPEN_STATUSES, PaperBook

    book = PaperBook.load(context)
    out = []
    for order in book.orders.values():
        if order["status"] in OPEN_STATUSES:
            order["status"] = "canceled"
            out.append(book.result(order))
    book.save()
    return out


@hookimpl
def cancel_orders(client_order_ids: Sequence[str], context: BrokerContext) -> list[OrderResult]:
    from regimeflex.execution.simulator import OPEN_STATUSES, PaperBook

    book = PaperBook.load(context)
    book.process()
    out = []
    for coid in client_order_ids:
        order = book.orders.get(coid)
        if order is None:
            continue
        if order["status"] in OPEN_STATUSES:
            order["status"] = "canceled"
        out.append(book.result(order))
    book.save()
    return out
