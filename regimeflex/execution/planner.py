"""Order planning: target weights and the live account → the orders to send today.

Owns step 5 of the daily cycle (DESIGN §4): ``targets × equity / reference
price − current positions`` turned into whole-share orders (fractional only
where the broker declares ``supports_fractional`` *and* the rules allow it),
with a minimum notional, a no-churn threshold on weight changes, sells before
buys, buys scaled down to the buying power actually available, market or
limit orders (limit = reference ± bps), the configured time in force, and a
deterministic ``client_order_id`` so that planning the same session twice
yields the same ids (the broker then recognises a resend as a duplicate).
The arithmetic is vectorised over symbols with numpy arrays (it runs once per session in the
backtest's daily-rules replay); only the final
:class:`~regimeflex.types.Order` objects are built one by one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from regimeflex.errors import RegimeFlexError
from regimeflex.types import Account, Order, TimeInForce

#: Decimal places of a fractional quantity (Alpaca accepts up to 9; 6 is a whole micro-share).
FRACTION_DECIMALS = 6
#: Maximum length of a client order id (Alpaca's limit is 48 characters).
MAX_CLIENT_ORDER_ID = 48


class PlanError(RegimeFlexError):
    """The planner cannot size orders (e.g. the account reports no equity)."""


@dataclass(frozen=True)
class PlanRules:
    """How weights become orders; built from the ``orders`` section of broker.yaml."""

    order_type: Literal["market", "limit"] = "market"
    #: limit orders: buy at reference × (1 + bps/10⁴), sell at reference × (1 − bps/10⁴)
    limit_offset_bps: float = 10.0
    time_in_force: TimeInForce = "day"
    #: orders worth less than this (in account currency) are not sent
    min_notional: float = 10.0
    #: weight changes smaller than this are ignored (no churn); closing a position always goes through
    min_weight_change: float = 0.005
    #: fractional shares, only if the broker also declares supports_fractional
    allow_fractional: bool = False
    #: short targets, only if the broker also declares supports_short
    allow_short: bool = False
    #: market buys are costed at reference × (1 + bps/10⁴) when checking buying power
    buying_power_buffer_bps: float = 50.0
    #: count today's sell proceeds as buying power (only if the broker credits unsettled sells)
    use_sell_proceeds: bool = False


@dataclass(frozen=True)
class Skipped:
    symbol: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """Orders to send (sells first, then buys, each by symbol) and what was left out, with why."""

    orders: tuple[Order, ...]
    skipped: tuple[Skipped, ...] = ()
    equity: float = 0.0
    buy_notional: float = 0.0
    buying_power: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)


def client_order_id(session: date, strategy: str, symbol: str, side: str, qty: float, attempt: int = 0) -> str:
    """``rf-YYYYMMDD-<32 hex>``: the same inputs always give the same id (44 characters)."""
    key = f"{session.isoformat()}|{strategy}|{symbol}|{side}|{qty:.{FRACTION_DECIMALS}f}|{attempt}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    coid = f"rf-{session:%Y%m%d}-{digest}"
    assert len(coid) <= MAX_CLIENT_ORDER_ID
    return coid


def limit_price(reference: float, side: str, bps: float) -> float:
    """Reference ± bps, rounded to the tick (cents from $1, 1/100 cent below)."""
    raw = reference * (1 + bps / 1e4) if side == "buy" else reference * (1 - bps / 1e4)
    return round(raw, 2 if raw >= 1 else 4)


def _toward_zero(values: np.ndarray, fractional: bool) -> np.ndarray:
    if fractional:
        scale = 10**FRACTION_DECIMALS
        return np.asarray(np.trunc(values * scale + np.sign(values) * 1e-9) / scale)
    return np.asarray(np.trunc(values + np.sign(values) * 1e-9))


def _series(values: Mapping[str, float] | pd.Series) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(dict(values), dtype="float64")


def plan_orders(
    targets: Mapping[str, float] | pd.Series,
    prices: Mapping[str, float] | pd.Series,
    account: Account,
    *,
    session: date,
    strategy: str = "portfolio",
    rules: PlanRules = PlanRules(),
    capabilities: Mapping[str, bool] | None = None,
    attempt: int = 0,
) -> Plan:
    """Turn target weights into today's orders against ``account``.

    :param targets: symbol → target weight (fraction of equity; negative = short).
    :param prices: symbol → reference price (normally the last close).
    :param account: equity, buying power and current positions.
    :param capabilities: the broker's capability tags (``supports_fractional``, ``supports_short``).
    :param attempt: bump to plan a deliberate second attempt with fresh client order ids.
    """
    caps = dict(capabilities or {})
    if not account.equity > 0:
        raise PlanError(
            f"cannot plan orders: account equity is {account.equity:g}; "
            "check the broker account (or run.yaml initial_equity for dry runs)"
        )
    fractional = rules.allow_fractional and bool(caps.get("supports_fractional"))
    short_ok = rules.allow_short and bool(caps.get("supports_short"))

    # one aligned array per column over the sorted union of targeted and held symbols (numpy, not a
    # DataFrame: the planner runs once per session in the backtest's daily-rules replay)
    w_s = _series(targets)
    h_s = pd.Series({s: p.qty for s, p in account.positions.items() if p.qty}, dtype="float64")
    symbols = w_s.index.union(h_s.index)
    weight = np.nan_to_num(w_s.reindex(symbols).to_numpy(dtype="float64", na_value=np.nan), nan=0.0)
    held = np.nan_to_num(h_s.reindex(symbols).to_numpy(dtype="float64", na_value=np.nan), nan=0.0)
    price = _series(prices).astype("float64").reindex(symbols).to_numpy(dtype="float64", na_value=np.nan)
    names = np.asarray([str(s) for s in symbols], dtype=object)
    skipped: list[Skipped] = []

    if not short_ok:
        shorts = weight < 0
        skipped += [
            Skipped(s, "short target but shorting is not enabled for this broker; held flat") for s in names[shorts]
        ]
        weight = np.where(shorts, 0.0, weight)

    no_price = ~(price > 0)
    moving = (weight != 0) | (held != 0)
    skipped += [Skipped(s, "no reference price") for s in names[no_price & moving]]
    keep = ~no_price
    names, weight, held, price = names[keep], weight[keep], held[keep], price[keep]

    equity = float(account.equity)
    current_weight = held * price / equity
    target_qty = _toward_zero(weight * equity / price, fractional)
    delta = target_qty - held
    closing = (weight == 0) & (held != 0)
    if not fractional:  # a fractional holding is only ever closed in full
        delta = np.where(closing, delta, _toward_zero(delta, False))
    delta = np.where(~closing, delta, -held)

    churn = (np.abs(weight - current_weight) < rules.min_weight_change) & ~closing
    skipped += [
        Skipped(s, f"weight change below the no-churn threshold {rules.min_weight_change:g}")
        for s in names[churn & (delta != 0)]
    ]
    keep = ~churn & (delta != 0)
    names, price, delta, closing = names[keep], price[keep], delta[keep], closing[keep]

    sell = delta < 0
    qty = np.abs(delta)
    small = (qty * price < rules.min_notional) & ~(sell & closing)
    skipped += [Skipped(s, f"order value below min_notional {rules.min_notional:g}") for s in names[small]]
    keep = ~small
    names, price, qty, sell = names[keep], price[keep], qty[keep], sell[keep]

    if rules.order_type == "limit":
        limit = np.array(
            [
                limit_price(p, "sell" if s else "buy", rules.limit_offset_bps)
                for p, s in zip(price.tolist(), sell.tolist())
            ],
            dtype="float64",
        )
        cost_price = limit
    else:
        limit = np.full(len(price), np.nan)
        cost_price = price * (1 + rules.buying_power_buffer_bps / 1e4)

    buys = ~sell
    available = float(account.buying_power)
    if rules.use_sell_proceeds:
        available += float((qty[sell] * price[sell]).sum())
    available = max(available, 0.0)
    buy_cost = float((qty[buys] * cost_price[buys]).sum())
    notes: list[str] = []
    if buy_cost > available:
        scale = available / buy_cost
        qty = np.where(buys, _toward_zero(qty * scale, fractional), qty)
        notes.append(f"buys scaled by {scale:.4f} to fit buying power {available:,.2f} (wanted {buy_cost:,.2f})")
        too_small = buys & (qty * price < rules.min_notional)
        skipped += [Skipped(s, "buy scaled to fit buying power fell below min_notional") for s in names[too_small]]
        keep = ~too_small
        names, price, qty, sell, limit = names[keep], price[keep], qty[keep], sell[keep], limit[keep]
        cost_price = cost_price[keep]
        buys = ~sell
        buy_cost = float((qty[buys] * cost_price[buys]).sum())

    orders = []
    for i in np.argsort(np.where(sell, 0, 1), kind="stable").tolist():  # sells first, then buys, each by symbol
        side: Literal["buy", "sell"] = "sell" if sell[i] else "buy"
        q = float(qty[i])
        sym = str(names[i])
        orders.append(
            Order(
                symbol=sym,
                side=side,
                qty=float(round(q, FRACTION_DECIMALS)),
                client_order_id=client_order_id(session, strategy, sym, side, q, attempt),
                type=rules.order_type,
                limit_price=None if np.isnan(limit[i]) else float(limit[i]),
                time_in_force=rules.time_in_force,
                reference_price=float(price[i]),
                strategy=strategy,
                session=session,
            )
        )
    return Plan(
        orders=tuple(orders),
        skipped=tuple(sorted(skipped, key=lambda s: s.symbol)),
        equity=equity,
        buy_notional=round(buy_cost, 2),
        buying_power=available,
        notes=tuple(notes),
    )
