"""The backtest's ``mode: daily`` (the default): the live order path, replayed session by session.

Owns the replay of the daily run's execution over history: on each session
*t* the target row *t* goes through the very planner the daily run uses
(:func:`regimeflex.execution.planner.plan_orders`, with broker.yaml's
``orders:`` rules and the configured broker's capabilities) against the
simulated account valued at *t*'s close, and the orders are sent to an
in-memory :class:`regimeflex.execution.simulator.PaperBook` — the paper broker's
own code, so acceptance, rejection, fills at the next session's open,
slippage and commission are one piece of arithmetic for both. Before
planning, risk.yaml's circuit breakers are evaluated on the simulated
account exactly as the daily runner evaluates them
(:func:`regimeflex.risk.breakers.check_circuit_breakers` and
:func:`~regimeflex.risk.breakers.apply_breaker_action`), and a symbol with no
bar on a session inside its listed life is held, not traded, as the runner
holds stale symbols. A daily paper run on *t* therefore sees the same orders
and equity as row *t* here.
Unlike :mod:`.engine` this is a Python loop over sessions (each step
vectorised across symbols by the planner): fine for 60–2,500 sessions, and
the price of replaying the live path exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from regimeflex.backtest.engine import EVENT_CODES, EVENT_NONE, SimResult
from regimeflex.backtest.results import stops_rules
from regimeflex.execution.planner import PlanRules, plan_orders
from regimeflex.execution.simulator import OPEN_STATUSES, PaperBook, PaperSettings
from regimeflex.execution.stops import (
    StopRule,
    atr_panel,
    attach_stops,
    refuse_reentries,
    stop_rule,
)
from regimeflex.types import Bars, CorporateAction

if TYPE_CHECKING:
    from regimeflex.config import Settings
    from regimeflex.config.risk import CircuitBreakerSettings
    from regimeflex.plugins import PluginHost

ORDER_COLUMNS = ["date", "symbol", "side", "qty", "reference_price", "status", "client_order_id"]


@dataclass(frozen=True)
class ReplayConfig:
    """What the replay needs from broker.yaml: planner rules, broker capabilities, paper fill settings."""

    initial_cash: float = 100_000.0
    rules: PlanRules = PlanRules()
    capabilities: Mapping[str, bool] = field(default_factory=dict)
    paper: PaperSettings = PaperSettings()
    #: risk.yaml ``stops:``: the protective stop each buy carries (filled by the paper book's stop logic)
    stops: StopRule = StopRule()
    #: risk.yaml's circuit breakers, evaluated each session as the daily runner does (None = off)
    breakers: CircuitBreakerSettings | None = None
    #: the VIX series the vix breaker reads (risk.yaml regime.vix_symbol), when loaded
    vix_symbol: str | None = None
    #: sessions of history a daily run loads (the stale-data breaker's value for a symbol with no bar)
    history_sessions: int = 300

    def describe(self) -> dict[str, object]:
        """The execution rules in force, for the summary and the tear sheet."""
        fractional = self.rules.allow_fractional and bool(self.capabilities.get("supports_fractional"))
        return {
            "mode": "daily",
            "shares": "fractional" if fractional else "whole",
            "order_type": self.rules.order_type,
            "min_weight_change": self.rules.min_weight_change,
            "min_notional": self.rules.min_notional,
            "fill": "next_open" if self.paper.fill_at == "next_open" else "reference",
            "slippage_bps": self.paper.slippage_bps,
            "commission_per_share": self.paper.commission_per_share,
            "commission_min": self.paper.commission_min,
            "breakers": sorted(self.breakers.enabled()) if self.breakers is not None else [],
            "stops": stops_rules(self.stops),
        }


def replay_config(settings: Settings, host: PluginHost) -> ReplayConfig:
    """The replay configuration of the daily run's broker.yaml and risk.yaml (starting cash as the paper broker's)."""
    from regimeflex.execution.session import rules_from_settings

    paper = PaperSettings.model_validate(dict(settings.broker.brokers.get("paper") or {}))
    cash = paper.initial_cash or settings.run.backtest.initial_cash or settings.run.initial_equity
    return ReplayConfig(
        initial_cash=float(cash),
        rules=rules_from_settings(settings.broker.orders),
        capabilities=host.capabilities(settings.broker.broker),
        paper=paper,
        stops=stop_rule(settings.risk.stops),
        breakers=settings.risk.circuit_breakers if settings.run.backtest.breakers else None,
        vix_symbol=settings.risk.regime.vix_symbol,
        history_sessions=settings.run.history_sessions,
    )


def replay(
    weights: pd.DataFrame,
    bars: Bars,
    config: ReplayConfig,
    *,
    on_session: Callable[[int], None] | None = None,
    actions: Sequence[CorporateAction] = (),
) -> tuple[SimResult, pd.DataFrame]:
    """Plan and fill ``weights`` over ``bars`` as daily paper runs would; ``(book arrays, orders)``.

    The book starts flat in cash on the first session; row *t* of ``weights``
    is planned at *t*'s close and filled at the next session's open. Orders
    are one row per planned order, columns :data:`ORDER_COLUMNS` (``status``
    as the paper broker answered the submission: accepted, rejected or filled).
    ``on_session(i)`` is called after each session (a progress bar).
    ``actions`` (raw-price bars: the provider's splits and cash dividends) reach the paper book on their
    ex-date as a daily run's broker context carries them, and it applies them as it does in a paper run
    (:meth:`~regimeflex.execution.simulator.PaperBook.apply_corporate_actions`).
    """
    from regimeflex.risk.breakers import BreakerInputs, BreakerState, apply_breaker_action, check_circuit_breakers

    dates = bars.index
    close = bars["close"]
    symbols = [str(s) for s in close.columns]
    targets = weights.reindex(index=dates, columns=symbols).fillna(0.0)
    reference = close.ffill()
    opens = bars["open"]
    book = PaperBook.in_memory(config.paper, config.initial_cash)
    n = len(dates)
    equity, cash = np.zeros(n), np.zeros(n)
    shares = np.zeros((n, len(symbols)))
    where = {s: j for j, s in enumerate(symbols)}
    trades: list[tuple[int, int, float, float, float, float, int]] = []
    orders: list[tuple] = []
    open_ids: set[str] = set()  # orders waiting for a fill (the book keeps every order ever placed)
    atr = atr_panel(bars, config.stops)
    breaker_on = np.zeros(n, dtype=bool)
    state = BreakerState()
    previous_equity: float | None = None
    universe = {str(c) for c in weights.columns}
    traded = [s for s in symbols if s in universe]
    closes = close.reindex(columns=traded).to_numpy(dtype="float64")
    have = np.isfinite(closes)
    # inside a symbol's listed life (first to last bar) a session without a bar is stale: held, as the runner does
    started = np.maximum.accumulate(have, axis=0)
    ended = np.maximum.accumulate(have[::-1], axis=0)[::-1]
    gap = started & ended & ~have
    last_seen = np.where(have, np.arange(n)[:, None], -1)
    np.maximum.accumulate(last_seen, axis=0, out=last_seen)
    vix = None
    if config.vix_symbol and config.vix_symbol in close.columns:
        vix = close[config.vix_symbol].to_numpy(dtype="float64")

    def record_fills(first: int, day: int, raw: Mapping[str, float]) -> None:
        for f in book.fills[first:]:
            signed = f["qty"] if f["side"] == "buy" else -f["qty"]
            base = raw.get(f["client_order_id"], f["price"])
            event = EVENT_CODES.get(str(f.get("reason") or ""), EVENT_NONE)
            trades.append(
                (day, where[f["symbol"]], signed, f["price"], f["commission"], abs(f["price"] - base) * f["qty"], event)
            )

    due: dict[int, list[CorporateAction]] = {}  # each action on the first session on or after its ex-date
    if actions:
        rows = dates.searchsorted(pd.DatetimeIndex([pd.Timestamp(a.ex_date) for a in actions]), side="left")
        for row, action in zip(rows, actions, strict=True):
            due.setdefault(int(row), []).append(action)
    for i, day in enumerate(dates):
        book.prices = bars.iloc[: i + 1]
        book.session, book.pending_actions = day.date(), tuple(due.get(i, ()))
        first = len(book.fills)
        pending = {c: float(opens.at[day, book.orders[c]["symbol"]]) for c in open_ids}
        book.process()  # yesterday's orders fill at today's open
        open_ids = {c for c in open_ids if book.orders[c]["status"] in OPEN_STATUSES}
        record_fills(first, i, pending)
        row = targets.iloc[i]
        stale = gap[i]
        if config.breakers is not None or stale.any():
            account = book.account()
            prices_now = reference.iloc[i]
            current = pd.Series(
                {
                    s: p.qty * float(prices_now.get(s, p.avg_price)) / account.equity
                    for s, p in account.positions.items()
                },
                dtype="float64",
            )
            if config.breakers is not None:
                inputs = BreakerInputs(
                    session=day.date(),
                    equity=account.equity,
                    previous_close_equity=previous_equity,
                    vix=None if vix is None or not np.isfinite(vix[i]) else float(vix[i]),
                    stale_sessions=int((i - last_seen[i][stale]).max()) if stale.any() else 0,
                    rejected_orders=0,
                    orders_today=0,
                    weights=current.to_dict(),
                )
                decision = check_circuit_breakers(inputs, config.breakers, state)
                state = decision.state
                if decision.tripped:
                    breaker_on[i] = True
                    row = apply_breaker_action(row, current.reindex(row.index).fillna(0.0), decision)
            if stale.any():  # never trade on stale data: the symbol keeps its current weight
                row = row.copy()
                for sym in np.asarray(traded, dtype=object)[stale]:
                    row[sym] = float(current.get(sym, 0.0))
        plan = plan_orders(
            row,
            reference.iloc[i],
            book.account(),
            session=day.date(),
            rules=config.rules,
            capabilities=config.capabilities,
        )
        first = len(book.fills)
        planned = list(plan.orders)
        if config.stops.active and config.stops.cooldown_sessions:  # as the daily run does (session._cooldown)
            planned, _ = refuse_reentries(planned, book.fills, dates, day.date(), config.stops.cooldown_sessions)
        if config.stops.active:  # as the daily run does (execute_session): stops ride on the buys
            planned, _ = attach_stops(planned, config.stops, None if atr is None else atr.iloc[i])
        for order in planned:
            result = book.submit(order)
            if result.status in OPEN_STATUSES:
                open_ids.add(order.client_order_id)
            orders.append(
                (day, order.symbol, order.side, order.qty, order.reference_price, result.status, order.client_order_id)
            )
        record_fills(
            first, i, {o.client_order_id: float(o.limit_price or o.reference_price or 0.0) for o in planned}
        )  # fill_at: reference fills at once
        after = book.account()
        equity[i], cash[i] = after.equity, after.cash
        previous_equity = round(after.equity, 2)  # as the runner records it in the ledger's run_end
        for sym, pos in after.positions.items():
            shares[i, where[sym]] = pos.qty
        if on_session is not None:
            on_session(i)

    t = np.array(trades, dtype=np.float64).reshape(-1, 7)
    sim = SimResult(
        dates=dates,
        symbols=symbols,
        equity=equity,
        cash=cash,
        shares=shares,
        trade_day=t[:, 0].astype(np.int64),
        trade_sym=t[:, 1].astype(np.int64),
        trade_qty=t[:, 2],
        trade_price=t[:, 3],
        trade_commission=t[:, 4],
        trade_slippage=t[:, 5],
        breaker=breaker_on,
        trade_event=t[:, 6].astype(np.int8) if config.stops.active else None,
    )
    frame = pd.DataFrame(orders, columns=ORDER_COLUMNS)
    for col in ("symbol", "side", "status", "client_order_id"):
        frame[col] = frame[col].astype("str")
    return sim, frame
