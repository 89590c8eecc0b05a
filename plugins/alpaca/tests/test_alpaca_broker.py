"""The Alpaca broker against the local emulator: orders, lookups, error mapping, fills, cancels."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from alpaca_emulator import AlpacaEmulator, Fault, fixture

from regimeflex import KillGuard
from regimeflex.errors import BrokerError, ConfigError
from regimeflex.testing import BrokerContract
from regimeflex.testing.sample import sample_bars
from regimeflex.types import BrokerContext, Order
from regimeflex_alpaca import broker, hooks
from regimeflex_alpaca.broker import AlpacaTrading, order_result

KEY, SECRET = "test-key-not-real", "test-secret-not-real"
SESSION = date(2024, 3, 5)
PRICES = {"SPY": 500.0, "QQQ": 400.0, "AAPL": 120.0}


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)


@pytest.fixture
def emu() -> Iterator[AlpacaEmulator]:
    emulator = AlpacaEmulator(key=KEY, secret=SECRET, prices=PRICES, positions={"AAPL": 5})
    emulator.base_url = emulator.start()
    yield emulator
    emulator.stop()


def context(emu: AlpacaEmulator, mode: str = "paper", **settings) -> BrokerContext:
    base = {"base_url": emu.base_url, "timeout": 0.5, "backoff": 0.0, "max_retries": 1, **settings}
    return BrokerContext(mode=mode, session=SESSION, settings=base, kill_switch=KillGuard(lambda: False))


def order(symbol: str = "SPY", side: str = "buy", qty: float = 3, coid: str = "rf-20240305-a") -> Order:
    return Order(
        symbol=symbol, side=side, qty=qty, client_order_id=coid, reference_price=PRICES[symbol], session=SESSION
    )


def submit(emu: AlpacaEmulator, o: Order | None = None, **settings):
    return broker.execute_orders(orders=[o or order()], context=context(emu, **settings))[0]


# ------------------------------------------------------------------ parsing


def test_order_bodies_with_numbers_or_strings_and_nanoseconds_parse() -> None:
    result = order_result(fixture("order_get_by_client_order_id.json"))
    assert (result.client_order_id, result.status, result.qty, result.filled_qty) == (
        "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4",
        "accepted",
        1.0,
        0.0,
    )
    assert result.broker_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert result.submitted_at == datetime(2021, 3, 16, 18, 38, 1, 937734, tzinfo=UTC)


def test_order_body_sends_decimal_strings_and_the_client_id() -> None:
    limit = Order("SPY", "buy", 2.5, "rf-x", type="limit", limit_price=501.25, time_in_force="opg")
    assert broker.order_body(limit) == {
        "symbol": "SPY",
        "qty": "2.5",
        "side": "buy",
        "type": "limit",
        "time_in_force": "opg",
        "client_order_id": "rf-x",
        "limit_price": "501.25",
    }


# ------------------------------------------------------------------ placing


def test_an_order_is_placed_once_with_its_client_id(keys, emu) -> None:
    result = submit(emu)
    assert (result.status, result.client_order_id) == ("accepted", "rf-20240305-a")
    assert emu.client_ids() == ["rf-20240305-a"] and emu.posts() == 1


def test_duplicate_client_id_is_looked_up_and_treated_as_placed(keys, emu) -> None:
    first = submit(emu)
    again = submit(emu)
    assert emu.duplicate_posts == 1 and emu.client_ids() == ["rf-20240305-a"]
    assert again.broker_order_id == first.broker_order_id and again.status == "filled"


def test_insufficient_buying_power_is_a_rejection_with_alpacas_message(keys, emu) -> None:
    result = submit(emu, order(qty=1000))
    assert (result.status, result.message) == ("rejected", "alpaca: insufficient buying power")


def test_invalid_order_is_a_rejection_with_alpacas_message(keys, emu) -> None:
    limit = Order("SPY", "buy", 1.5, "rf-frac", type="limit", limit_price=500.0)
    result = submit(emu, limit)
    assert (result.status, result.message) == ("rejected", "alpaca: HTTP 422: qty must be integer")


def test_broker_side_rejection_status_is_reported(keys, emu) -> None:
    emu.reject_symbols.add("QQQ")
    assert submit(emu, order("QQQ")).status == "rejected"


def test_bad_keys_raise_a_broker_error_naming_the_variables(keys, emu, monkeypatch) -> None:
    monkeypatch.setenv("APCA_API_SECRET_KEY", "wrong-secret-not-real")
    with pytest.raises(BrokerError) as err:
        submit(emu)
    assert str(err.value) == (
        "alpaca: POST /v2/orders → HTTP 401: request is not authorized; check "
        "APCA_API_KEY_ID and APCA_API_SECRET_KEY (paper keys only work on the paper endpoint)"
    )


def test_missing_keys_are_a_clear_error(emu) -> None:
    with pytest.raises(ConfigError) as err:
        submit(emu)
    assert str(err.value) == (
        "alpaca: APCA_API_KEY_ID and APCA_API_SECRET_KEY are not set; put them in the "
        "environment or in .env (never in YAML)"
    )


def test_rate_limit_waits_for_retry_after_then_looks_up_before_resending(keys, emu) -> None:
    emu.inject(Fault("POST", "/v2/orders", status=429, body="Too Many Requests", headers={"Retry-After": "0"}))
    result = submit(emu)
    assert result.status == "accepted" and emu.posts() == 2 and emu.client_ids() == ["rf-20240305-a"]
    assert emu.requests[1] == ("GET", "/v2/orders:by_client_order_id")


def test_server_error_after_placing_is_found_by_lookup_and_not_resent(keys, emu) -> None:
    emu.inject(Fault("POST", "/v2/orders", status=500, process=True))
    result = submit(emu)
    assert emu.posts() == 1 and emu.client_ids() == ["rf-20240305-a"]
    assert result.status == "filled"


def test_server_error_before_placing_is_resent_after_a_lookup(keys, emu) -> None:
    emu.inject(Fault("POST", "/v2/orders", status=503))
    result = submit(emu)
    assert emu.posts() == 2 and emu.client_ids() == ["rf-20240305-a"] and result.status == "accepted"


def test_timeout_after_placing_is_found_by_lookup_and_not_resent(keys, emu) -> None:
    emu.inject(Fault("POST", "/v2/orders", status=200, process=True, delay=1.0))
    result = submit(emu, timeout=0.3)
    assert emu.posts() == 1 and emu.client_ids() == ["rf-20240305-a"] and result.status == "filled"


def test_dropped_connection_before_placing_is_resent_once(keys, emu) -> None:
    emu.inject(Fault("POST", "/v2/orders", drop=True))
    submit(emu)
    assert emu.posts() == 2 and emu.client_ids() == ["rf-20240305-a"]


def test_persistent_server_errors_give_up_without_placing(keys, emu) -> None:
    emu.inject(Fault("POST", "/v2/orders", status=502, times=10))
    with pytest.raises(BrokerError) as err:
        submit(emu, max_submit_attempts=2)
    assert str(err.value) == (
        "alpaca: could not place rf-20240305-a after 2 attempt(s) (HTTP 502: internal "
        "server error); it is not at Alpaca; the next run looks it up again before resending"
    )
    assert emu.posts() == 2 and emu.client_ids() == []


def test_kill_switch_stops_the_remaining_orders(keys, emu) -> None:
    engaged_once_a_is_placed = KillGuard(lambda: "a" in emu.client_ids())
    ctx = BrokerContext(
        mode="paper", session=SESSION, settings=context(emu).settings, kill_switch=engaged_once_a_is_placed
    )
    results = broker.execute_orders(orders=[order(coid="a"), order("QQQ", coid="b")], context=ctx)
    assert [r.client_order_id for r in results] == ["a"] and emu.client_ids() == ["a"]


# ------------------------------------------------------------------ reading


def test_account_and_positions(keys, emu) -> None:
    account = broker.broker_account(context=context(emu))
    assert (account.cash, account.equity) == (100_000.0, 100_600.0)
    assert {s: p.qty for s, p in account.positions.items()} == {"AAPL": 5.0}


def test_clock_parses_nanosecond_timestamps_with_offsets(keys, emu) -> None:
    from datetime import timedelta

    clock = AlpacaTrading.from_context(context(emu)).clock()
    ny = timezone(timedelta(hours=-4))
    assert clock.is_open is True
    assert clock.timestamp == datetime(2022, 4, 28, 14, 7, 4, 451420, tzinfo=ny)
    assert clock.next_open == datetime(2022, 4, 29, 9, 30, tzinfo=ny)


def test_lookup_by_client_id_skips_unknown_ids(keys, emu) -> None:
    submit(emu)
    found = broker.broker_orders(client_order_ids=["rf-20240305-a", "rf-unknown"], context=context(emu))
    assert [r.client_order_id for r in found] == ["rf-20240305-a"]


def test_open_orders_are_paged_by_time(keys, emu, monkeypatch) -> None:
    monkeypatch.setattr(broker, "OPEN_PAGE", 2)
    emu.fill_mode = "none"
    for i in range(5):
        submit(emu, order(qty=1, coid=f"rf-{i}"))
    found = broker.broker_orders(client_order_ids=[], context=context(emu))
    assert [r.client_order_id for r in found] == [f"rf-{i}" for i in range(5)]


def test_partial_fills_are_reported_one_by_one_with_client_ids(keys, emu, monkeypatch) -> None:
    monkeypatch.setattr(broker, "FILL_PAGE", 1)
    emu.fill_mode = "partial"
    assert submit(emu, order(qty=5)).status == "accepted"
    emu.fill_remaining()
    fills = broker.broker_fills(since=None, context=context(emu))
    assert [(f.client_order_id, f.qty, f.price) for f in fills] == [
        ("rf-20240305-a", 2.0, 500.0),
        ("rf-20240305-a", 3.0, 500.0),
    ]
    assert len({f.fill_id for f in fills}) == 2


def test_fills_since_a_time_leave_older_ones_out(keys, emu) -> None:
    submit(emu)
    later = datetime.now(UTC) + timedelta(days=366)  # not .replace(year=…+1): that raises on 29 February
    assert broker.broker_fills(since=later, context=context(emu)) == []


def test_cancel_open_orders(keys, emu) -> None:
    emu.fill_mode = "none"
    submit(emu)
    results = broker.cancel_open_orders(context=context(emu))
    assert [(r.client_order_id, r.status) for r in results] == [("rf-20240305-a", "canceled")]


def test_live_mode_uses_the_live_endpoint_and_paper_the_paper_one(keys, emu) -> None:
    ctx = context(emu, live_url="https://live.invalid")
    assert AlpacaTrading.from_context(ctx).base_url == emu.base_url
    live = BrokerContext(mode="live", session=SESSION, settings=ctx.settings)
    assert AlpacaTrading.from_context(live).base_url == "https://live.invalid"


def test_default_endpoint_is_paper(keys) -> None:
    ctx = BrokerContext(mode="paper", session=SESSION, settings={})
    assert AlpacaTrading.from_context(ctx).base_url == "https://paper-api.alpaca.markets"


def test_live_endpoint_in_paper_mode_is_refused(keys) -> None:
    ctx = BrokerContext(mode="paper", session=SESSION, settings={"base_url": "https://api.alpaca.markets"})
    with pytest.raises(BrokerError) as err:
        AlpacaTrading.from_context(ctx)
    assert str(err.value) == (
        "alpaca: brokers.alpaca.base_url is the live endpoint (https://api.alpaca.markets) "
        "but the broker mode is paper; use the paper endpoint, or mode: live with --live"
    )


def test_the_plugin_registers_every_broker_hook() -> None:
    from regimeflex.plugins import PluginHost
    from regimeflex_alpaca import hooks

    info = PluginHost.from_plugins({"alpaca": hooks}).get("alpaca")
    assert {
        "execute_orders",
        "broker_account",
        "broker_orders",
        "broker_fills",
        "cancel_open_orders",
        "provide_bars",
    } <= set(info.hooks)
    assert set(info.roles) == {"data", "broker"}


def test_secrets_never_reach_logs_or_errors(keys, emu, monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    texts = []
    emu.inject(Fault("POST", "/v2/orders", status=500, times=10))
    with pytest.raises(BrokerError) as err:
        submit(emu)
    texts.append(str(err.value))
    monkeypatch.setenv("APCA_API_SECRET_KEY", "wrong-secret-not-real")
    for call in (lambda: submit(emu), lambda: broker.broker_account(context=context(emu))):
        with pytest.raises(BrokerError) as err:
            call()
        texts.append(str(err.value))
    texts += [r.getMessage() for r in caplog.records]
    joined = "\n".join(texts)
    assert joined and KEY not in joined and SECRET not in joined and "wrong-secret-not-real" not in joined


# ------------------------------------------------------------------ conformance


class TestAlpacaBrokerConformance(BrokerContract):
    """The kit's broker checks, against a fresh emulator per check."""

    plugin = hooks

    @pytest.fixture
    def params(self, keys) -> Iterator[dict]:
        closes = sample_bars()["close"].iloc[-1]
        emulator = AlpacaEmulator(
            key=KEY, secret=SECRET, prices={s: float(p) for s, p in closes.items()}, cash=10_000_000.0
        )
        url = emulator.start()
        yield {"base_url": url, "timeout": 2.0, "backoff": 0.0, "max_retries": 1}
        emulator.stop()
