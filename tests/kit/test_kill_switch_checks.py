"""The kit's kill-switch checks: a broker that retries through the guard passes; one that sleeps
where the switch cannot interrupt it, or keeps retrying after the switch, fails by name."""

from __future__ import annotations

import time

import pytest

from regimeflex.errors import KillSwitchEngaged
from regimeflex.hookspecs import hookimpl
from regimeflex.testing import PluginUnderTest, get_check, load_subject
from regimeflex.testing.subject import CheckFailure
from regimeflex.types import OrderResult

CHECK = "broker.kill_switch_stops_retries/v1"


class FlakyBroker:
    """An in-memory broker whose first send of every order fails (a 503 that placed nothing);
    it waits, then resends. ``wait`` decides how it waits between attempts."""

    def __init__(self) -> None:
        self.books: dict[str, dict[str, OrderResult]] = {}
        self.attempts: dict[str, int] = {}

    def wait(self, context, seconds: float) -> None:
        context.kill_switch.wait(seconds, "resend")

    def _book(self, context) -> dict[str, OrderResult]:
        return self.books.setdefault(str(context.state_dir), {})

    @hookimpl
    def execute_orders(self, orders, context):
        book, results = self._book(context), []
        for order in orders:
            if context.kill_switch.engaged():
                break
            while order.client_order_id not in book:
                context.kill_switch.check(order.client_order_id)
                self.attempts[order.client_order_id] = self.attempts.get(order.client_order_id, 0) + 1
                if self.attempts[order.client_order_id] > 1:  # the resend goes through
                    book[order.client_order_id] = OrderResult(
                        order.client_order_id, "accepted", order.symbol, order.side, order.qty
                    )
                else:
                    self.wait(context, 0.5)
            results.append(book[order.client_order_id])
        return results

    @hookimpl
    def broker_orders(self, client_order_ids, context):
        book = self._book(context)
        return [book[c] for c in client_order_ids if c in book]

    @hookimpl
    def broker_account(self, context):
        return None

    @hookimpl
    def broker_fills(self, since, context):
        return []

    @hookimpl
    def cancel_open_orders(self, context):
        return []


class SleepingBroker(FlakyBroker):
    """Waits with time.sleep: the kill switch cannot cut the wait short."""

    def wait(self, context, seconds: float) -> None:
        time.sleep(seconds)


class StubbornBroker(FlakyBroker):
    """Looks at the switch, but swallows KillSwitchEngaged and resends anyway."""

    def wait(self, context, seconds: float) -> None:
        try:
            context.kill_switch.wait(seconds, "resend")
        except KillSwitchEngaged:
            pass

    @hookimpl
    def execute_orders(self, orders, context):
        book, results = self._book(context), []
        for order in orders:
            while order.client_order_id not in book:
                self.attempts[order.client_order_id] = self.attempts.get(order.client_order_id, 0) + 1
                if self.attempts[order.client_order_id] > 1:
                    book[order.client_order_id] = OrderResult(
                        order.client_order_id, "accepted", order.symbol, order.side, order.qty
                    )
                else:
                    self.wait(context, 0.5)
            results.append(book[order.client_order_id])
        return results


def run(plugin: object) -> None:
    get_check(CHECK)(load_subject(PluginUnderTest(plugin, name=type(plugin).__name__)))


def test_a_broker_that_waits_through_the_guard_passes_the_kill_switch_retry_check() -> None:
    run(FlakyBroker())


def test_a_broker_that_sleeps_between_retries_fails_naming_time_sleep() -> None:
    with pytest.raises(CheckFailure) as err:
        run(SleepingBroker())
    assert str(err.value).startswith(f"{CHECK}: execute_orders slept 1s with time.sleep")


def test_a_broker_that_resends_after_the_switch_is_engaged_fails_naming_the_order() -> None:
    with pytest.raises(CheckFailure) as err:
        run(StubbornBroker())
    assert "engaged at the broker's look #1 at it, yet afterwards it placed ['kit-ks1-1', 'kit-ks1-2']" in str(
        err.value
    )


def test_the_built_in_paper_broker_passes_the_kill_switch_retry_check() -> None:
    get_check(CHECK)(load_subject("paper"))
