"""``regimeflex.backtest.run``: the configured strategies and sizer over history, through the fill simulation.

This module owns the wiring of a backtest: read the ``backtest:`` section of
run.yaml, load bars for the universe and benchmark (with warm-up history
before ``start``), check that the benchmark and regime inputs cover the
period (pre-flight), compute targets with
:func:`regimeflex.pipeline.compute_targets` — the very function the daily
runner calls, so a backtest row *t* and a daily run on *t* see the same
targets — run the lookahead guard (:mod:`.lookahead`), execute them with the
daily run's rules (``mode: daily``, the default: :mod:`.replay`) or the
idealised engine (``mode: research``: :mod:`.engine`), close symbols whose
data ends, and assemble a :class:`~regimeflex.backtest.results.BacktestResult`
with metrics from :mod:`regimeflex.report.metrics`, the benchmark series and
the rules used.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regimeflex.backtest.engine import BreakerRule, Breakers, Costs, HeldActions, SimConfig, simulate
from regimeflex.backtest.results import BacktestResult, book_frames, rules_line, stops_rules  # noqa: F401 (re-exported)
from regimeflex.errors import ConfigError, DataError
from regimeflex.execution.stops import stop_rule
from regimeflex.types import Bars, CorporateAction, bars_symbols, check_bars

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
    """The engine configuration (``mode: research``) the ``backtest:`` section of run.yaml describes."""
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
        sleeves=bt.sleeves,
        breakers=breakers_from_risk(settings) if bt.breakers else Breakers(),
        stops=stop_rule(settings.risk.stops),
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
    settings: Settings,
    host: PluginHost,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    refresh: bool = False,
    universe: list[str] | None = None,
) -> tuple[Bars, str | None]:
    """:func:`load_bars` and the one data summary line when anything is off (logged as RISK), else None.
    ``universe``: load these symbols (plus the benchmark and regime series) instead of run.yaml's
    universe (a chunked backtest loads one chunk at a time)."""
    from regimeflex.data import calendar
    from regimeflex.data.coverage import roles_of, summary_line
    from regimeflex.data.service import load_bars as cached_bars
    from regimeflex.log import get_logger

    warm = settings.run.backtest.warmup_sessions
    first = start
    if warm:
        back = calendar.sessions(start - pd.Timedelta(days=int(warm * 1.6) + 10), start)
        first = back[-warm - 1] if len(back) > warm else (back[0] if len(back) else start)
    universe = list(settings.run.universe) if universe is None else universe
    regime = settings.risk.regime
    extra = [settings.run.benchmark, regime.detect.benchmark, regime.vix_symbol]
    symbols = list(dict.fromkeys([*universe, *[s for s in extra if s]]))
    bars, report = cached_bars(settings, host, symbols, first.date(), end.date(), refresh=refresh)
    line = summary_line(report, roles_of(settings), report.end)
    if line:
        get_logger("backtest").risk("%s", line)
    bars = check_bars(bars, where=f"data provider '{settings.data.provider}'")
    empty = bars["close"].reindex(columns=universe).isna().all(axis=0)
    missing = [str(s) for s in empty.index[empty.to_numpy()]]
    if missing:
        raise DataError(
            f"no bars for {', '.join(missing)} between {first:%Y-%m-%d} and {end:%Y-%m-%d} "
            f"(data.yaml provider '{settings.data.provider}'); check the universe in run.yaml "
            f"or the provider's coverage"
        )
    return bars, line


def ended_symbols(bars: Bars, universe: list[str], hi: pd.Timestamp) -> dict[str, pd.Timestamp]:
    """Universe symbols whose data ends before ``hi`` (delisting, merger, a file that stops): symbol → last bar."""
    close = bars["close"].reindex(columns=universe)
    close = close.loc[close.index <= hi]
    if close.empty:
        return {}
    valid = close.notna().to_numpy()
    last = len(close) - 1 - valid[::-1].argmax(axis=0)  # each column's last valid row (numpy: one pass, not 500)
    ended = valid.any(axis=0) & (last < len(close) - 1)
    return {str(s): pd.Timestamp(close.index[i]) for s, i, e in zip(close.columns, last, ended) if e}


def _exit_ended(weights: pd.DataFrame, bars: Bars, ended: Mapping[str, pd.Timestamp]) -> pd.DataFrame:
    """Targets with each ended symbol at 0 from the session before its last bar, so the position
    is closed at the open of its last bar (the decision of the previous close fills then)."""
    if not ended:
        return weights
    w = weights.copy()
    index = w.index
    for sym, last in ended.items():
        if sym not in w.columns:
            continue
        pos = int(index.searchsorted(last))
        w.iloc[max(pos - 1, 0) :, w.columns.get_loc(sym)] = 0.0
    return w


def _exit_events(trades: pd.DataFrame, ended: Mapping[str, pd.Timestamp]) -> tuple[pd.DataFrame, list[str]]:
    """Mark the closing fills of ended symbols in the trades table (``event``) and say so, one line each."""
    if not ended:
        return trades, []
    trades = trades.copy()
    notes = []
    for sym, last in sorted(ended.items()):
        hit = (trades["symbol"] == sym) & (trades["date"] == last) & (trades["side"] == "sell")
        if hit.any():
            trades.loc[hit, "event"] = "data ended"
            row = trades.loc[hit].iloc[-1]
            notes.append(
                f"{sym}: data ends {last:%Y-%m-%d}; position closed on its last bar "
                f"({float(trades.loc[hit, 'qty'].sum()):g} shares at {float(row['price']):.4f})"
            )
        else:
            notes.append(f"{sym}: data ends {last:%Y-%m-%d}; no position held then, none taken after")
    return trades, notes


def research_rules(config: SimConfig) -> dict[str, Any]:
    """The idealised rules of ``mode: research`` (the engine), for the summary and the tear sheet."""
    return {
        "mode": "research",
        "shares": "fractional" if config.fractional else "whole",
        "fill": config.fill,
        "rebalance": config.rebalance,
        "min_trade_weight": config.min_trade_weight,
        "commission_per_share": config.costs.commission_per_share,
        "commission_bps": config.costs.commission_bps,
        "slippage_bps": config.costs.slippage_bps,
        "breakers": sorted(r.measure for r in config.breakers.rules),
        "sleeves": config.sleeves,
        "stops": stops_rules(config.stops),
    }


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
    on_session: Callable[[int], None] | None = None,
    sleeves: tuple[Mapping[str, pd.DataFrame], Mapping[str, float]] | None = None,
    actions: Sequence[CorporateAction] = (),
) -> BacktestResult:
    """Simulate ``weights`` over ``bars`` between ``start`` and ``end`` and build the result frames.

    Rows before ``start`` are warm-up only: the book starts flat in cash on
    ``start`` and executes from the decision of ``start``'s close onwards.
    With ``replay`` the orders go through the daily run's planner and paper
    broker (:func:`regimeflex.backtest.replay.replay`) instead of the engine.
    A symbol whose data ends before ``end`` is closed at the open of its last
    bar (an ``event`` in the trades table and a line in ``notes``). With
    ``sleeves`` (each strategy's signals and budget) every fill and order
    carries the strategy that produced it and ``attribution`` holds each
    strategy's contribution, exposure and metrics (:mod:`.attribution`).
    ``actions`` are the splits and cash dividends of raw-price ``bars``: both modes apply them to the
    held quantity and the cash on their ex-dates (the engine through
    :func:`~regimeflex.backtest.engine.apply_held_actions`, the replay through the paper book).
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
    b = whole = bars.loc[window] if not window.all() else bars
    if config.sleeves and replay is None:
        # sleeves are the traded symbols only (a benchmark column is no account of its own)
        traded = set(map(str, weights.columns))
        b = b.loc[:, [c for c in b.columns if str(c[1]) in traded]]
    w = weights.loc[window] if not window.all() else weights
    ended = ended_symbols(b, [str(c) for c in w.columns], hi)
    w = _exit_ended(w, b, ended)
    orders = None
    if replay is None:
        force = None
        if ended:
            # the exit must trade on the last bar whatever the rebalance schedule
            force = np.zeros(b["close"].shape, dtype=bool)
            cols = {str(c): j for j, c in enumerate(b["close"].columns)}
            for sym, last in ended.items():
                force[int(b.index.searchsorted(last)), cols[sym]] = True
        held = None
        if actions:
            from regimeflex.data.actions import action_arrays

            held = HeldActions(*action_arrays(actions, b.index, [str(c) for c in b["close"].columns]))
        sim = simulate(w, b, config, force=force, on_session=on_session, actions=held)
        rules = research_rules(config)
    else:
        from regimeflex.backtest.replay import replay as replay_orders

        sim, orders = replay_orders(w, b, replay, on_session=on_session, actions=actions)
        rules = replay.describe()
    equity, positions, pos_weights, trades = book_frames(sim, b["close"])
    trades, exit_notes = _exit_events(trades, ended)
    initial = replay.initial_cash if replay is not None else config.initial_cash
    attribution: dict[str, dict[str, float]] = {}
    sleeve_pnl = None
    if sleeves is not None:
        from regimeflex.backtest.attribution import attribute

        attribution, trades, orders, sleeve_pnl = attribute(
            signals={k: v.loc[window] for k, v in sleeves[0].items()},
            budgets=sleeves[1],
            equity=equity,
            positions=positions,
            trades=trades,
            close=b["close"],
            initial_cash=initial,
            orders=orders,
        )
    if benchmark and benchmark in bars_symbols(whole):
        from regimeflex.data.actions import total_return_close

        # raw prices: the benchmark's total return, not its splits
        bench = total_return_close(whole, benchmark, actions).ffill()
        first = bench.first_valid_index()
        equity["benchmark"] = (bench / bench.loc[first] * initial) if first is not None else np.nan
    metrics = dict(m.summary(m.returns_from_equity(equity["equity"]), weights=pos_weights))
    metrics.update(
        total_return=float(equity["equity"].iloc[-1] / initial - 1.0),
        final_equity=float(equity["equity"].iloc[-1]),
        trades=float(len(trades)),
        exposure=float((equity["gross_exposure"] > 1e-12).mean()),
    )
    if "benchmark" in equity:
        metrics["benchmark_return"] = float(equity["benchmark"].iloc[-1] / initial - 1.0)
    return BacktestResult(
        equity=equity,
        positions=positions,
        weights=pos_weights,
        trades=trades,
        targets=w,
        metrics=metrics,
        params=dict(params or {}),
        orders=orders,
        notes=(*exit_notes, *sim.notes),
        rules=rules,
        ended={s: d.date().isoformat() for s, d in sorted(ended.items())},
        attribution=attribution,
        sleeve_pnl=sleeve_pnl,
    )


def coverage(
    settings: Settings, bars: Bars, lo: pd.Timestamp, hi: pd.Timestamp, *, unseen: Collection[str] = ()
) -> tuple[pd.Timestamp, pd.Timestamp, list[str]]:
    """Pre-flight: the benchmark and the regime inputs must cover the backtest's sessions.

    A series that starts after the first session or ends before the last one is a
    :class:`DataError` naming the symbol, the YAML key and the gap; with run.yaml
    ``backtest.shorten_to_coverage: true`` the period is shortened to the sessions every
    input covers instead (returned, with a note saying so). Never a flat-filled line.
    ``unseen`` symbols are not checked (``config validate`` cannot see a network provider's
    uncached series offline, and says so itself).
    """
    window = bars.index[(bars.index >= lo) & (bars.index <= hi)]
    if not len(window):
        return lo, hi, []
    regime = settings.risk.regime
    keys: dict[str, list[str]] = {}
    for sym, key in (
        (settings.run.benchmark, "run.yaml benchmark"),
        (regime.detect.benchmark, "risk.yaml regime.detect.benchmark"),
        (regime.vix_symbol if regime.detect.vix_bear is not None else None, "risk.yaml regime.vix_symbol"),
    ):
        if sym:
            keys.setdefault(sym, []).append(key)
    inputs = {sym: ", ".join(k) for sym, k in keys.items()}
    present = set(bars_symbols(bars))
    new_lo, new_hi = window[0], window[-1]
    gaps: list[str] = []
    for sym, key in inputs.items():
        if not sym or sym in unseen:
            continue
        series = bars["close"][sym] if sym in present else pd.Series(dtype="float64")
        series = series.loc[(series.index >= window[0]) & (series.index <= window[-1])].dropna()
        if series.empty:
            gaps.append(f"{sym} ({key}) has no bars between {window[0]:%Y-%m-%d} and {window[-1]:%Y-%m-%d}")
            continue
        first, last = series.index[0], series.index[-1]
        if first > window[0]:
            gaps.append(f"{sym} ({key}) starts {first:%Y-%m-%d}, after the first session {window[0]:%Y-%m-%d}")
            new_lo = max(new_lo, first)
        if last < window[-1]:
            gaps.append(f"{sym} ({key}) ends {last:%Y-%m-%d}, before the last session {window[-1]:%Y-%m-%d}")
            new_hi = min(new_hi, last)
    if not gaps:
        return lo, hi, []
    if not settings.run.backtest.shorten_to_coverage or new_lo > new_hi:
        raise DataError(
            "backtest pre-flight: " + "; ".join(gaps) + ". Fetch the missing history (regimeflex data fetch), "
            "pick a period it covers (--start/--end), or set run.yaml backtest.shorten_to_coverage: true"
        )
    note = f"period shortened to {new_lo:%Y-%m-%d}..{new_hi:%Y-%m-%d} (backtest.shorten_to_coverage): " + "; ".join(
        gaps
    )
    return new_lo, new_hi, [note]


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
    allow_lookahead: bool = False,
    on_session: Callable[[int, int], None] | None = None,
    attribution: bool = True,
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
    :param refresh: re-fetch the bars from the provider even where the cache has them.
    :param config: engine configuration; given, the idealised engine runs (``mode: research``)
        with it whatever run.yaml says.
    :param allow_lookahead: a strategy or sizer the lookahead guard catches is backtested anyway
        (the result's ``lookahead`` says so, and the summary and tear sheet carry a warning)
        instead of raising :class:`~regimeflex.backtest.lookahead.LookaheadError`.
    :param on_session: ``on_session(done, total)`` after each simulated session (a progress bar;
        research mode's loop-free engine computes every session at once and reports the last).
    :param attribution: attribute fills, orders and P&L to each strategy (``attribution``,
        ``sleeve_pnl``); a sweep, which reads only the metrics, turns it off (the metrics are the same).
    """
    if settings is None:
        if bars is None or weights is None:
            raise ConfigError("backtest.run: pass settings, or both bars and weights")
        s = pd.Timestamp(start) if start else None
        e = pd.Timestamp(end) if end else None
        return assemble(weights, bars, config or SimConfig(), start=s, end=e)
    from regimeflex.backtest.lookahead import guard
    from regimeflex.data.actions import prices_for_signals
    from regimeflex.pipeline import compute_targets
    from regimeflex.plugins import PluginHost

    research = config is not None or settings.run.backtest.mode == "research"
    cfg = config or sim_config(settings)
    host = host or PluginHost.load()
    selection = resolve_for_backtest(settings, host)
    chunk = settings.run.backtest.chunk_symbols
    if research and chunk is not None and bars is None and weights is None:
        from regimeflex.backtest.chunked import run_chunked

        return run_chunked(
            settings,
            host,
            selection,
            cfg,
            chunk,
            start=start,
            end=end,
            refresh=refresh,
            allow_lookahead=allow_lookahead,
        )
    data_note = None
    if bars is None:
        lo, hi = period(settings, start, end)
        bars, data_note = load_bars_noted(settings, host, lo, hi, refresh=refresh)
    else:
        lo = pd.Timestamp(start).normalize() if start else bars.index[0]
        hi = pd.Timestamp(end).normalize() if end else bars.index[-1]
    lo, hi, cover_notes = coverage(settings, bars, lo, hi)
    # raw prices: the provider's splits/dividends back-adjust what the signals see and are applied to
    # the simulated positions and cash; adjusted prices already include them (said, never applied twice)
    signal_bars, basis = prices_for_signals(settings, host, bars, hi.date())
    lookahead = None
    sleeves = None
    if weights is None:
        panel = compute_targets(signal_bars, selection, host, settings)
        weights = panel.weights
        lookahead = guard(signal_bars, panel, selection, host, allow=allow_lookahead)
        if attribution:
            sleeves = (panel.signals, {name: float(sel.budget) for name, sel in selection.strategies.items()})
    replay = None if research else replay_config(settings, host)
    progress = None
    if on_session is not None:
        total = int(((bars.index >= lo) & (bars.index <= hi)).sum())

        def progress(i: int) -> None:
            on_session(i + 1, total)

    result = assemble(
        weights,
        bars,
        cfg,
        start=lo,
        end=hi,
        benchmark=settings.run.benchmark,
        replay=replay,
        on_session=progress,
        sleeves=sleeves,
        actions=basis.actions,
    )
    notes = [
        *cover_notes,
        *([data_note] if data_note else []),
        *calendar_notes(settings, result.equity.index),
        *breaker_notes(settings),
        basis.line,
    ]
    if lookahead is not None and lookahead.leaks:
        notes = [*(f"LOOKAHEAD (--allow-lookahead): {leak}" for leak in lookahead.leaks), *notes]
    return replace(result, notes=(*notes, *result.notes), lookahead=lookahead.as_dict() if lookahead else None)


def breaker_notes(settings: Settings) -> list[str]:
    """The enabled breakers a backtest does not simulate (they watch the live account and feed):
    said once, so a backtest's silence about them is never read as ``ok``."""
    cb = settings.risk.circuit_breakers
    bt = settings.run.backtest
    if not bt.breakers:
        simulated: set[str] = set()
    elif bt.mode == "daily":  # the replay evaluates every breaker on the simulated account, as the runner does
        simulated = set(cb.enabled())
    else:
        simulated = {"max_drawdown", "daily_loss"}
    blind = [name for name in cb.enabled() if name not in simulated]
    if not blind:
        return []
    return [f"circuit breakers not simulated in a backtest (no data): {', '.join(blind)}"]


def calendar_notes(settings: Settings, index: pd.DatetimeIndex) -> list[str]:
    """One line per run of sessions the calendar guard could not see (outside the FOMC table)."""
    from regimeflex.risk.calendar import fomc_unknown_message, fomc_unknown_spans

    cal = settings.risk.calendar
    return [fomc_unknown_message(a, b, n, cal) for a, b, n in fomc_unknown_spans(index, cal)]


def replay_config(settings: Settings, host: PluginHost) -> ReplayConfig:
    """The daily rules' replay configuration (``mode: daily``): broker.yaml's order rules and paper
    costs, the configured broker's capabilities, risk.yaml's breakers."""
    from regimeflex.backtest.replay import replay_config as _config

    return _config(settings, host)
