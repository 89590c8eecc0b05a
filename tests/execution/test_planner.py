"""The order planner: weights × equity / price − positions → orders."""

from __future__ import annotations

from datetime import date

import pytest

from regimeflex.execution.planner import PlanError, PlanRules, client_order_id, limit_price, plan_orders
from regimeflex.types import Account, Position

SESSION = date(2024, 3, 5)
PRICES = {"SPY": 500.0, "QQQ": 400.0, "TLT": 90.0, "GLD": 190.0}


def account(equity: float = 100_000.0, buying_power: float | None = None, **held: float) -> Account:
    return Account(
        equity=equity,
        cash=equity,
        buying_power=equity if buying_power is None else buying_power,
        positions={s: Position(s, q, PRICES.get(s, 1.0)) for s, q in held.items()},
    )


def by_symbol(plan) -> dict:
    return {o.symbol: o for o in plan.orders}


def test_weights_become_whole_shares_rounded_toward_zero() -> None:
    plan = plan_orders({"SPY": 0.5, "QQQ": 0.3}, PRICES, account(), session=SESSION)
    assert {o.symbol: (o.side, o.qty) for o in plan.orders} == {"SPY": ("buy", 100.0), "QQQ": ("buy", 75.0)}
    plan = plan_orders({"TLT": 0.1}, PRICES, account(), session=SESSION)
    assert by_symbol(plan)["TLT"].qty == 111.0  # 10_000 / 90 = 111.1


def test_current_positions_are_subtracted() -> None:
    plan = plan_orders({"SPY": 0.5}, PRICES, account(SPY=60), session=SESSION)
    assert (by_symbol(plan)["SPY"].side, by_symbol(plan)["SPY"].qty) == ("buy", 40.0)


def test_a_symbol_without_target_is_closed_in_full() -> None:
    plan = plan_orders({"SPY": 0.5}, PRICES, account(SPY=100, GLD=3.5), session=SESSION)
    assert [(o.symbol, o.side, o.qty) for o in plan.orders] == [("GLD", "sell", 3.5)]


def test_sells_come_before_buys() -> None:
    plan = plan_orders({"QQQ": 0.5, "TLT": 0.2}, PRICES, account(SPY=100), session=SESSION)
    assert [o.side for o in plan.orders] == ["sell", "buy", "buy"]
    assert plan.orders[0].symbol == "SPY"


def test_fractional_only_when_rules_and_broker_both_allow() -> None:
    targets = {"SPY": 0.001}  # $100 → 0.2 shares
    rules = PlanRules(allow_fractional=True, min_weight_change=0)
    assert (
        plan_orders(
            targets, PRICES, account(), session=SESSION, rules=rules, capabilities={"supports_fractional": True}
        )
        .orders[0]
        .qty
        == 0.2
    )
    assert (
        plan_orders(
            targets, PRICES, account(), session=SESSION, rules=rules, capabilities={"supports_fractional": False}
        ).orders
        == ()
    )
    assert (
        plan_orders(
            targets,
            PRICES,
            account(),
            session=SESSION,
            rules=PlanRules(min_weight_change=0),
            capabilities={"supports_fractional": True},
        ).orders
        == ()
    )


def test_orders_below_min_notional_are_skipped_with_the_reason() -> None:
    plan = plan_orders(
        {"TLT": 0.0095},
        PRICES,
        account(equity=10_000),
        session=SESSION,
        rules=PlanRules(min_notional=100, min_weight_change=0),
    )
    assert plan.orders == ()
    assert [(s.symbol, s.reason) for s in plan.skipped] == [("TLT", "order value below min_notional 100")]


def test_small_weight_changes_do_not_churn() -> None:
    plan = plan_orders({"SPY": 0.503}, PRICES, account(equity=1_000_000, SPY=1000), session=SESSION)
    assert plan.orders == ()
    assert plan.skipped[0].reason == "weight change below the no-churn threshold 0.005"


def test_buys_are_scaled_to_the_buying_power() -> None:
    plan = plan_orders({"SPY": 0.5, "QQQ": 0.5}, PRICES, account(buying_power=30_000), session=SESSION)
    cost = sum(o.qty * o.reference_price * 1.005 for o in plan.orders)
    assert cost <= 30_000
    assert {o.symbol: o.qty for o in plan.orders} == {"SPY": 29.0, "QQQ": 37.0}
    assert plan.notes[0].startswith("buys scaled by 0.2985 to fit buying power 30,000.00")


def test_sell_proceeds_count_only_when_configured() -> None:
    acct = account(buying_power=0, SPY=100)
    assert [o.side for o in plan_orders({"QQQ": 0.5}, PRICES, acct, session=SESSION).orders] == ["sell"]
    plan = plan_orders({"QQQ": 0.5}, PRICES, acct, session=SESSION, rules=PlanRules(use_sell_proceeds=True))
    assert [(o.side, o.qty) for o in plan.orders] == [("sell", 100.0), ("buy", 124.0)]


def test_limit_orders_sit_the_offset_away_from_the_reference() -> None:
    plan = plan_orders(
        {"QQQ": 0.5}, PRICES, account(SPY=10), session=SESSION, rules=PlanRules(order_type="limit", limit_offset_bps=25)
    )
    orders = by_symbol(plan)
    assert (orders["QQQ"].type, orders["QQQ"].limit_price) == ("limit", 401.0)
    assert orders["SPY"].limit_price == 498.75


def test_limit_prices_use_sub_penny_ticks_below_one_dollar() -> None:
    assert limit_price(0.5, "buy", 10) == 0.5005
    assert limit_price(10.0, "sell", 10) == 9.99


def test_time_in_force_comes_from_the_rules() -> None:
    plan = plan_orders({"SPY": 0.5}, PRICES, account(), session=SESSION, rules=PlanRules(time_in_force="opg"))
    assert plan.orders[0].time_in_force == "opg"


def test_short_targets_are_held_flat_unless_enabled() -> None:
    plan = plan_orders({"SPY": -0.2}, PRICES, account(), session=SESSION)
    assert plan.orders == ()
    assert plan.skipped[0].reason == "short target but shorting is not enabled for this broker; held flat"
    plan = plan_orders(
        {"SPY": -0.2},
        PRICES,
        account(),
        session=SESSION,
        rules=PlanRules(allow_short=True),
        capabilities={"supports_short": True},
    )
    assert [(o.side, o.qty) for o in plan.orders] == [("sell", 40.0)]


def test_a_symbol_without_price_is_skipped() -> None:
    plan = plan_orders({"XYZ": 0.1, "SPY": 0.1}, PRICES, account(), session=SESSION)
    assert [o.symbol for o in plan.orders] == ["SPY"]
    assert [(s.symbol, s.reason) for s in plan.skipped] == [("XYZ", "no reference price")]


def test_planning_twice_gives_the_same_client_order_ids() -> None:
    first = plan_orders({"SPY": 0.5, "QQQ": 0.3}, PRICES, account(), session=SESSION, strategy="trend")
    again = plan_orders({"SPY": 0.5, "QQQ": 0.3}, PRICES, account(), session=SESSION, strategy="trend")
    assert [o.client_order_id for o in first.orders] == [o.client_order_id for o in again.orders]


def test_client_order_ids_differ_by_every_input() -> None:
    base = dict(session=SESSION, strategy="trend", symbol="SPY", side="buy", qty=10.0, attempt=0)
    ids = {client_order_id(**base)}
    for key, value in [
        ("session", date(2024, 3, 6)),
        ("strategy", "mr"),
        ("symbol", "QQQ"),
        ("side", "sell"),
        ("qty", 11.0),
        ("attempt", 1),
    ]:
        ids.add(client_order_id(**{**base, key: value}))
    assert len(ids) == 7


def test_client_order_id_fits_the_broker_limit() -> None:
    coid = client_order_id(SESSION, "a-very-long-strategy-name" * 4, "BRK.B", "buy", 123456.789)
    assert len(coid) <= 48 and coid.startswith("rf-20240305-")


def test_no_equity_is_a_clear_error() -> None:
    with pytest.raises(PlanError) as err:
        plan_orders({"SPY": 0.5}, PRICES, account(equity=0), session=SESSION)
    assert str(err.value) == (
        "cannot plan orders: account equity is 0; check the broker account (or run.yaml initial_equity for dry runs)"
    )
