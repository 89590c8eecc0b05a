"""The broker checks: one result per order, idempotent client order ids, the kill switch, account, fills, cancels."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.errors import KillSwitchEngaged
from regimeflex.killguard import KillGuard
from regimeflex.testing.checks.registry import _register
from regimeflex.testing.sample import sample_bars
from regimeflex.testing.subject import CheckFailure, Subject
from regimeflex.types import (
    Account,
    BrokerContext,
    Fill,
    Order,
    OrderResult,
)

_LIVE_STATUSES = {"new", "accepted", "partially_filled", "filled"}


class _BrokerRun:
    """A fresh state directory and context per check, so checks never see each other's orders."""

    def __init__(self, subject: Subject, *, killed: bool = False, guard: KillGuard | None = None) -> None:
        self.subject = subject
        self._tmp = tempfile.TemporaryDirectory(prefix="regimeflex-kit-")
        self.prices = sample_bars()
        self.session = self.prices.index[-2].date()
        self.guard = guard or KillGuard(lambda: killed, where="kit kill switch")
        self.context = self.with_guard(self.guard)

    def with_guard(self, guard: KillGuard) -> BrokerContext:
        """This run's context (same state directory) with another kill-switch guard."""
        return BrokerContext(
            mode="paper",
            session=self.session,
            settings=self.subject.params,
            state_dir=Path(self._tmp.name),
            prices=self.prices,
            kill_switch=guard,
        )

    def orders(self, tag: str, qty: float = 10.0) -> list[Order]:
        close = self.prices["close"].loc[pd.Timestamp(self.session)]
        return [
            Order(
                symbol=sym,
                side="buy",
                qty=qty,
                client_order_id=f"kit-{tag}-{i}",
                reference_price=float(close[sym]),
                strategy="kit",
                session=self.session,
            )
            for i, sym in enumerate(("AAPL", "JPM"), start=1)
        ]

    def call(self, hook: str, **kwargs: Any) -> Any:
        return self.subject.call(hook, context=self.context, **kwargs)

    def __enter__(self) -> _BrokerRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


def _results(out: Any, hook: str) -> list[OrderResult]:
    if not isinstance(out, list) or not all(isinstance(r, OrderResult) for r in out):
        raise CheckFailure(f"{hook} must return a list of OrderResult, got {type(out).__name__}")
    return out


def _broker_empty_orders(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        out = _results(run.call("execute_orders", orders=[]), "execute_orders")
        if out:
            raise CheckFailure(f"execute_orders([]) returned {len(out)} result(s); expected none")


def _broker_one_result_per_order(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        orders = run.orders("one")
        out = _results(run.call("execute_orders", orders=orders), "execute_orders")
        sent = [o.client_order_id for o in orders]
        got = [r.client_order_id for r in out]
        if got != sent:
            raise CheckFailure(
                f"execute_orders must return one result per order in order with the "
                f"client_order_id passed through; sent {sent}, got {got}"
            )


def _broker_duplicate_client_order_id(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        orders = run.orders("dup")
        run.call("execute_orders", orders=orders)
        run.call("execute_orders", orders=orders)
        ids = [o.client_order_id for o in orders]
        known = _results(run.call("broker_orders", client_order_ids=ids), "broker_orders")
        counts = {i: sum(r.client_order_id == i for r in known) for i in ids}
        wrong = {i: n for i, n in counts.items() if n != 1}
        if wrong:
            raise CheckFailure(
                f"after sending the same orders twice, broker_orders(ids) must know each "
                f"client_order_id exactly once; counts {wrong} (a resend placed a "
                f"duplicate, or broker_orders cannot find sent orders)"
            )


def _broker_kill_switch(subject: Subject) -> None:
    with _BrokerRun(subject, killed=True) as run:
        orders = run.orders("killed")
        try:
            out = _results(run.call("execute_orders", orders=orders), "execute_orders")
        except KillSwitchEngaged:
            out = []
        live = [r.client_order_id for r in out if r.status in _LIVE_STATUSES]
        known = _results(
            run.subject.call(
                "broker_orders",
                client_order_ids=[o.client_order_id for o in orders],
                context=run.with_guard(KillGuard.never()),
            ),
            "broker_orders",
        )
        if live or known:
            raise CheckFailure(
                f"context.kill_switch was engaged, yet orders were placed: "
                f"{live or [r.client_order_id for r in known]}; check it before each submission"
            )


class _EngageAt:
    """A kill switch that engages when the broker looks at it for the ``n``-th time, and at that
    moment asks the broker (through an unguarded context) which of the orders it already knows."""

    def __init__(self, run: _BrokerRun, ids: list[str], n: int) -> None:
        self.run, self.ids, self.n = run, ids, n
        self.looks = 0
        self.known_at_engage: set[str] | None = None

    def __call__(self) -> bool:
        self.looks += 1
        if self.looks < self.n:
            return False
        if self.known_at_engage is None:
            found = self.run.subject.call(
                "broker_orders", client_order_ids=self.ids, context=self.run.with_guard(KillGuard.never())
            )
            self.known_at_engage = {r.client_order_id for r in _results(found, "broker_orders")}
        return True


#: the most engage points the check tries (a broker that looks at the switch more often is cut off here)
_MAX_ENGAGE_POINTS = 25


def _instant_guard(probe: Callable[[], bool]) -> KillGuard:
    """A guard on a simulated clock: its waits (backoff, Retry-After) take no real time."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    return KillGuard(probe, where="kit kill switch", sleep=sleep, clock=lambda: now[0])


@contextlib.contextmanager
def _sleeps_outside_the_guard() -> Iterator[list[float]]:
    """Record every ``time.sleep`` made by this thread (other threads, e.g. a local server, sleep as usual)."""
    real, me, slept = time.sleep, threading.get_ident(), []

    def sleep(seconds: float) -> None:
        if threading.get_ident() == me:
            slept.append(float(seconds))
        else:
            real(seconds)

    time.sleep = sleep  # type: ignore[assignment]  # recording stand-in
    try:
        yield slept
    finally:
        time.sleep = real


def _broker_kill_switch_stops_retries(subject: Subject) -> None:
    # how often does the broker look at the switch while placing two orders, and does it ever
    # wait in a way the switch cannot interrupt?
    with _BrokerRun(subject, guard=_instant_guard(lambda: False)) as clean, _sleeps_outside_the_guard() as slept:
        orders = clean.orders("ks0")
        _results(clean.call("execute_orders", orders=orders), "execute_orders")
        looks = clean.guard.consulted
    if any(s > 0 for s in slept):
        raise CheckFailure(
            f"execute_orders slept {sum(slept):g}s with time.sleep, which the kill switch cannot interrupt; "
            "wait with context.kill_switch.wait(seconds) (or a session from regimeflex.api.make_session "
            "with guard=context.kill_switch)"
        )
    if looks < len(orders):
        raise CheckFailure(
            f"execute_orders looked at context.kill_switch {looks} time(s) for {len(orders)} orders; "
            "check it before every request (context.kill_switch.check()) and wait only with "
            "context.kill_switch.wait()"
        )
    for n in range(1, min(looks, _MAX_ENGAGE_POINTS) + 1):
        with _BrokerRun(subject) as run:
            orders = run.orders(f"ks{n}")  # fresh ids per run: a broker's books may outlive the run
            ids = [o.client_order_id for o in orders]
            switch = _EngageAt(run, ids, n)
            run.guard = _instant_guard(switch)
            run.context = run.with_guard(run.guard)
            try:
                run.call("execute_orders", orders=orders)
            except KillSwitchEngaged:
                pass
            if switch.known_at_engage is None:
                continue  # this run looked fewer times (e.g. no retry was needed): nothing engaged
            unguarded = run.with_guard(KillGuard.never())
            after = _results(
                run.subject.call("broker_orders", client_order_ids=ids, context=unguarded), "broker_orders"
            )
            placed_after = sorted({r.client_order_id for r in after} - switch.known_at_engage)
            if placed_after:
                raise CheckFailure(
                    f"the kill switch was engaged at the broker's look #{n} at it, yet afterwards it placed "
                    f"{placed_after}; after engage nothing may be sent (check before every request, "
                    "every retry and lookup, and wait only with context.kill_switch.wait())"
                )


def _broker_unknown_id_absent(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        out = _results(run.call("broker_orders", client_order_ids=["kit-never-sent"]), "broker_orders")
        if out:
            raise CheckFailure(
                f"broker_orders(['kit-never-sent']) returned {len(out)} result(s); unknown ids must be absent"
            )


def _broker_account(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        out = run.call("broker_account")
        if out is not None and not isinstance(out, Account):
            raise CheckFailure(f"broker_account must return an Account or None, got {type(out).__name__}")
        if out is not None and not np.isfinite([out.equity, out.cash, out.buying_power]).all():
            raise CheckFailure(
                f"broker_account returned non-finite figures: equity={out.equity}, "
                f"cash={out.cash}, buying_power={out.buying_power}"
            )


def _broker_fills(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        orders = run.orders("fills")
        run.call("execute_orders", orders=orders)
        fills = run.call("broker_fills", since=None)
        if not isinstance(fills, list) or not all(isinstance(f, Fill) for f in fills):
            raise CheckFailure(f"broker_fills must return a list of Fill, got {type(fills).__name__}")
        ids = [f.fill_id for f in fills]
        if len(ids) != len(set(ids)):
            raise CheckFailure(f"broker_fills returned duplicate fill_id values: {sorted(ids)}")
        sent = {o.client_order_id for o in orders}
        stray = [f.client_order_id for f in fills if f.client_order_id not in sent]
        if stray:
            raise CheckFailure(f"broker_fills returned fills for orders never sent: {stray}")


def _broker_cancel_open_orders(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        run.call("execute_orders", orders=run.orders("cancel"))
        _results(run.call("cancel_open_orders"), "cancel_open_orders")


def _broker_fractional_qty(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        orders = run.orders("frac", qty=0.5)
        out = _results(run.call("execute_orders", orders=orders), "execute_orders")
        rejected = [f"{r.client_order_id}: {r.message}" for r in out if r.status == "rejected"]
        if rejected:
            raise CheckFailure(f"declares supports_fractional=True but rejected a 0.5-share order: {rejected}")


def _broker_stop_round_trip(subject: Subject) -> None:
    """Buy, place a resting sell stop below the price, see it open, cancel it, see it gone."""
    with _BrokerRun(subject) as run:
        buy = run.orders("stopbuy")[0]
        if _results(run.call("execute_orders", orders=[buy]), "execute_orders")[0].status == "rejected":
            raise CheckFailure(f"the {buy.qty:g}-share buy the stop protects was rejected")
        run.call("broker_orders", client_order_ids=[buy.client_order_id])  # a simulated broker fills it here
        price = float(buy.reference_price or 0.0)
        stop = Order(
            symbol=buy.symbol,
            side="sell",
            qty=buy.qty,
            client_order_id="kit-stop-1",
            type="stop",
            stop_price=round(price * 0.5, 2),  # far below: it must not trigger during the check
            time_in_force="gtc",
            reference_price=price,
            strategy="kit",
            session=run.session,
        )
        placed = _results(run.call("execute_orders", orders=[stop]), "execute_orders")
        if len(placed) != 1 or placed[0].status == "rejected":
            raise CheckFailure(f"a stop sell order was not accepted: {placed}")
        seen = _results(run.call("broker_orders", client_order_ids=[]), "broker_orders")
        if not any(r.client_order_id == "kit-stop-1" and r.status in ("new", "accepted") for r in seen):
            raise CheckFailure(f"the stop order is not among the open orders: {[r.client_order_id for r in seen]}")
        canceled = _results(run.call("cancel_orders", client_order_ids=["kit-stop-1"]), "cancel_orders")
        if [r.status for r in canceled if r.client_order_id == "kit-stop-1"] != ["canceled"]:
            raise CheckFailure(f"cancel_orders(['kit-stop-1']) must answer it canceled, got {canceled}")
        after = _results(run.call("broker_orders", client_order_ids=[]), "broker_orders")
        if any(r.client_order_id == "kit-stop-1" for r in after):
            raise CheckFailure("the canceled stop order is still among the open orders")


def _broker_take_profit_round_trip(subject: Subject) -> None:
    """Buy, place a one-cancels-other exit (a stop far below, a take-profit far above), see it open as
    one order under its own client id, cancel it, see nothing of it left open."""
    with _BrokerRun(subject) as run:
        buy = run.orders("tpbuy")[0]
        if _results(run.call("execute_orders", orders=[buy]), "execute_orders")[0].status == "rejected":
            raise CheckFailure(f"the {buy.qty:g}-share buy the exit protects was rejected")
        run.call("broker_orders", client_order_ids=[buy.client_order_id])  # a simulated broker fills it here
        before = {r.client_order_id for r in _results(run.call("broker_orders", client_order_ids=[]), "broker_orders")}
        price = float(buy.reference_price or 0.0)
        exit_order = Order(
            symbol=buy.symbol,
            side="sell",
            qty=buy.qty,
            client_order_id="kit-oco-1",
            type="stop",
            stop_price=round(price * 0.5, 2),  # far below and far above: neither may trigger during the check
            take_profit_price=round(price * 2.0, 2),
            time_in_force="gtc",
            reference_price=price,
            strategy="kit",
            session=run.session,
        )
        placed = _results(run.call("execute_orders", orders=[exit_order]), "execute_orders")
        if len(placed) != 1 or placed[0].status == "rejected":
            raise CheckFailure(f"a stop with a take-profit (one-cancels-other exit) was not accepted: {placed}")
        seen = _results(run.call("broker_orders", client_order_ids=[]), "broker_orders")
        fresh = sorted({r.client_order_id for r in seen} - before)
        if fresh != ["kit-oco-1"] or not any(
            r.status in ("new", "accepted") for r in seen if r.client_order_id in fresh
        ):
            raise CheckFailure(
                f"the exit must be open as one order 'kit-oco-1' (its other leg never a separate order), new open "
                f"orders: {fresh}"
            )
        canceled = _results(run.call("cancel_orders", client_order_ids=["kit-oco-1"]), "cancel_orders")
        if [r.status for r in canceled if r.client_order_id == "kit-oco-1"] != ["canceled"]:
            raise CheckFailure(f"cancel_orders(['kit-oco-1']) must answer it canceled, got {canceled}")
        after = _results(run.call("broker_orders", client_order_ids=[]), "broker_orders")
        if left := sorted({r.client_order_id for r in after} - before):
            raise CheckFailure(f"after canceling the exit, orders of it are still open: {left}")


_register("broker.empty_orders/v1", _broker_empty_orders, "no orders in → no results, no error")
_register(
    "broker.one_result_per_order/v1",
    _broker_one_result_per_order,
    "one OrderResult per order, in order, client_order_id passed through",
)
_register(
    "broker.duplicate_client_order_id/v1",
    _broker_duplicate_client_order_id,
    "resending the same client_order_id never places a second order",
)
_register("broker.kill_switch/v1", _broker_kill_switch, "nothing is placed while context.kill_switch is engaged")
_register(
    "broker.kill_switch_stops_retries/v1",
    _broker_kill_switch_stops_retries,
    "engaged at any point of execute_orders (before a send, a retry, a lookup, during a wait), "
    "no order is placed after it",
)
_register("broker.unknown_id_absent/v1", _broker_unknown_id_absent, "broker_orders omits ids it never saw")
_register("broker.account/v1", _broker_account, "broker_account returns an Account with finite figures, or None")
_register("broker.fills/v1", _broker_fills, "fills have unique fill_id values and belong to sent orders")
_register("broker.cancel_open_orders/v1", _broker_cancel_open_orders, "cancel_open_orders returns a list of results")
_register(
    "broker.fractional_qty/v1",
    _broker_fractional_qty,
    "with supports_fractional, a 0.5-share order is not rejected",
    {"supports_fractional": True},
)
_register(
    "broker.stop_round_trip/v1",
    _broker_stop_round_trip,
    "with supports_stops, a resting stop sell order is placed, shows open, is canceled by cancel_orders and is gone",
    {"supports_stops": True},
)
_register(
    "broker.take_profit_round_trip/v1",
    _broker_take_profit_round_trip,
    "with supports_take_profit (and the run placing exits: no protects_entries), a stop with a take-profit is "
    "placed as one open order, is canceled by cancel_orders and nothing of it stays open",
    {"supports_take_profit": True, "protects_entries": False},
)
