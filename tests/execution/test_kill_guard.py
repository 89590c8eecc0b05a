"""The kill switch as a contract of the core: KillGuard's checks and interruptible waits, HTTP
sessions that refuse to send once it is engaged, and a session that calls no broker hook after it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from werkzeug import Response

from regimeflex.errors import EXIT_KILLED, KillSwitchEngaged
from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.session import execute_session
from regimeflex.http import RetryPolicy, make_session, request_json
from regimeflex.killguard import POLL_SECONDS, KillGuard

DEC1, DEC2, DEC5 = date(2016, 12, 1), date(2016, 12, 2), date(2016, 12, 5)


class SimulatedTime:
    def __init__(self, on_sleep=lambda: None) -> None:
        self.now, self.slept, self.on_sleep = 0.0, [], on_sleep

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.on_sleep()

    def clock(self) -> float:
        return self.now


def guard_on(flag: KillSwitch, time: SimulatedTime) -> KillGuard:
    return KillGuard(flag.engaged, where=str(flag.path), sleep=time.sleep, clock=time.clock)


@pytest.fixture
def flag(tmp_path: Path) -> KillSwitch:
    return KillSwitch(tmp_path / "kill_switch.flag")


def test_a_wait_with_the_switch_off_lasts_its_full_time_in_poll_steps(flag) -> None:
    time = SimulatedTime()
    guard_on(flag, time).wait(0.2)
    assert time.now == pytest.approx(0.2) and len(time.slept) == round(0.2 / POLL_SECONDS)


def test_a_wait_ends_at_the_first_poll_after_the_switch_is_engaged(flag) -> None:
    time = SimulatedTime(on_sleep=lambda: flag.engage("stop"))
    with pytest.raises(KillSwitchEngaged) as err:
        guard_on(flag, time).wait(30.0, "order rf-1")
    assert time.slept == [POLL_SECONDS]
    assert str(err.value) == f"kill switch engaged ({flag.path}): order rf-1 not sent"


def test_check_raises_once_engaged_and_stays_engaged_when_the_flag_is_removed_mid_run(flag) -> None:
    guard = flag.guard()
    guard.check()
    flag.engage("stop")
    with pytest.raises(KillSwitchEngaged):
        guard.check()
    flag.release()
    assert guard.engaged()  # a run that saw the switch never resumes sending


def test_an_in_process_engage_stops_a_wait_before_it_sleeps() -> None:
    guard = KillGuard()
    guard.engage()
    with pytest.raises(KillSwitchEngaged):
        guard.wait(3600)


def test_a_guarded_session_sends_nothing_once_the_switch_is_engaged(httpserver, flag) -> None:
    httpserver.expect_request("/v2/account").respond_with_json({})
    session = make_session(RetryPolicy(total=3), guard=flag.guard())
    request_json(session, "GET", httpserver.url_for("/v2/account"))
    flag.engage("stop")
    with pytest.raises(KillSwitchEngaged):
        request_json(session, "GET", httpserver.url_for("/v2/account"))
    assert len(httpserver.log) == 1


def test_a_guarded_sessions_retry_backoff_is_cut_short_and_not_retried(httpserver, flag) -> None:
    httpserver.expect_request("/v2/orders").respond_with_handler(
        lambda r: Response("Service Unavailable", status=503, content_type="text/plain")
    )
    seen_at_engage: list[int] = []

    def engage() -> None:
        if not seen_at_engage:
            seen_at_engage.append(len(httpserver.log))
            flag.engage("stop during the backoff")

    time = SimulatedTime(on_sleep=engage)
    session = make_session(RetryPolicy(total=5, backoff_factor=2.0), guard=guard_on(flag, time))
    with pytest.raises(KillSwitchEngaged):
        request_json(session, "GET", httpserver.url_for("/v2/orders"))
    assert len(httpserver.log) == seen_at_engage[0]  # no retry after the engage
    assert time.slept == [POLL_SECONDS]


def test_a_session_engaged_mid_run_calls_no_broker_hook_after_it(journal, run_day, host, flag) -> None:
    run_day(journal, DEC1)
    run_day(journal, DEC2)  # SPY held: today sells SPY and buys QQQ
    calls: list[str] = []

    class EngageAfterFirstOrder:
        def __getattr__(self, name):
            attr = getattr(host, name)
            if not callable(attr) or name in ("capabilities",):
                return attr

            def spy(*args, **kwargs):
                calls.append(name)
                return attr(*args, **kwargs)

            return spy

        def execute_orders(self, plugin, *, orders, context):
            calls.append("execute_orders")
            result = host.execute_orders(plugin, orders=orders, context=context)
            flag.engage("stop after the first order")
            calls.append("ENGAGED")
            return result

    out = execute_session(
        journal=journal,
        host=EngageAfterFirstOrder(),
        broker="paper",
        mode="paper",
        session=DEC5,
        targets={"SPY": 0.0, "QQQ": 0.2},
        prices={"SPY": 221.0, "QQQ": 118.0},
        state_dir=journal.path.parent.parent.parent / "state",
        kill_switch=flag,
    )
    assert out.exit_code == EXIT_KILLED and len(out.sent) == 1 and out.reconcile is None
    assert calls[calls.index("ENGAGED") + 1 :] == []  # no reconcile, no lookup, no second order


def test_the_paper_broker_stops_between_orders_when_the_switch_is_engaged(host, flag, tmp_path) -> None:
    from regimeflex.testing.sample import sample_bars
    from regimeflex.types import BrokerContext, Order

    bars = sample_bars()
    day = bars.index[-2].date()
    looks = iter([False, True])
    context = BrokerContext(
        mode="paper", session=day, state_dir=tmp_path, prices=bars, kill_switch=KillGuard(lambda: next(looks))
    )
    orders = [
        Order("AAPL", "buy", 1, "rf-a", reference_price=100.0, session=day),
        Order("JPM", "buy", 1, "rf-b", reference_price=100.0, session=day),
    ]
    results = host.execute_orders("paper", orders=orders, context=context)
    assert [r.client_order_id for r in results] == ["rf-a"]
