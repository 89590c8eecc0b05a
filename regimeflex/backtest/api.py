"""``regimeflex.backtest.run``: the configured strategies and sizer over history, through the fill simulation.

This module owns the wiring of a backtest: read the ``backtest:`` section of
run.yaml into a :class:`~regimeflex.backtest.engine.SimConfig`, load bars for
the universe and benchmark (with warm-up history before ``start``), compute
targets with :func:`regimeflex.pipeline.compute_targets` — the very function
the daily runner calls, so a backtest row *t* and a daily run on *t* see the
same targets — simulate them, and assemble a
:class:`~regimeflex.backtest.results.BacktestResult` with metrics from
:mod:`regimeflex.report.metrics` and the benchmark series.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regimeflex.backtest.engine import BreakerRule, Breakers, Costs, SimConfig, simulate
from regimeflex.backtest.results import BacktestResult, book_frames
from regimeflex.errors import ConfigError, DataError
from regimeflex.types import Bars, bars_symbols, check_bars

if TYPE_CHECKING:
    from regimeflex.backtest.replay import ReplayConfig
    from regimeflex.config import Settings
    from regimeflex.plugins import PluginHost


def resolve_for_backtest(settings: Settings, host: PluginHost) -> Any:
    """The data provider, strategies and sizer the YAML selects, validated like the daily run —
    minus the broker and notifiers, which a backtest never calls (so a backtest works before
    any broker is installed)."""
    from regimeflex.plugins import HISTORY_ROLES, resolve

    return resolve(settings, host, roles=HISTORY_ROLES)


def sim_config(settings: Settings) -> SimConfig:
    """The engine configuration the ``backtest:`` section of run.yaml describes."""
    bt = settings.run.backtest
    return SimConfig(
        initial_cash=float(bt.initial_cash or settings.run.initial_equity),
        costs=Costs(
            commission_per_share=bt.costs.commission_per_share,
            commission_bps=bt.costs.commission_bps,
            slippage_bps=bt.costs.slippage_bps,
        ),
        fill=bt.fill,
        rebalance=bt.rebalance,
        min_trade_weight=bt.min_trade_weight,
        fractional=bt.fractional,
        breakers=breakers_from_risk(settings) if bt.breakers else Breakers(),
    )


def breakers_from_risk(settings: Settings) -> Breakers:
    """risk.yaml's equity breakers (``max_drawdown``, ``daily_loss``) as engine rules.

    The other breakers (VIX, stale data, rejected orders, orders per day,
    concentration) watch the live account and feed; a backtest has nothing for
    them to measure.
    """
    cb = settings.risk.circuit_breakers
    rules = [
        BreakerRule(
            measure=name,
            threshold=float(spec.threshold),
            action=spec.action,
            reset=spec.reset,
            recover_below=spec.recover_below,
        )
        for name in ("max_drawdown", "daily_loss")
        if (spec := getattr(cb, name)) is not None
    ]
    return Breakers(rules=tuple(rules))


def period(
    settings: Settings, start: date | str | None = None, end: date | str | None = None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The backtest's first and last session: arguments, else run.yaml, else ten years to the last session."""
    from regimeflex.data.calendar import last_completed_session

    bt = settings.run.backtest
    hi = pd.Timestamp(end or bt.end or last_completed_session()).normalize()
    lo = pd.Timestamp(start or bt.start or (hi - pd.DateOffset(years=10))).normalize()
    if lo > hi:
        raise ConfigError(
            f"backtest: start {lo:%Y-%m-%d} is after end {hi:%Y-%m-%d}; "
            f"pass --start/--end in order (or fix run.yaml backtest.start/end)"
        )
    return lo, hi


def load_bars(
    settings: Settings, host: PluginHost, start: pd.Timestamp, end: pd.Timestamp, *, refresh: bool = False
) -> Bars:
    """Every symbol a run needs (universe, benchmark, regime series) from ``warmup_sessions``
    before ``start`` to ``end``, cache first (:func:`regimeflex.data.service.load_bars`);
    ``refresh`` re-fetches the whole range from the provider."""
    return load_bars_noted(settings, host, start, end, refresh=refresh)[0]


def load_bars_noted(
    settings: Settings, host: PluginHost, start: pd.Timestamp, end: pd.Timestamp, *, refresh: bool = False
) -> tuple[Bars, str | None]:
    """:func:`load_bars` and the one data summary line when anything is off (logged as RISK), else None."""
    from regimeflex.data import calendar
    from regimeflex.data.coverage import roles_of, summary_line
    from regimeflex.data.service import load_bars as cached_bars
    from regimeflex.log import get_logger
    from regimeflex.pipeline import reference_symbols

    warm = settings.run.backtest.warmup_sessions
    first = start
    if warm:
        back = calendar.sessions(start - pd.Timedelta(days=int(warm * 1.6) + 10), start)
        first = back[-warm - 1] if len(back) > warm else (back[0] if len(back) else start)
    symbols = reference_symbols(settings)
    bars, report = cached_bars(settings, host, symbols, first.date(), end.date(), refresh=refresh)
    line = summary_line(report, roles_of(settings), report.end)
    if line:
        get_logger("backtest").risk("%s", line)
    bars = check_bars(bars, where=f"data provider '{settings.data.provider}'")
    empty = bars["close"].reindex(columns=list(settings.run.universe)).isna().all(axis=0)
    missing = [str(s) for s in empty.index[empty.to_numpy()]]
    if missing:
        raise DataError(
            f"no bars for {', '.join(missing)} between {first:%Y-%m-%d} and {end:%Y-%m-%d} "
            f"(data.yaml provider '{settings.data.provider}'); check the universe in run.yaml "
            f"or the provider's coverage"
        )
    return bars, line


def assemble(
    weights: pd.DataFrame,
    bars: Bars,
    config: SimConfig,
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    benchmark: str | None = None,
    params: Mapping[str, Any] | None = None,
    replay: ReplayConfig | None = None,
) -> BacktestResult:
    """Simulate ``weights`` over ``bars`` between ``start`` and ``end`` and build the result frames.

    Rows before ``start`` are warm-up only: the book starts flat in cash on
    ``start`` and executes from the decision of ``start``'s close onwards.
    With ``replay`` the orders go through the daily run's planner and paper
    broker (:func:`regimeflex.backtest.replay.replay`) instead of the engine.
    """
    from regimeflex.report import metrics as m

    lo = start if start is not None else bars.index[0]
    hi = end if end is not None else bars.index[-1]
    window = (bars.index >= lo) & (bars.index <= hi)
    if not window.any():
        raise DataError(
            f"no bars between {lo:%Y-%m-%d} and {hi:%Y-%m-%d}; "
            f"the data covers {bars.index[0]:%Y-%m-%d}..{bars.index[-1]:%Y-%m-%d}"
        )
    b = bars.loc[window]
    w = weights.loc[window]
    orders = None
    if replay is None:
        sim = simulate(w, b, config)
    else:
        from regimeflex.backtest.replay import replay as replay_orders

        sim, orders = replay_orders(w, b, replay)
    equity, positions, pos_weights, trades = book_frames(sim, b["close"])
    if benchmark and benchmark in bars_symbols(b):
        bench = b["close"][benchmark].ffill()
        first = bench.first_valid_index()
        equity["benchmark"] = (bench / bench.loc[first] * config.initial_cash) if first is not None else np.nan
    metrics = dict(m.summary(m.returns_from_equity(equity["equity"]), weights=pos_weights))
    metrics.update(
        total_return=float(equity["equity"].iloc[-1] / config.initial_cash - 1.0),
        final_equity=float(equity["equity"].iloc[-1]),
        trades=float(len(trades)),
        exposure=float((equity["gross_exposure"] > 1e-12).mean()),
    )
    if "benchmark" in equity:
        metrics["benchmark_return"] = float(equity["benchmark"].iloc[-1] / config.initial_cash - 1.0)
    return BacktestResult(
        equity=equity,
        positions=positions,
        weights=pos_weights,
        trades=trades,
        targets=w,
        metrics=metrics,
        params=dict(params or {}),
        orders=orders,
    )


def run(
    settings: Settings | None = None,
    *,
    bars: Bars | None = None,
    host: PluginHost | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
    weights: pd.DataFrame | None = None,
    config: SimConfig | None = None,
    refresh: bool = False,
) -> BacktestResult:
    """Backtest the configured strategies and sizer (or given ``weights``) and return every output.

    :param settings: the loaded configuration (``regimeflex.config.load_settings``);
        needed unless both ``bars`` and ``weights`` are given.
    :param bars: a Bars panel to use instead of asking the data provider
        (must include warm-up history before ``start``).
    :param host: the plugin host (default: every installed plugin).
    :param start: first session traded (default run.yaml ``backtest.start``, else ten years back).
    :param end: last session (default run.yaml ``backtest.end``, else the last completed session).
    :param weights: target weights to simulate directly (skips the strategy and sizer hooks).
    :param config: engine configuration (default: from run.yaml ``backtest:``).
    :param refresh: re-fetch the bars from the provider even where the cache has them.
    """
    if settings is None:
        if bars is None or weights is None:
            raise ConfigError("backtest.run: pass settings, or both bars and weights")
        s = pd.Timestamp(start) if start else None
        e = pd.Timestamp(end) if end else None
        return assemble(weights, bars, config or SimConfig(), start=s, end=e)
    from regimeflex.pipeline import compute_targets
    from regimeflex.plugins import PluginHost

    cfg = config or sim_config(settings)
    host = host or PluginHost.load()
    selection = resolve_for_backtest(settings, host)
    data_note = None
    if bars is None:
        lo, hi = period(settings, start, end)
        bars, data_note = load_bars_noted(settings, host, lo, hi, refresh=refresh)
    else:
        lo = pd.Timestamp(start).normalize() if start else bars.index[0]
        hi = pd.Timestamp(end).normalize() if end else bars.index[-1]
    if weights is None:
        weights = compute_targets(bars, selection, host, settings).weights
    replay = planner_replay(settings, host, cfg)
    result = assemble(weights, bars, cfg, start=lo, end=hi, benchmark=settings.run.benchmark, replay=replay)
    notes = [
        *([data_note] if data_note else []),
        *calendar_notes(settings, result.equity.index),
        *breaker_notes(settings),
    ]
    return replace(result, notes=(*result.notes, *notes)) if notes else result


def breaker_notes(settings: Settings) -> list[str]:
    """The enabled breakers a backtest does not simulate (they watch the live account and feed):
    said once, so a backtest's silence about them is never read as ``ok``."""
    cb = settings.risk.circuit_breakers
    simulated = {"max_drawdown", "daily_loss"} if settings.run.backtest.breakers else set()
    blind = [name for name in cb.enabled() if name not in simulated]
    if not blind:
        return []
    return [f"circuit breakers not simulated in a backtest (no data): {', '.join(blind)}"]


def calendar_notes(settings: Settings, index: pd.DatetimeIndex) -> list[str]:
    """One line per run of sessions the calendar guard could not see (outside the FOMC table)."""
    from regimeflex.risk.calendar import fomc_unknown_message, fomc_unknown_spans

    cal = settings.risk.calendar
    return [fomc_unknown_message(a, b, n, cal) for a, b, n in fomc_unknown_spans(index, cal)]


def planner_replay(settings: Settings, host: PluginHost, config: SimConfig) -> ReplayConfig | None:
    """The replay configuration when run.yaml says ``backtest.execution: planner``, else ``None``."""
    if settings.run.backtest.execution != "planner":
        if settings.risk.stops.kind != "none":
            raise ConfigError(
                f"risk.yaml: stops.kind: {settings.risk.stops.kind} is simulated only by the planner replay; "
                "set run.yaml backtest.execution: planner (or stops.kind: none)"
            )
        return None
    if config.breakers.rules:
        names = ", ".join(r.measure for r in config.breakers.rules)
        raise ConfigError(
            f"run.yaml: backtest.execution: planner does not apply risk.yaml's equity breakers "
            f"({names}); set backtest.breakers: false, or use backtest.execution: engine"
        )
    from regimeflex.backtest.replay import replay_config

    return replay_config(settings, host)
