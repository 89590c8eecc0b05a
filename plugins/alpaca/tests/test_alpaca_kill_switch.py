"""The kill switch stops Alpaca's order loop mid-retry: no request leaves after it is engaged.

A local server (pytest-httpserver) answers the order POST with 429 (Alpaca's plain-text
``Too Many Requests`` with ``Retry-After``, see fixtures/SOURCES.md) or 503, and the switch
is engaged at a chosen moment: while a request is on the wire, during the Retry-After wait,
during urllib3's backoff before a lookup is retried. Each test records how many requests
the server had seen when the switch was engaged and asserts that none came after. Waits
run on a simulated clock (no real sleeping, no timed assertions).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml
from werkzeug import Request, Response

from regimeflex import KillGuard
from regimeflex.errors import EXIT_KILLED, KillSwitchEngaged
from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.session import execute_session
from regimeflex.ledger.journal import open_journal
from regimeflex.plugins import PluginHost
from regimeflex.types import BrokerContext, Order
from regimeflex_alpaca import broker, hooks

KEY, SECRET = "test-key-not-real", "test-secret-not-real"
SESSION = date(2024, 3, 5)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parents[3]
ORDERS, LOOKUP = "/v2/orders", "/v2/orders:by_client_order_id"
TOO_MANY = "Too Many Requests"  # Alpaca's 429 body (plain text), see fixtures/SOURCES.md


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """``code, out, err = run_cli(...)``: the ``regimeflex`` command line in-process, as a shell sees it."""
    from regimeflex.cli import main

    monkeypatch.setenv("REGIMEFLEX_CACHE_HOME", str(tmp_path / "user-cache"))

    def invoke(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return invoke


class SimulatedTime:
    """A monotonic clock and a sleep that advances it; ``on_sleep`` runs at each sleep."""

    def __init__(self, on_sleep: Callable[[float], None] = lambda s: None) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.on_sleep = on_sleep

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.on_sleep(seconds)

    def clock(self) -> float:
        return self.now


class Switch:
    """The flag file, plus the number of requests the server had seen when it was engaged."""

    def __init__(self, path: Path, server) -> None:
        self.file = KillSwitch(path)
        self.server = server
        self.requests_at_engage: int | None = None

    def engage(self, *, from_a_request: bool = False) -> None:
        """Engage now; from inside a request handler that request is on the wire and may complete
        (the server logs a request only once it has been answered)."""
        if self.requests_at_engage is None:
            self.requests_at_engage = len(self.server.log) + int(from_a_request)
            self.file.engage("test: engaged mid-retry")

    def guard(self, time: SimulatedTime) -> KillGuard:
        return KillGuard(self.file.engaged, where=str(self.file.path), sleep=time.sleep, clock=time.clock)

    def requests_after_engage(self) -> list[str]:
        assert self.requests_at_engage is not None, "the test never engaged the switch"
        return [f"{r.method} {r.path}" for r, _ in self.server.log[self.requests_at_engage :]]


@pytest.fixture
def switch(tmp_path: Path, httpserver) -> Switch:
    return Switch(tmp_path / "kill_switch.flag", httpserver)


def settings(httpserver, **extra) -> dict:
    return {
        "base_url": httpserver.url_for("/"),
        "timeout": 2.0,
        "backoff": 0.5,
        "max_retries": 3,
        "retry_after_max": 60.0,
        "max_submit_attempts": 5,
        **extra,
    }


def order(symbol: str = "SPY", coid: str = "rf-20240305-a") -> Order:
    return Order(symbol=symbol, side="buy", qty=3, client_order_id=coid, reference_price=500.0, session=SESSION)


def context(httpserver, guard: KillGuard) -> BrokerContext:
    return BrokerContext(mode="paper", session=SESSION, settings=settings(httpserver), kill_switch=guard)


def too_many(retry_after: str = "30") -> Response:
    return Response(TOO_MANY, status=429, headers={"Retry-After": retry_after}, content_type="text/plain")


def unavailable() -> Response:
    return Response("Service Unavailable", status=503, content_type="text/plain")


def test_engaged_during_the_retry_after_wait_nothing_more_is_sent(httpserver, switch) -> None:
    httpserver.expect_request(ORDERS, method="POST").respond_with_handler(lambda r: too_many("30"))
    httpserver.expect_request(LOOKUP).respond_with_data("", status=404)
    time = SimulatedTime(on_sleep=lambda s: switch.engage())
    with pytest.raises(KillSwitchEngaged):
        broker.execute_orders(orders=[order()], context=context(httpserver, switch.guard(time)))
    assert switch.requests_at_engage == 1
    assert switch.requests_after_engage() == []
    assert time.slept == [0.05]  # the 30 s Retry-After wait ended at its first look at the switch


def test_engaged_while_the_post_is_on_the_wire_no_lookup_or_resend_follows(httpserver, switch) -> None:
    def post(request: Request) -> Response:
        switch.engage(from_a_request=True)  # `kill on` while Alpaca answers
        return unavailable()

    httpserver.expect_request(ORDERS, method="POST").respond_with_handler(post)
    httpserver.expect_request(LOOKUP).respond_with_data("", status=404)
    with pytest.raises(KillSwitchEngaged):
        broker.execute_orders(orders=[order()], context=context(httpserver, switch.guard(SimulatedTime())))
    assert [f"{r.method} {r.path}" for r, _ in httpserver.log] == ["POST /v2/orders"]
    assert switch.requests_after_engage() == []


def test_engaged_during_the_backoff_before_a_lookup_retry_the_lookup_is_not_retried(httpserver, switch) -> None:
    httpserver.expect_request(ORDERS, method="POST").respond_with_handler(lambda r: unavailable())
    httpserver.expect_request(LOOKUP).respond_with_handler(lambda r: unavailable())
    sleeps: list[float] = []

    def on_sleep(seconds: float) -> None:  # engage during the first wait inside urllib3's lookup retries
        sleeps.append(seconds)
        if any(f"{r.path}" == LOOKUP for r, _ in httpserver.log):
            switch.engage()

    with pytest.raises(KillSwitchEngaged):
        broker.execute_orders(orders=[order()], context=context(httpserver, switch.guard(SimulatedTime(on_sleep))))
    seen = [f"{r.method} {r.path}" for r, _ in httpserver.log]
    assert seen[0] == "POST /v2/orders" and f"GET {LOOKUP}" in seen
    assert switch.requests_after_engage() == []
    assert seen.count("POST /v2/orders") == 1


def test_without_the_switch_the_same_faults_are_retried_to_success(httpserver, switch) -> None:
    """The control: the same 429/503 sequence, switch never engaged, ends with the order placed once."""
    answers = iter([too_many("2"), unavailable()])
    placed = json.loads(fixture("orders_post_market.json"))
    placed["client_order_id"] = "rf-20240305-a"

    httpserver.expect_request(ORDERS, method="POST").respond_with_handler(
        lambda r: next(answers, None) or Response(json.dumps(placed), status=200, content_type="application/json")
    )
    httpserver.expect_request(LOOKUP).respond_with_data(
        json.dumps({"code": 40410000, "message": "order not found"}), status=404, content_type="application/json"
    )
    time = SimulatedTime()
    results = broker.execute_orders(orders=[order()], context=context(httpserver, switch.guard(time)))
    assert [r.client_order_id for r in results] == ["rf-20240305-a"]
    assert [f"{r.method} {r.path}" for r, _ in httpserver.log].count("POST /v2/orders") == 3
    assert sum(time.slept) >= 2.0  # the Retry-After was honoured (on the simulated clock)


class SimulatedSwitch(KillSwitch):
    """The run's flag file whose guards wait on the simulated clock."""

    time: SimulatedTime = SimulatedTime()

    def guard(self) -> KillGuard:
        return KillGuard(self.engaged, where=str(self.path), sleep=self.time.sleep, clock=self.time.clock)


def serve_account(httpserver) -> None:
    httpserver.expect_request("/v2/account").respond_with_data(fixture("account.json"), content_type="application/json")
    httpserver.expect_request("/v2/positions").respond_with_json([])
    httpserver.expect_request("/v2/account/activities/FILL").respond_with_json([])
    httpserver.expect_request("/v2/orders", method="GET").respond_with_json([])


def test_a_session_killed_mid_retry_exits_3_and_records_what_was_not_sent(httpserver, switch, tmp_path) -> None:
    serve_account(httpserver)
    httpserver.expect_request(ORDERS, method="POST").respond_with_handler(lambda r: too_many("30"))
    httpserver.expect_request(LOOKUP).respond_with_data("", status=404)
    flag = SimulatedSwitch(switch.file.path)
    flag.time = SimulatedTime(on_sleep=lambda s: switch.engage())
    with open_journal(tmp_path / "ledger.jsonl") as journal:
        outcome = execute_session(
            journal=journal,
            host=PluginHost.from_plugins({"alpaca": hooks}),
            broker="alpaca",
            mode="paper",
            session=SESSION,
            targets={"SPY": 0.3, "QQQ": 0.2},
            prices={"SPY": 500.0, "QQQ": 400.0},
            broker_settings=settings(httpserver),
            kill_switch=flag,
        )
        state = journal.state
    assert outcome.killed and outcome.exit_code == EXIT_KILLED == 3
    assert switch.requests_after_engage() == []
    assert [f"{r.method} {r.path}" for r, _ in httpserver.log].count("POST /v2/orders") == 1
    first, second = (o.client_order_id for o in outcome.orders)
    assert state.orders[first].status == "unknown"  # in flight: the next run looks it up first
    assert state.orders[second].status == "planned" and not state.orders[second].sent
    assert state.kills[-1]["not_sent"] == [second]


def test_regimeflex_run_exits_3_when_the_switch_is_engaged_during_an_order_post(httpserver, tmp_path, run_cli) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    (config / "broker.yaml").write_text(
        yaml.safe_dump(
            {
                "broker": "alpaca",
                "mode": "paper",
                "brokers": {"alpaca": {"base_url": httpserver.url_for("/"), "timeout": 2.0, "retry_after_max": 5}},
            }
        )
    )
    serve_account(httpserver)
    flag = KillSwitch(config / "kill_switch.flag")
    seen_at_engage: list[int] = []

    def post(request: Request) -> Response:
        if not seen_at_engage:
            seen_at_engage.append(len(httpserver.log))
            flag.engage("test: engaged while the first order is on the wire")
        return too_many("5")

    httpserver.expect_request(ORDERS, method="POST").respond_with_handler(post)
    httpserver.expect_request(LOOKUP).respond_with_data("", status=404)
    code, out, err = run_cli("--config", config, "run", "--as-of", "2024-03-05")
    assert code == 3, out + err
    assert "killed" in out
    assert len(httpserver.log) == seen_at_engage[0] + 1  # the POST on the wire completed; nothing after it
