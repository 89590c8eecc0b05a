"""Protective stops on long positions, simulated on daily bars (paper broker and backtest alike).

Owns the stop arithmetic shared by the paper broker's account
(:class:`regimeflex.execution.simulator.PaperBook`) and therefore the
backtest's planner replay, which trades through the same book:

* :func:`attach_stops` gives each planned buy a :class:`~regimeflex.types.ProtectiveStop`
  from risk.yaml's ``stops:`` (fixed %, ATR multiple or trailing; optional take-profit),
  as an absolute distance below (and above) the order's reference price;
* when the buy fills, the book places the stop at ``fill price − distance``;
* on each later session: a long stop triggers when the session's low ≤ stop and
  fills at the stop, or at the open when the open gaps through it
  (:func:`stop_fill_price`); a take-profit fills at its level or at an open above
  it (:func:`take_profit_fill_price`; the stop is checked first, the conservative
  reading of a bar that touched both); a trailing stop ratchets up on each close
  (:func:`ratchet`) and never moves down.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from regimeflex.types import Bars, Order, ProtectiveStop

if TYPE_CHECKING:
    from regimeflex.config.risk import StopSettings

StopKind = Literal["none", "fixed", "atr", "trailing"]

#: client order ids of stop-outs start with this: the paper book's ``stop-paper-NNNNNN`` and the
#: stop orders the session places at a broker (:func:`stop_leg_id`); a take-profit is not a stop-out
STOP_PREFIX = "stop-"


@dataclass(frozen=True)
class StopRule:
    """risk.yaml ``stops:`` as the planner uses it (see :class:`regimeflex.config.risk.StopSettings`)."""

    kind: StopKind = "none"
    pct: float = 0.08
    atr_multiple: float = 3.0
    atr_window: int = 14
    take_profit_pct: float | None = None
    cooldown_sessions: int = 0

    @property
    def active(self) -> bool:
        return self.kind != "none"


def stop_distance(rule: StopRule, reference: float, atr: float | None) -> float | None:
    """The stop's distance below the entry in price units; ``None`` when it cannot be measured
    (no ATR yet for an ``atr`` stop, or no reference price)."""
    if not rule.active or not (reference and math.isfinite(reference) and reference > 0):
        return None
    if rule.kind == "atr":
        if atr is None or not math.isfinite(atr) or atr <= 0:
            return None
        return rule.atr_multiple * atr
    return rule.pct * reference


def attach_stops(
    orders: Iterable[Order], rule: StopRule, atr: Mapping[str, float] | pd.Series | None = None
) -> tuple[list[Order], list[str]]:
    """Each buy with a :class:`ProtectiveStop` per ``rule``; ``(orders, notes)``, a note for each
    buy left unprotected because its distance could not be measured (say so, never guess)."""
    out: list[Order] = []
    notes: list[str] = []
    for order in orders:
        if not rule.active or order.side != "buy":
            out.append(order)
            continue
        ref = float(order.limit_price or order.reference_price or 0.0)
        a = None if atr is None else atr.get(order.symbol)
        protect = protection(rule, ref, None if a is None else float(a))
        if protect is None:
            notes.append(f"stops: no {rule.kind} stop for {order.symbol} (no ATR or reference price yet)")
            out.append(order)
            continue
        out.append(replace(order, protect=protect))
    return out, notes


def stop_fill_prices(stop: np.ndarray, open_: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Where long stops at ``stop`` fill on a session with these opens and lows (NaN: no fill); the
    one implementation of the rule, element-wise (the research engine calls it on arrays)."""
    return np.where(open_ <= stop, open_, np.where(low <= stop, stop, np.nan))


def take_profit_fill_prices(level: np.ndarray, open_: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Where long take-profits at ``level`` fill on a session with these opens and highs (NaN: no fill)."""
    return np.where(open_ >= level, open_, np.where(high >= level, level, np.nan))


def ratchets(stop: np.ndarray, close: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Trailing stops after a close: ``close − distance`` where that is higher, else unchanged (and
    unchanged where the close is unknown)."""
    return np.where(np.isfinite(close), np.maximum(stop, close - distance), stop)


def level(x: float) -> float:
    """A stop or take-profit level as the paper book stores it (6 decimals)."""
    return round(x, 6)


def levels(x: np.ndarray) -> np.ndarray:
    """:func:`level` of each element (Python's correctly rounded ``round``, not ``np.round``, so a
    level is the same float whichever side computed it)."""
    return np.array([round(v, 6) for v in x.tolist()], dtype=np.float64)


def placed_levels(fill_price: float, protect: ProtectiveStop) -> tuple[float, float | None]:
    """``(stop, take_profit)`` of a protected buy that filled at ``fill_price``: the stop at
    ``fill − distance``, the take-profit at ``fill + take_profit`` (``None`` when not set)."""
    tp = protect.take_profit
    return level(fill_price - float(protect.distance)), (level(fill_price + float(tp)) if tp else None)


def protection(rule: StopRule, reference: float, atr: float | None) -> ProtectiveStop | None:
    """The :class:`ProtectiveStop` a buy planned at ``reference`` carries under ``rule`` (``None``
    when its distance cannot be measured)."""
    distance = stop_distance(rule, reference, atr)
    if distance is None:
        return None
    tp = rule.take_profit_pct * reference if rule.take_profit_pct else None
    return ProtectiveStop(distance=round(distance, 6), trailing=rule.kind == "trailing", take_profit=tp)


def _a(x: float) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def stop_fill_price(stop: float, open_: float, low: float) -> float | None:
    """Where a long stop at ``stop`` fills on a session with this open and low, or ``None``."""
    px = float(stop_fill_prices(_a(stop), _a(open_), _a(low)))
    return None if math.isnan(px) else px


def take_profit_fill_price(level: float, open_: float, high: float) -> float | None:
    """Where a long take-profit at ``level`` fills on a session with this open and high, or ``None``."""
    px = float(take_profit_fill_prices(_a(level), _a(open_), _a(high)))
    return None if math.isnan(px) else px


def ratchet(stop: float, close: float, distance: float) -> float:
    """A trailing stop after a close: ``close − distance`` if that is higher, else unchanged."""
    return float(ratchets(_a(stop), _a(close), _a(distance)))


def stop_rule(settings: StopSettings) -> StopRule:
    """The planner's rule from risk.yaml's validated ``stops:`` section."""
    return StopRule(
        kind=settings.kind,
        pct=settings.pct,
        atr_multiple=settings.atr_multiple,
        atr_window=settings.atr_window,
        take_profit_pct=settings.take_profit_pct,
        cooldown_sessions=settings.cooldown_sessions,
    )


def atr_panel(bars: Bars, rule: StopRule) -> pd.DataFrame | None:
    """The dates × symbols Wilder ATR an ``atr`` stop measures from (``None`` for other kinds)."""
    if rule.kind != "atr":
        return None
    from regimeflex.signals.indicators import atr

    out: pd.DataFrame = atr(bars["high"], bars["low"], bars["close"], rule.atr_window)
    return out


# ------------------------------------------------------------------ re-entry cooldown


def stop_outs(fills: Iterable[Mapping[str, Any]]) -> dict[str, date]:
    """symbol → the session of its latest stop-out: a sell fill whose client order id starts with
    :data:`STOP_PREFIX` (ledger fills and the paper book's fills have the same keys), unless the fill
    says it was the take-profit leg of a one-cancels-other exit (``reason: take_profit``, Alpaca)."""
    out: dict[str, date] = {}
    for f in fills:
        if f.get("side") != "sell" or not str(f.get("client_order_id", "")).startswith(STOP_PREFIX) or not f.get("ts"):
            continue
        if f.get("reason") == "take_profit":  # the OCO exit's profit leg: the same client id, not a stop-out
            continue
        day = date.fromisoformat(str(f["ts"])[:10])
        sym = str(f["symbol"])
        if sym not in out or day > out[sym]:
            out[sym] = day
    return out


def cooling_down(
    latest: Mapping[str, date], sessions: pd.DatetimeIndex, today: date, cooldown: int
) -> dict[str, tuple[date, int]]:
    """symbol → (stop-out session, sessions since it) for each symbol still cooling down on ``today``:
    stopped out on a session at most ``cooldown`` sessions (of ``sessions``, the bars' dates) ago."""
    if cooldown <= 0 or not latest:
        return {}
    out: dict[str, tuple[date, int]] = {}
    end = int(sessions.searchsorted(pd.Timestamp(today), side="right"))
    for sym, day in latest.items():
        if day > today:
            continue
        since = end - int(sessions.searchsorted(pd.Timestamp(day), side="right"))
        if since <= cooldown:
            out[sym] = (day, since)
    return out


def refuse_reentries(
    orders: Iterable[Order],
    fills: Iterable[Mapping[str, Any]],
    sessions: pd.DatetimeIndex,
    today: date,
    cooldown: int,
) -> tuple[list[Order], list[tuple[str, str]]]:
    """``(orders kept, [(symbol, reason)])``: buys of a symbol stopped out within the last ``cooldown``
    sessions are refused (the daily run and the backtest replay both call this)."""
    orders = list(orders)
    cooling = cooling_down(stop_outs(fills), sessions, today, cooldown)
    if not cooling:
        return orders, []
    kept: list[Order] = []
    refused: list[tuple[str, str]] = []
    for order in orders:
        if order.side == "buy" and order.symbol in cooling:
            day, since = cooling[order.symbol]
            refused.append(
                (
                    order.symbol,
                    f"re-entry refused: stopped out on {day} ({since} of stops.cooldown_sessions={cooldown} "
                    "session(s) since, risk.yaml)",
                )
            )
            continue
        kept.append(order)
    return kept, refused
