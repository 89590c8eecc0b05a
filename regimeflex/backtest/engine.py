"""The backtest core: a pure function from target weights and bars to a simulated book.

This module owns the fill simulation and nothing else: given a dates × symbols
frame of target weights (decided at each session's close) and the Bars panel,
:func:`simulate` executes each decision at the next session's open (or close),
tracks cash and positions, charges commission (per share and in bps) and
slippage (bps), honours the rebalance frequency and a no-churn threshold, and
applies drawdown / daily-loss circuit breakers. It never calls a plugin and
never touches a file, so it is trivially testable and picklable for sweeps.

Three formulations give the same book (tests hold them together):

* ``_simulate_vectorised`` (one shared book) has no Python loop at all:
  without costs and path-dependent rules, every holding is a fixed multiple
  of the equity at its last trade, so equity is a cumulative product of
  growth factors.
* ``_simulate_sleeves`` is the same algebra for one book per symbol, computed
  on the list of trades only (sparse) instead of the whole dates × symbols panel.
* ``_simulate_loop`` walks the dates once; every statement inside the walk is
  an array operation across the symbols that may trade that session (no
  per-symbol Python loop). It handles costs, whole shares, the no-churn
  threshold and breakers, whose effect depends on the path.

:func:`simulate` picks a loop-free one whenever the configuration allows.
``benchmarks/`` measures them against vectorbt.

Conventions (also in ``docs``/benchmarks README):

* The weight on row *t* is the target decided with bars up to *t*; it trades
  at *t+1*'s open (``fill="next_open"``) or close (``fill="next_close"``). The
  last row's decision is never executed; the first session starts flat.
* A weight is a fraction of equity valued at the execution price. Missing
  prices (NaN) mean "no trade in that symbol that session"; positions are
  valued at their last known close.
* ``sleeves=True`` gives every symbol its own account holding
  ``initial_cash / n_symbols`` (no cash sharing), the convention of the peer
  benchmark; a weight is then a fraction of that sleeve's equity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from regimeflex.execution.stops import (
    StopRule,
    atr_panel,
    levels,
    placed_levels,
    protection,
    ratchets,
    stop_fill_prices,
    take_profit_fill_prices,
)

Fill = Literal["next_open", "next_close"]
Rebalance = Literal["daily", "weekly", "monthly", "on_change"]
BreakerAction = str  # "flatten" | "block_entries" | "reduce:<x>"
BreakerReset = Literal["next_session", "recovery", "manual"]

#: Relative share changes below this are float noise, not trades (e.g. a fully
#: invested sleeve "rebalanced" to 100 %): they are neither executed nor recorded.
_DUST = 1e-9

_REBALANCE = ("daily", "weekly", "monthly", "on_change")
_FILLS = ("next_open", "next_close")


@dataclass(frozen=True)
class Costs:
    """Trading costs. ``commission_bps`` and ``slippage_bps`` are basis points of notional."""

    commission_per_share: float = 0.0
    commission_bps: float = 0.0
    slippage_bps: float = 0.0

    @property
    def zero(self) -> bool:
        return self.commission_per_share == 0 and self.commission_bps == 0 and self.slippage_bps == 0


@dataclass(frozen=True)
class BreakerRule:
    """One equity circuit breaker, as risk.yaml ``circuit_breakers`` describes it.

    ``measure``: ``max_drawdown`` (fraction below the equity peak) or
    ``daily_loss`` (fraction lost since the previous close), evaluated at each
    close; it trips when the value reaches ``threshold`` and constrains every
    execution after that until it resets. ``action``: ``flatten`` (targets → 0),
    ``reduce:<x>`` (targets × x) or ``block_entries`` (no position may open or
    grow). ``reset``: ``next_session`` (re-evaluated at the next close),
    ``recovery`` (once the value falls below ``recover_below``, default the
    threshold) or ``manual`` (never, inside a backtest).
    """

    measure: Literal["max_drawdown", "daily_loss"]
    threshold: float
    action: BreakerAction = "flatten"
    reset: BreakerReset = "manual"
    recover_below: float | None = None

    def __post_init__(self) -> None:
        if self.measure not in ("max_drawdown", "daily_loss"):
            raise ValueError(f"breakers: measure must be max_drawdown or daily_loss, got {self.measure!r}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"breakers.{self.measure}.threshold: must be between 0 and 1, got {self.threshold}")
        if self.reset not in ("next_session", "recovery", "manual"):
            raise ValueError(
                f"breakers.{self.measure}.reset: must be next_session, recovery or manual, got {self.reset!r}"
            )
        _breaker_scale(self.action)  # validates the action string


@dataclass(frozen=True)
class Breakers:
    """The equity breakers of a backtest (empty = none). Several tripped at once: the
    strictest scale applies, and ``block_entries`` applies on top."""

    rules: tuple[BreakerRule, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.rules)


@dataclass(frozen=True)
class SimConfig:
    """Everything the fill simulation needs besides weights and bars."""

    initial_cash: float = 100_000.0
    costs: Costs = field(default_factory=Costs)
    fill: Fill = "next_open"
    rebalance: Rebalance = "daily"
    min_trade_weight: float = 0.0
    fractional: bool = True
    sleeves: bool = False
    breakers: Breakers = field(default_factory=Breakers)
    #: risk.yaml ``stops:``: a protective stop on every long position, simulated on the daily bars with the
    #: paper broker's rules (:mod:`regimeflex.execution.stops`); the date loop runs when one is set
    stops: StopRule = field(default_factory=StopRule)
    #: sleeves only: each sleeve's starting cash (default ``initial_cash`` / number of symbols); a backtest
    #: run in chunks of symbols sets it to the whole universe's share so every chunk's sleeves start alike
    sleeve_cash: float | None = None

    def __post_init__(self) -> None:
        if self.fill not in _FILLS:
            raise ValueError(f"fill: must be one of {list(_FILLS)}, got {self.fill!r}")
        if self.rebalance not in _REBALANCE:
            raise ValueError(f"rebalance: must be one of {list(_REBALANCE)}, got {self.rebalance!r}")
        if not self.initial_cash > 0:
            raise ValueError(f"initial_cash: must be > 0, got {self.initial_cash}")
        if self.min_trade_weight < 0:
            raise ValueError(f"min_trade_weight: must be >= 0, got {self.min_trade_weight}")
        if self.sleeve_cash is not None and not self.sleeve_cash > 0:
            raise ValueError(f"sleeve_cash: must be > 0, got {self.sleeve_cash}")

    @property
    def loop_free(self) -> bool:
        """True when the book is a product of per-period growth factors (see ``_simulate_vectorised``)."""
        return (
            self.costs.zero
            and self.fractional
            and self.min_trade_weight == 0
            and not self.breakers.active
            and not self.stops.active
        )


@dataclass(frozen=True)
class SimResult:
    """The simulated book as plain arrays (``to_frames`` turns them into DataFrames).

    ``shares[t]``, ``cash[t]`` and ``equity[t]`` are the state at session *t*'s
    close. ``trades`` holds one row per fill: session index, symbol index,
    signed quantity, fill price, commission, slippage cost. ``breaker[t]`` is
    True when a breaker constrained the execution on session *t*.
    """

    dates: pd.DatetimeIndex
    symbols: list[str]
    equity: np.ndarray
    cash: np.ndarray
    shares: np.ndarray
    trade_day: np.ndarray
    trade_sym: np.ndarray
    trade_qty: np.ndarray
    trade_price: np.ndarray
    trade_commission: np.ndarray
    trade_slippage: np.ndarray
    breaker: np.ndarray
    #: sleeves: Σ|value| and Σ value of the positions at each close, summed symbol by symbol in column
    #: order (:class:`SleeveTotals`), so a chunked backtest's exposures equal the unchunked ones bit for bit
    gross_value: np.ndarray | None = None
    net_value: np.ndarray | None = None
    #: per trade, why it was filled: :data:`EVENT_NONE` (the targets), :data:`EVENT_STOP` or
    #: :data:`EVENT_TAKE_PROFIT` (a protective stop's exit); ``None`` when every trade followed the targets
    trade_event: np.ndarray | None = None
    #: what the simulation could not do, one line each (e.g. buys left without a stop: no ATR yet)
    notes: tuple[str, ...] = ()
    #: stops: the buys that got no stop, symbol → count (the counts behind that note)
    unprotected: dict[str, int] = field(default_factory=dict)

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1])


#: :attr:`SimResult.trade_event` codes and the trades table's ``event`` they read as
EVENT_NONE, EVENT_STOP, EVENT_TAKE_PROFIT = 0, 1, 2
EVENT_NAMES = {EVENT_NONE: "", EVENT_STOP: "stop", EVENT_TAKE_PROFIT: "take_profit"}
#: a fill's ``reason`` (the paper book's and the ledger's: stop | take_profit | "") → its event code
EVENT_CODES = {name: code for code, name in EVENT_NAMES.items()}


@dataclass(frozen=True)
class HeldActions:
    """Corporate actions on held positions (raw-price backtests), as dates × symbols arrays aligned with
    the bars (:func:`regimeflex.data.actions.action_arrays`): ``ratio`` the split ratio effective at the
    start of a session (1 elsewhere), ``cash`` the cash dividend per share (0 elsewhere)."""

    ratio: np.ndarray
    cash: np.ndarray
    #: the sessions with any action (the loop applies nothing on the others)
    rows: frozenset[int] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        rows = np.flatnonzero((self.ratio != 1.0).any(axis=1) | (self.cash != 0.0).any(axis=1))
        object.__setattr__(self, "rows", frozenset(int(r) for r in rows))


def apply_held_actions(actions: HeldActions, t: int, shares: np.ndarray, cash: np.ndarray, sleeves: bool) -> None:
    """At the start of session ``t`` (before its trades), as the paper broker does: credit each held
    position's cash dividend (shares held × cash per share) and multiply its quantity by the split ratio,
    in place. A split moves no cash and keeps the position's value at the raw prices."""
    div = actions.cash[t]
    if div.any():
        paid = shares * div
        if sleeves:
            cash += paid
        else:
            cash[0] += paid.sum()
    shares *= actions.ratio[t]


class SleeveTotals:
    """The book totals of independent sleeves, accumulated symbol by symbol in column order.

    Every total is a running sum that starts at 0 and adds one sleeve at a time (cash flows per
    session with ``np.add.at``, which adds in order; position values one column at a time), so
    feeding the sleeves in chunks of symbols gives the very same floats as feeding them at once:
    a chunked backtest equals the unchunked one exactly (``backtest.chunk_symbols``).
    """

    def __init__(self, sessions: int) -> None:
        self.flows = np.zeros(sessions)
        self.value = np.zeros(sessions)
        self.gross = np.zeros(sessions)

    def add(self, day: np.ndarray, flow: np.ndarray, shares: np.ndarray, c_val: np.ndarray) -> None:
        """Add sleeves: their trades' sessions and cash flows (sorted by sleeve, then session) and
        their dense shares and valuation prices (dates × sleeves)."""
        np.add.at(self.flows, day, flow)
        self._add_positions(shares, c_val)

    def add_book(self, cash: np.ndarray, start_cash: float, shares: np.ndarray, c_val: np.ndarray) -> None:
        """Add sleeves simulated by the date loop (corporate actions, stops): their summed cash at each
        close (``cash``, ``start_cash`` before the first session) and their dense shares and valuation
        prices (dates × sleeves). The cash flows are the session-to-session changes of that sum, so the
        totals equal the unchunked loop's to float rounding (not bit for bit)."""
        self.flows += np.diff(cash, prepend=start_cash)
        self._add_positions(shares, c_val)

    def _add_positions(self, shares: np.ndarray, c_val: np.ndarray) -> None:
        """Position values and gross exposure, one sleeve (column) at a time in column order."""
        for j in range(shares.shape[1]):
            v = shares[:, j] * c_val[:, j]
            self.value += v
            np.abs(v, out=v)
            self.gross += v

    def cash(self, initial_cash: float) -> np.ndarray:
        return initial_cash + np.cumsum(self.flows)


# --------------------------------------------------------------------------- helpers


def _breaker_scale(action: str) -> float | None:
    """Scale applied to targets by a tripped breaker; None means ``block_entries``."""
    if action == "flatten":
        return 0.0
    if action == "block_entries":
        return None
    if action.startswith("reduce:"):
        try:
            x = float(action.split(":", 1)[1])
        except ValueError:
            x = -1.0
        if 0.0 <= x <= 1.0:
            return x
    raise ValueError(f"breakers: action must be flatten, block_entries or reduce:<0..1>, got {action!r}")


def _ffill_rows(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaN down the rows of a 2-D array (vectorised, no pandas)."""
    ok = np.isfinite(a)
    if ok.all():
        return a
    idx = np.where(ok, np.arange(a.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    return a.ravel().take((idx * a.shape[1] + np.arange(a.shape[1])).ravel()).reshape(a.shape)


def _valuation_and_exec_prices(c: np.ndarray, px: np.ndarray):
    """(last known close or 0, execution price is usable, execution price or 1): clean panels skip the copies."""
    c_val = _ffill_rows(c)
    if c_val is not c:  # not all finite: leading NaN (before a listing) → 0
        c_val = np.where(np.isfinite(c_val), c_val, 0.0)
    px_ok = np.isfinite(px)
    px_ok &= px > 0
    px_safe = px if px_ok.all() else np.where(px_ok, px, 1.0)
    return c_val, px_ok, px_safe


def _rebalance_rows(dates: pd.DatetimeIndex, rebalance: Rebalance) -> np.ndarray:
    """For each session, whether the whole book may be reset to its targets that session.

    ``weekly``/``monthly`` trade on the first session of each week/month (the
    decision of the previous period's last close); ``on_change`` has no
    schedule (see :func:`_trade_mask`).
    """
    n = len(dates)
    if rebalance == "daily":
        return np.ones(n, dtype=bool)
    if rebalance == "on_change":
        return np.zeros(n, dtype=bool)
    if rebalance == "weekly":
        key = dates.to_period("W").asi8
    else:
        key = dates.to_period("M").asi8
    first = np.ones(n, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return first


def _trade_mask(
    w: np.ndarray, px_ok: np.ndarray, dates: pd.DatetimeIndex, rebalance: Rebalance, force: np.ndarray | None = None
) -> np.ndarray:
    """(T, N) bool: may symbol j trade on session t? Row t executes decision w[t-1].

    ``daily``/``weekly``/``monthly``: every symbol is reset to its target on
    the schedule's sessions and nothing trades in between (a new entry or exit
    waits for the next rebalance session). ``on_change``: a symbol trades when
    its target differs from the one it was last given a chance to trade at
    (a change that meets a missing price waits for the next priced session),
    and a position is otherwise left to drift. ``force`` marks cells that may trade whatever the
    schedule (a symbol's last bar, where its position is closed).
    """
    mask = _schedule_mask(w, px_ok, dates, rebalance)
    if force is not None:
        mask = mask | (force & px_ok)
        mask[0] = False
    return mask


def _schedule_mask(w: np.ndarray, px_ok: np.ndarray, dates: pd.DatetimeIndex, rebalance: Rebalance) -> np.ndarray:
    t, n = w.shape
    if rebalance == "on_change" and px_ok.all():
        # every price known: the last target given a chance to trade is simply the previous row's
        mask = np.zeros(w.shape, dtype=bool)
        if t > 1:
            np.not_equal(w[0], 0.0, out=mask[1])
            np.not_equal(w[1:-1], w[:-2], out=mask[2:])
        return mask
    if rebalance == "on_change":
        w_exec = np.zeros_like(w)
        w_exec[1:] = w[:-1]
        # target at the previous priced session of each symbol (0 before the first)
        seen = np.where(px_ok, w_exec, np.nan)
        seen[0] = 0.0
        last = np.zeros_like(w)
        last[1:] = _ffill_rows(seen)[:-1]
        mask = (w_exec != last) & px_ok
    else:
        mask = _rebalance_rows(dates, rebalance)[:, None] & px_ok
    mask[0] = False
    return mask


def _prepare(weights: pd.DataFrame, bars: pd.DataFrame, cfg: SimConfig):
    """(symbols, weights, closes, execution prices) as float arrays in whatever memory order pandas
    holds them (column-major for a Bars panel); the formulations that need row-major copy themselves."""
    close = bars["close"]
    symbols = [str(s) for s in close.columns]
    if not (weights.columns.equals(close.columns) and weights.index.equals(close.index)):
        weights = weights.reindex(index=close.index, columns=close.columns)
    w = weights.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(w).all():
        w = np.where(np.isfinite(w), w, 0.0)
    c = close.to_numpy(dtype=np.float64)
    exec_px = (bars["open"] if cfg.fill == "next_open" else close).to_numpy(dtype=np.float64)
    return symbols, w, c, exec_px


# --------------------------------------------------------------------------- public


def simulate(
    weights: pd.DataFrame,
    bars: pd.DataFrame,
    config: SimConfig | None = None,
    *,
    method: Literal["auto", "loop", "vectorised"] = "auto",
    force: np.ndarray | None = None,
    totals: SleeveTotals | None = None,
    on_session: Callable[[int], None] | None = None,
    actions: HeldActions | None = None,
) -> SimResult:
    """Simulate trading ``weights`` over ``bars`` and return the book.

    :param weights: dates × symbols target weights (fractions of equity);
        reindexed to the bars (missing → 0). NaN means 0.
    :param bars: the Bars panel (only ``open`` and ``close`` are read).
    :param config: costs, fill timing, rebalance rule, breakers; defaults to
        :class:`SimConfig` ().
    :param method: ``auto`` uses the loop-free formulation whenever the
        configuration allows it (:attr:`SimConfig.loop_free`) and the date
        loop otherwise; ``loop`` forces the loop; ``vectorised`` raises
        ``ValueError`` when the configuration needs the loop.
    :param force: optional dates × symbols bool array of cells that trade whatever the rebalance
        schedule (the backtest closes a symbol whose data ends on its last bar this way).
    :param totals: sleeves only (no equity breakers): the running book totals to add these sleeves to
        (a chunked backtest passes one across its chunks; the result's equity and cash are then those of
        every sleeve added so far, its shares and trades those of this call's symbols). Loop-free sleeves
        add exactly (:meth:`SleeveTotals.add`); sleeves the date loop simulates (corporate actions,
        stops, costs) add their summed cash and positions (:meth:`SleeveTotals.add_book`).
    :param on_session: ``on_session(t)`` after session ``t`` (0-based row) is simulated (a progress
        bar); the loop-free formulations compute every session at once and report the last.
    :param actions: splits and cash dividends of raw-price bars (:class:`HeldActions`), applied to the
        held quantity and the cash at the start of each ex-date (:func:`apply_held_actions`); the date
        loop runs then (a held quantity that changes between trades is not a loop-free growth factor).
    """
    cfg = config or SimConfig()
    if actions is not None and actions.rows:
        if method == "vectorised":
            raise ValueError("simulate(actions=...): corporate actions on held positions need the date loop")
        method = "loop"
    if totals is not None and not (cfg.sleeves and not cfg.breakers.active):
        raise ValueError(
            "simulate(totals=...): only for independent sleeves without equity breakers (chunked backtests)"
        )
    symbols, w, c, px = _prepare(weights, bars, cfg)
    dates = pd.DatetimeIndex(bars.index)
    if method == "vectorised" and not cfg.loop_free:
        raise ValueError(
            "simulate(method='vectorised'): costs, whole shares, min_trade_weight and "
            "breakers need the date loop; use method='loop' or 'auto'"
        )
    if method != "loop" and cfg.loop_free:
        if cfg.sleeves:
            return _reported(_simulate_sleeves(dates, symbols, w, c, px, cfg, force, totals), on_session)
        rw, rc, rpx = _row_major(w, c, px)
        res = _simulate_vectorised(dates, symbols, rw, rc, rpx, cfg, force)
        if res is not None:
            return _reported(res, on_session)
        if method == "vectorised":
            raise ValueError(
                "simulate(method='vectorised'): a shared book whose symbols trade on "
                "different sessions (on_change, or a missing price) needs the date loop"
            )
    rw, rc, rpx = _row_major(w, c, px)
    stops = _StopBook(cfg, bars, rc) if cfg.stops.active else None
    return _simulate_loop(dates, symbols, rw, rc, rpx, cfg, force, on_session, actions, stops, totals)


def _reported(result: SimResult, on_session: Callable[[int], None] | None) -> SimResult:
    """A loop-free result computed every session at once: report the last one."""
    if on_session is not None and len(result.dates):
        on_session(len(result.dates) - 1)
    return result


def _row_major(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    # pandas hands 2-D blocks back column-major; the row-by-row formulations (the date loop's row
    # reads, the shared book's row gathers) are several times faster on row-major arrays
    return tuple(np.ascontiguousarray(a) for a in arrays)


def _empty_trades():
    return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))


class _StopBook:
    """The protective stops of the date loop: one per long position, simulated on the daily bars with the
    paper broker's rules and functions (:mod:`regimeflex.execution.stops`; see ``PaperBook._fill`` and
    ``PaperBook._process_stops``), every step an array operation across the symbols concerned.

    * A buy (an entry or a top-up) that fills at ``p`` places the stop at ``p − distance`` (and the
      take-profit at ``p + take_profit``), the distance measured as the planner does from the decision
      session's close (fixed %, trailing %) or its ATR (``atr``); checked from the next session.
    * Each later session: a stop triggers when the low ≤ stop and fills at the stop, or at the open when
      the open gaps through it; else a take-profit fills at its level or an open above it (the stop is
      checked first); else a trailing stop ratchets on the close. A session without a bar checks nothing.
    * The exit sells the whole position (no slippage; commission as any trade). The symbol then re-enters
      at the first session its target may execute after ``cooldown_sessions`` (the daily run's planner
      re-buys a stopped-out symbol whose target is still positive at the stop-out session's close, and
      the cooldown refuses buys planned on the stop-out session and the ``cooldown_sessions`` after it),
      whatever the rebalance schedule; a take-profit starts no cooldown.
    * A full exit by the targets removes the stop; a partial sell leaves it on the rest; a split divides
      the levels by its ratio.
    """

    def __init__(self, cfg: SimConfig, bars: pd.DataFrame, c: np.ndarray) -> None:
        rule = cfg.stops
        cols = bars["close"].columns
        self.rule = rule
        self.open, self.low, self.high = (
            np.ascontiguousarray(bars[f].reindex(columns=cols).to_numpy(dtype=np.float64))
            for f in ("open", "low", "high")
        )
        self.close = c
        atr = atr_panel(bars, rule)
        self.atr = None if atr is None else np.ascontiguousarray(atr.reindex(columns=cols).to_numpy(dtype=np.float64))
        ref = _ffill_rows(c)  # the planner's reference price: the decision session's last close
        self.ref = np.where(np.isfinite(ref), ref, 0.0)
        n = c.shape[1]
        self.stop = np.full(n, np.nan)
        self.distance = np.zeros(n)
        self.take_profit = np.full(n, np.nan)
        self.checked_from = np.zeros(n, dtype=np.int64)
        self.buy_from = np.zeros(n, dtype=np.int64)  # first session a buy may execute (re-entry cooldown)
        self.reenter = np.zeros(n, dtype=bool)  # exited by a stop: trades at buy_from whatever the schedule
        self.lag = 1 if cfg.fill == "next_open" else 0  # decision → execution sessions
        self.unprotected: dict[str, int] = {}

    def split(self, ratio: np.ndarray) -> None:
        """A split effective at the start of the session: the levels follow the price (``PaperBook``)."""
        j = np.flatnonzero((ratio != 1.0) & np.isfinite(self.stop))
        if j.size:
            r = ratio[j]
            self.stop[j] = levels(self.stop[j] / r)
            self.distance[j] = self.distance[j] / r
            tp = np.isfinite(self.take_profit[j])
            self.take_profit[j[tp]] = levels(self.take_profit[j[tp]] / r[tp])

    def cooling(self, t: int, idx: np.ndarray) -> np.ndarray:
        """Of ``idx``, which may not buy on session ``t`` (the re-entry cooldown)."""
        return self.buy_from[idx] > t

    def due(self, t: int, idx: np.ndarray, priced: np.ndarray) -> np.ndarray:
        """``idx`` plus the stopped-out symbols whose re-entry may execute on session ``t``."""
        if self.reenter.any():
            extra = np.flatnonzero(self.reenter & (self.buy_from <= t) & priced)
            if extra.size:
                idx = np.union1d(idx, extra)
            self.reenter[idx[self.buy_from[idx] <= t]] = False
        return idx

    def traded(self, t: int, j: np.ndarray, d: np.ndarray, fill_px: np.ndarray, shares: np.ndarray, symbols) -> None:
        """After session ``t``'s trades ``j`` (signed ``d`` at ``fill_px``): place the buys' stops, drop the
        stops of positions the targets closed."""
        closed = j[shares[j] <= 0]
        self.stop[closed] = np.nan
        self.take_profit[closed] = np.nan
        buys = (d > 0) & (shares[j] > 0)
        if not buys.any():
            return
        ref = self.ref[t - 1]  # decided at the previous session's close
        atr = None if self.atr is None else self.atr[t - 1]
        for k, px in zip(j[buys].tolist(), fill_px[buys].tolist(), strict=True):
            protect = protection(self.rule, float(ref[k]), None if atr is None else float(atr[k]))
            if protect is None:  # the paper book leaves the position's earlier stop, if any
                self.unprotected[symbols[k]] = self.unprotected.get(symbols[k], 0) + 1
                continue
            stop, tp = placed_levels(px, protect)
            self.stop[k], self.distance[k] = stop, float(protect.distance)
            self.take_profit[k] = np.nan if tp is None else tp
            self.checked_from[k] = t + 1

    def check(self, t: int, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Session ``t``'s bar against every working stop: ``(symbols exited, fill prices, events)``;
        trailing stops that held ratchet on the close."""
        o = self.open[t]
        c = np.flatnonzero(np.isfinite(self.stop) & (self.checked_from <= t) & (shares > 0) & np.isfinite(o))
        if not c.size:
            return c, np.zeros(0), np.zeros(0, dtype=np.int8)
        px = stop_fill_prices(self.stop[c], o[c], self.low[t][c])
        event = np.full(c.size, EVENT_STOP, dtype=np.int8)
        tp = np.isnan(px) & np.isfinite(self.take_profit[c])
        if tp.any():
            px[tp] = take_profit_fill_prices(self.take_profit[c[tp]], o[c[tp]], self.high[t][c[tp]])
            event[tp] = EVENT_TAKE_PROFIT
        hit = np.isfinite(px)
        held = c[~hit]
        if self.rule.kind == "trailing" and held.size:
            self.stop[held] = levels(ratchets(self.stop[held], self.close[t][held], self.distance[held]))
        out, px, event = c[hit], px[hit], event[hit]
        if out.size:
            self.stop[out] = np.nan
            self.take_profit[out] = np.nan
            n_cool = self.rule.cooldown_sessions
            stopped = event == EVENT_STOP
            # the first decision session allowed is the stop-out's (no cooldown) or n_cool + 1 after it
            self.buy_from[out] = t + self.lag + np.where(stopped & (n_cool > 0), n_cool + 1, 0)
            self.reenter[out] = True
        return out, px, event

    def notes(self) -> tuple[str, ...]:
        return unprotected_notes(self.rule.kind, self.unprotected)


def unprotected_notes(kind: str, unprotected: dict[str, int]) -> tuple[str, ...]:
    """The one line saying which buys got no stop (symbol → count), or none; a chunked backtest sums
    its chunks' counts (:attr:`SimResult.unprotected`) into the unchunked run's single line."""
    if not unprotected:
        return ()
    which = ", ".join(f"{s} ×{k}" for s, k in sorted(unprotected.items()))
    return (
        f"stops: {sum(unprotected.values())} buy(s) got no {kind} stop "
        f"(no ATR or reference price yet at the decision): {which}",
    )


def _simulate_loop(
    dates, symbols, w, c, px, cfg: SimConfig, force=None, on_session=None, actions=None, stops=None, totals=None
) -> SimResult:
    """One pass over the dates; every statement is an array operation across symbols. With ``totals``
    (sleeves of a chunked backtest) these sleeves' book is added to the running totals and the result's
    equity and cash are those of every sleeve added so far."""
    t_n, n = c.shape
    costs = cfg.costs
    slip = costs.slippage_bps * 1e-4
    cbps = costs.commission_bps * 1e-4
    cps = costs.commission_per_share
    c_val = _ffill_rows(c)  # valuation price: last known close
    c_val = np.where(np.isfinite(c_val), c_val, 0.0)
    px_ok = np.isfinite(px) & (px > 0)
    px_safe = np.where(px_ok, px, 1.0)
    # price at which an untradable position is valued at execution time: last close
    prev_val = np.zeros_like(c_val)
    prev_val[1:] = c_val[:-1]
    px_val = np.where(px_ok, px, prev_val)
    may_trade = _trade_mask(w, px_ok, dates, cfg.rebalance, force)
    # each session touches only the symbols that may trade in it (a few of hundreds on most days),
    # so the loop body works on those columns alone
    rows, cols = np.nonzero(may_trade)
    trade_cols = np.split(cols, np.searchsorted(rows, np.arange(1, t_n)))
    sleeves = cfg.sleeves
    n_books = n if sleeves else 1
    per_book = cfg.sleeve_cash if sleeves and cfg.sleeve_cash is not None else cfg.initial_cash / n_books
    cash = np.full(n_books, per_book)
    shares = np.zeros(n)
    out_sh = np.zeros((t_n, n))
    out_cash = np.zeros(t_n)
    out_eq = np.zeros(t_n)
    out_brk = np.zeros(t_n, dtype=bool)
    out_eq[0] = out_cash[0] = cfg.initial_cash
    tr: list[tuple] = []
    rules = cfg.breakers.rules
    scales = [_breaker_scale(r.action) for r in rules]
    tripped = [False] * len(rules)
    any_tripped = False
    scale: float | None = None
    block = False
    peak = cfg.initial_cash
    prev_eq = cfg.initial_cash
    thr = cfg.min_trade_weight
    if on_session is not None:
        on_session(0)
    action_rows = actions.rows if actions is not None else frozenset()
    for t in range(1, t_n):
        if t in action_rows:
            apply_held_actions(actions, t, shares, cash, sleeves)
            if stops is not None:
                stops.split(actions.ratio[t])
        if stops is not None and not stops.lag:  # next_close: the session's bar comes before its close trades
            _stop_exits(stops, t, shares, cash, sleeves, cps, cbps, tr)
        if any_tripped:
            out_brk[t] = True
            idx = np.flatnonzero(px_ok[t])
        else:
            idx = trade_cols[t]
        if stops is not None:
            idx = stops.due(t, idx, px_ok[t])
        if idx.size:
            # row views first, then the gather: much cheaper than 2-D fancy indexing
            p = px_safe[t][idx]
            held = shares[idx]
            pv = px_val[t][idx]
            e_exec = cash[idx] + held * pv if sleeves else cash[0] + shares @ px_val[t]
            target = w[t - 1][idx]
            if stops is not None:  # the re-entry cooldown refuses buys
                cool = stops.cooling(t, idx)
                if cool.any():
                    target = np.where(cool, np.minimum(target, 0.0), target)
            if any_tripped:
                if scale is not None:
                    target = target * scale
                if block:  # no position may grow or open
                    target = np.where(target * held > 0, target, 0.0)
                    cur_w = held * pv / np.where(e_exec != 0, e_exec, 1.0)
                    target = np.sign(target) * np.minimum(np.abs(target), np.abs(cur_w))
            want = target * e_exec / p
            if not cfg.fractional:
                want = np.trunc(want)
            delta = want - held
            keep = np.abs(delta) > _DUST * np.maximum(np.abs(want), np.abs(held))
            if thr > 0:
                keep &= np.abs(delta * p) >= thr * (e_exec if sleeves else abs(e_exec))
            if keep.any():
                j, d, p = idx[keep], delta[keep], p[keep]
                fill_px = p * (1.0 + slip * np.sign(d)) if slip else p
                comm = _settle(j, d, fill_px, cash, sleeves, cps, cbps)
                shares[j] += d
                tr.append((np.full(j.size, t), j, d, fill_px, comm, np.abs(d) * p * slip, np.zeros(j.size)))
                if stops is not None:
                    stops.traded(t, j, d, fill_px, shares, symbols)
        if stops is not None and stops.lag:  # next_open: the opening trades, then the session's bar
            _stop_exits(stops, t, shares, cash, sleeves, cps, cbps, tr)
        book_cash = cash.sum() if sleeves else cash[0]
        eq = book_cash + shares @ c_val[t]
        out_sh[t] = shares
        out_cash[t] = book_cash
        out_eq[t] = eq
        if rules:
            peak = max(peak, eq)
            drawdown = 1.0 - eq / peak if peak > 0 else 0.0
            daily_loss = 1.0 - eq / prev_eq if prev_eq > 0 else 0.0
            for k, r in enumerate(rules):
                v = drawdown if r.measure == "max_drawdown" else daily_loss
                if v >= r.threshold:
                    tripped[k] = True
                elif tripped[k] and (
                    r.reset == "next_session"
                    or (r.reset == "recovery" and v < (r.recover_below if r.recover_below is not None else r.threshold))
                ):
                    tripped[k] = False
            on = [scales[k] for k in range(len(rules)) if tripped[k]]
            any_tripped = bool(on)
            block = any(x is None for x in on)
            factors = [x for x in on if x is not None]
            scale = min(factors) if factors else None
            prev_eq = eq
        if on_session is not None:
            on_session(t)
    trade_columns: list[np.ndarray]
    if tr:
        trade_columns = [np.concatenate([x[k] for x in tr]) for k in range(7)]
    else:
        trade_columns = [*_empty_trades(), np.zeros(0)]
    gross_value = net_value = None
    if totals is not None:  # this chunk's sleeves into the book totals (out_cash: their summed cash)
        out_cash[0] = per_book * n_books
        totals.add_book(out_cash, per_book * n_books, out_sh, c_val)
        out_cash = totals.cash(cfg.initial_cash)
        out_eq = out_cash + totals.value
        gross_value, net_value = totals.gross.copy(), totals.value.copy()
    event = None
    if stops is not None:  # the stop exits were appended after their session's trades: order by session
        order = np.argsort(trade_columns[0], kind="stable")
        trade_columns = [col[order] for col in trade_columns]
        event = trade_columns[6].astype(np.int8)
    return SimResult(
        dates,
        symbols,
        out_eq,
        out_cash,
        out_sh,
        trade_columns[0].astype(np.int64),
        trade_columns[1].astype(np.int64),
        trade_columns[2],
        trade_columns[3],
        trade_columns[4],
        trade_columns[5],
        out_brk,
        gross_value,
        net_value,
        trade_event=event,
        notes=stops.notes() if stops is not None else (),
        unprotected=dict(stops.unprotected) if stops is not None else {},
    )


def _settle(
    j: np.ndarray, d: np.ndarray, fill_px: np.ndarray, cash: np.ndarray, sleeves: bool, cps: float, cbps: float
):
    """Pay for trades ``d`` (signed shares) of symbols ``j`` at ``fill_px`` out of the sleeves' or the
    shared book's cash, commission included; returns the commissions."""
    notional = d * fill_px
    comm = np.abs(d) * cps + np.abs(notional) * cbps if (cps or cbps) else np.zeros(j.size)
    spend = notional + comm
    if sleeves:
        cash[j] -= spend
    else:
        cash[0] -= spend.sum()
    return comm


def _stop_exits(stops: _StopBook, t: int, shares, cash, sleeves: bool, cps: float, cbps: float, tr: list) -> None:
    """Sell the positions whose stop or take-profit session ``t``'s bar reached, whole, at the stop's fill
    price (no slippage, as the paper book; commission as any trade)."""
    j, px, event = stops.check(t, shares)
    if not j.size:
        return
    d = -shares[j]
    comm = _settle(j, d, px, cash, sleeves, cps, cbps)
    shares[j] = 0.0
    tr.append((np.full(j.size, t), j, d, px, comm, np.zeros(j.size), event.astype(np.float64)))


def _simulate_vectorised(dates, symbols, w, c, px, cfg: SimConfig, force=None) -> SimResult | None:
    """The same book with no Python loop, when costs are zero and nothing is path-dependent.

    A book's holdings change only on its trading sessions *k*. Right after
    trading at *k* it holds ``a_j = w_j / p_j`` shares per unit of its equity
    ``E_k`` (``w`` = the executed targets, ``p`` = execution prices) and
    ``r = 1 - Σ_j w_j`` of ``E_k`` in cash. So from *k* until its next trade
    the book is worth ``E_k · (r + Σ_j a_j · price_j(t))``: a function of
    prices alone times ``E_k``. At the next trading session *k'* the growth
    ``G = E_k' / E_k`` is that same expression at the execution prices, and
    ``E`` at every trading session is the cumulative product of the ``G`` —
    one ``cumprod`` down the dates. A shared book needs every symbol to trade
    on the same sessions (a schedule, not ``on_change``, and no missing price
    on a rebalance session), else this returns None and the loop runs.
    Sleeves are one book per symbol: :func:`_simulate_sleeves`.
    """
    t_n, n = c.shape
    c_val, px_ok, px_safe = _valuation_and_exec_prices(c, px)
    may = _trade_mask(w, px_ok, dates, cfg.rebalance, force)
    w_exec = np.zeros_like(w)
    w_exec[1:] = w[:-1]
    rows = np.arange(t_n)
    trade_row = may.any(axis=1)
    if not np.array_equal(may[trade_row], px_ok[trade_row]) or (cfg.rebalance == "on_change" and n > 1):
        return None
    a = w_exec / px_safe  # shares per unit of equity after trading
    seg1 = np.where(trade_row, rows, 0)
    np.maximum.accumulate(seg1, out=seg1)
    prev1 = np.zeros_like(seg1)
    prev1[1:] = seg1[:-1]
    r = 1.0 - w_exec.sum(axis=1)  # r[0] = 1, a[0] = 0: the flat start
    tr_idx = np.flatnonzero(trade_row)
    pk = prev1[tr_idx]
    unpriced = ~px_ok[tr_idx]
    if (unpriced & ((a[pk] != 0) | (w_exec[tr_idx] != 0))).any():
        return None  # a held/targeted symbol cannot trade
    growth = np.ones(t_n)
    growth[tr_idx] = r[pk] + np.einsum("ij,ij->i", a[pk], px_safe[tr_idx])
    e_seg = cfg.initial_cash * np.cumprod(growth)
    shares = e_seg[:, None] * a[seg1]
    cash = e_seg * r[seg1]
    equity = cash + np.einsum("ij,ij->i", shares, c_val)
    # trades happen only where ``may`` is set (sparse): read the share change there
    day, sym = np.nonzero(may)  # may[0] is all False, so day >= 1
    new, old = shares[day, sym], shares[day - 1, sym]
    qty = new - old
    keep = np.abs(qty) > _DUST * np.maximum(np.abs(new), np.abs(old))
    day, sym, qty = day[keep], sym[keep], qty[keep]
    price = px_safe[day, sym]
    zeros = np.zeros(day.size)
    return SimResult(
        dates,
        symbols,
        equity,
        cash,
        shares,
        day.astype(np.int64),
        sym.astype(np.int64),
        qty,
        price,
        zeros,
        zeros.copy(),
        np.zeros(t_n, dtype=bool),
    )


def _before_each_trade(after: np.ndarray, first: np.ndarray, start: float) -> np.ndarray:
    """Per trade (sorted by sleeve, then date), the sleeve's value after its previous trade, or
    ``start`` for a sleeve's first trade (``first`` marks those)."""
    before = np.empty_like(after)
    before[1:] = after[:-1]
    before[first] = start
    return before


def _simulate_sleeves(dates, symbols, w, c, px, cfg: SimConfig, force=None, totals=None) -> SimResult:
    """One book per symbol (``sleeves=True``), no Python loop, touching only the trading sessions.

    The algebra of :func:`_simulate_vectorised` column by column: a sleeve's
    equity changes by a growth factor only at its own trades, so the work is
    done on the list of trades (a few percent of the dates × symbols cells for
    ``on_change``) — growth factors, a cumulative product per sleeve (a
    sleeve × its-trades table), shares and cash after each trade — and the
    dense shares panel is each sleeve's values repeated over the sessions
    they are held (``np.repeat``, exact). The arrays stay in pandas'
    column-major order, so a sleeve's sessions are contiguous.
    """
    t_n, n = c.shape
    c_val, px_ok, px_safe = _valuation_and_exec_prices(c, px)
    may = _trade_mask(w, px_ok, dates, cfg.rebalance, force)
    sym, day = np.nonzero(may.T)  # trades sorted by sleeve, then date; day >= 1
    w_tr = w[day - 1, sym]  # the target executed: decided at the previous close
    p_tr = px_safe[day, sym]
    a_tr = w_tr / p_tr  # shares per unit of sleeve equity after the trade
    r_tr = 1.0 - w_tr  # cash per unit of sleeve equity after the trade
    first = np.ones(sym.size, dtype=bool)  # a sleeve's first trade starts from flat cash
    first[1:] = sym[1:] != sym[:-1]
    growth = _before_each_trade(a_tr, first, 0.0) * p_tr
    growth += _before_each_trade(r_tr, first, 1.0)
    # cumulative product per sleeve, exactly as down a dense column (its other factors are 1.0)
    counts = np.bincount(sym, minlength=n)
    start = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=start[1:])
    rank = np.arange(sym.size) - start[sym]
    table = np.ones((n, int(counts.max()) if sym.size else 0))
    table[sym, rank] = growth
    np.cumprod(table, axis=1, out=table)
    sleeve_cash = cfg.sleeve_cash if cfg.sleeve_cash is not None else cfg.initial_cash / n
    e_tr = table[sym, rank] * sleeve_cash
    sh_tr = e_tr * a_tr
    cash_tr = e_tr * r_tr
    # dense shares: per sleeve, 0 until its first trade, then each trade's shares until the next
    nxt = np.empty_like(day)
    nxt[:-1] = day[1:]
    nxt[np.append(first[1:], True)] = t_n  # a sleeve's last trade holds to the end
    values = np.zeros(n + sym.size)
    lengths = np.empty(n + sym.size, dtype=np.int64)
    slot = np.arange(sym.size) + sym + 1  # after the sleeve's leading flat run
    values[slot] = sh_tr
    lengths[slot] = nxt - day
    first_day = np.full(n, t_n, dtype=np.int64)
    traded = counts > 0
    first_day[traded] = day[start[traded]]
    lengths[start + np.arange(n)] = first_day
    shares = np.repeat(values, lengths).reshape(n, t_n).T  # column-major (dates × symbols) view
    # book totals, one sleeve after the other: the sleeves' cash changes only at their trades
    acc = totals if totals is not None else SleeveTotals(t_n)
    acc.add(day, cash_tr - _before_each_trade(cash_tr, first, sleeve_cash), shares, c_val)
    cash = acc.cash(cfg.initial_cash)
    equity = cash + acc.value
    prev_sh = _before_each_trade(sh_tr, first, 0.0)
    qty = sh_tr - prev_sh
    keep = np.abs(qty) > _DUST * np.maximum(np.abs(sh_tr), np.abs(prev_sh))
    order = np.lexsort((sym[keep], day[keep]))  # the trades table runs by date, then symbol
    day, sym, qty, price = day[keep][order], sym[keep][order], qty[keep][order], p_tr[keep][order]
    zeros = np.zeros(day.size)
    return SimResult(
        dates,
        symbols,
        equity,
        cash,
        shares,
        day.astype(np.int64),
        sym.astype(np.int64),
        qty,
        price,
        zeros,
        zeros.copy(),
        np.zeros(t_n, dtype=bool),
        acc.gross.copy(),
        acc.value.copy(),
    )
