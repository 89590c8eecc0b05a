"""Whole-market backtests in bounded memory: the universe in chunks of symbols (``backtest.chunk_symbols``).

This module owns the chunked research backtest. Its rule: symbols may be
backtested a chunk at a time only when nothing couples them, i.e.

* ``mode: research`` with ``sleeves: true`` — every symbol its own account, so
  no cash is shared;
* no equity circuit breaker (``max_drawdown``/``daily_loss`` watch the whole
  book): ``backtest.breakers: false`` or none configured;
* every selected strategy and the sizer declare the ``per_symbol`` capability
  (a symbol's signal / weight depends on its own bars and signal only, plus the
  benchmark and regime series, which every chunk loads).

Anything else is refused with one line naming the key or plugin. Each chunk's
bars are read from the cache (:func:`regimeflex.backtest.api.load_bars_noted`),
on raw prices back-adjusted for the chunk's corporate actions
(:func:`regimeflex.data.actions.prices_for_signals`, as the unchunked run), its
targets computed by the daily run's :func:`regimeflex.pipeline.compute_targets`,
checked by the lookahead guard and simulated — by the date loop when the chunk
holds a symbol with an action in the period or risk.yaml stops are set (its
sleeves then add to the totals to float rounding, not bit for bit); then
everything dense is dropped.
What is kept grows with the sessions and the trades, not with the symbols: the
book totals (:class:`~regimeflex.backtest.engine.SleeveTotals`, summed symbol by
symbol in the same order as an unchunked run, so the equity curve is the same to
the last bit), the trades, and the counts. The per-symbol panels (positions,
weights, targets) and the per-strategy attribution are not kept: the result's
frames for them are empty and a note says so; ``turnover`` is NaN (no data).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regimeflex.backtest.engine import HeldActions, SimConfig, SleeveTotals, simulate, unprotected_notes
from regimeflex.backtest.results import BacktestResult, equity_frame, trades_frame
from regimeflex.errors import ConfigError

if TYPE_CHECKING:
    from regimeflex.config import Settings
    from regimeflex.plugins import PluginHost, Selection

#: the capability a strategy or sizer declares when a symbol's output depends on that symbol alone
PER_SYMBOL = "per_symbol"


def check_chunkable(settings: Settings, host: PluginHost, selection: Selection, config: SimConfig) -> None:
    """Raise :class:`ConfigError` (one line, the key or plugin and the fix) unless the backtest may run in chunks."""
    key = "run.yaml backtest.chunk_symbols"
    if not config.sleeves:
        raise ConfigError(
            f"{key} needs backtest.sleeves: true (a shared book couples every symbol); set it or remove chunk_symbols"
        )
    if config.breakers.active:
        raise ConfigError(
            f"{key}: risk.yaml's equity breakers ({', '.join(r.measure for r in config.breakers.rules)}) watch the "
            f"whole book, so symbols cannot be simulated apart; set backtest.breakers: false or remove chunk_symbols"
        )
    plugins = [(f"strategy '{name}'", sel.name) for name, sel in selection.strategies.items()]
    plugins.append(("sizer", selection.sizer.name))
    for role, plugin in plugins:
        if not host.capabilities(plugin).get(PER_SYMBOL, False):
            raise ConfigError(
                f"{key}: {role} (plugin '{plugin}') does not declare the '{PER_SYMBOL}' capability (its output for one "
                f"symbol may depend on the others), so it cannot run in chunks of symbols; remove chunk_symbols "
                f"(or use per-symbol plugins, e.g. strategy trend with sizer sleeve)"
            )


def run_chunked(
    settings: Settings,
    host: PluginHost,
    selection: Selection,
    config: SimConfig,
    chunk: int,
    *,
    start: date | str | None = None,
    end: date | str | None = None,
    refresh: bool = False,
    allow_lookahead: bool = False,
) -> BacktestResult:
    """The research backtest of run.yaml's universe, ``chunk`` symbols at a time (see the module doc)."""
    from regimeflex.backtest import api
    from regimeflex.backtest.lookahead import guard
    from regimeflex.data.actions import PriceBasis, action_arrays, prices_for_signals, total_return_close
    from regimeflex.pipeline import compute_targets
    from regimeflex.report import metrics as m

    check_chunkable(settings, host, selection, config)
    universe = sorted({str(s).upper() for s in settings.run.universe})  # the cache's (and an unchunked run's) order
    lo, hi = api.period(settings, start, end)
    cfg = replace(config, sleeve_cash=config.initial_cash / len(universe))
    totals: SleeveTotals | None = None
    dates: pd.DatetimeIndex | None = None
    trades: list[pd.DataFrame] = []
    notes: list[str] = []
    exit_notes: list[str] = []
    ended: dict[str, pd.Timestamp] = {}
    leaks: list[str] = []
    guard_report: dict[str, Any] | None = None
    n_entries = 0
    data_note = None
    benchmark = None
    actions: dict[tuple[str, str, str], Any] = {}  # every chunk's corporate actions (raw prices), for the note
    bases: list[PriceBasis] = []
    unprotected: dict[str, int] = {}  # buys that got no stop, summed over the chunks into one note
    for i in range(0, len(universe), chunk):
        symbols = universe[i : i + chunk]
        bars, line = api.load_bars_noted(settings, host, lo, hi, refresh=refresh, universe=symbols)
        data_note = data_note or line
        if totals is None:
            lo, hi, notes = api.coverage(settings, bars, lo, hi)
        # raw prices: the chunk's actions back-adjust what its signals see and are applied to its sleeves
        # (as the unchunked run does; the actions are read per chunk, cache first, never the whole universe)
        signal_bars, basis = prices_for_signals(settings, host, bars, hi.date())
        bases.append(basis)
        for a in basis.actions:
            actions[(a.symbol, a.ex_date.isoformat(), a.kind)] = a
        panel = compute_targets(signal_bars, selection, host, settings, universe=symbols)
        report = guard(signal_bars, panel, selection, host, allow=allow_lookahead)
        del signal_bars
        leaks += [x for x in report.leaks if x not in leaks]
        guard_report = guard_report or report.as_dict()
        window = (bars.index >= lo) & (bars.index <= hi)
        b = bars.loc[window]
        bench_sym = settings.run.benchmark
        if benchmark is None and bench_sym and bench_sym in b["close"].columns:
            benchmark = total_return_close(b, bench_sym, basis.actions)  # a copy: no view keeps the chunk alive
        b = b.loc[:, [c for c in b.columns if str(c[1]) in set(symbols)]]
        w = panel.weights.loc[window]
        del bars, panel
        gone = api.ended_symbols(b, [str(c) for c in w.columns], hi)
        w = api._exit_ended(w, b, gone)
        force = None
        if gone:
            force = np.zeros(b["close"].shape, dtype=bool)
            cols = {str(c): j for j, c in enumerate(b["close"].columns)}
            for sym, last in gone.items():
                force[int(b.index.searchsorted(last)), cols[sym]] = True
        if totals is None:
            dates = pd.DatetimeIndex(b.index)
            totals = SleeveTotals(len(dates))
        elif not b.index.equals(dates):
            raise ConfigError(
                f"run.yaml backtest.chunk_symbols: the sessions of {symbols[0]}..{symbols[-1]} differ from the first "
                f"chunk's (a chunk whose symbols all lack a session); remove chunk_symbols for this universe"
            )
        held_actions = None
        if basis.actions:  # this chunk's sleeves with an action in the period run the date loop
            sleeves = [str(c) for c in b["close"].columns]
            held_actions = HeldActions(*action_arrays(basis.actions, b.index, sleeves))
        sim = simulate(w, b, cfg, force=force, totals=totals, actions=held_actions)
        for sym, k in sim.unprotected.items():
            unprotected[sym] = unprotected.get(sym, 0) + k
        chunk_trades, chunk_notes = api._exit_events(trades_frame(sim), gone)
        trades.append(chunk_trades)
        exit_notes += chunk_notes
        ended.update(gone)
        held = sim.shares != 0
        n_entries += int(held[0].sum()) + int((held[1:] & ~held[:-1]).sum())
        del b, w, sim, held, held_actions
    assert totals is not None and dates is not None
    initial = config.initial_cash
    cash = totals.cash(initial)
    eq_values = cash + totals.value
    equity = equity_frame(dates, eq_values, cash, totals.gross, totals.value, np.zeros(len(dates), dtype=bool))
    if benchmark is not None:
        bench = benchmark.ffill()
        first = bench.first_valid_index()
        equity["benchmark"] = (bench / bench.loc[first] * initial) if first is not None else np.nan
    all_trades = pd.concat(trades, ignore_index=True) if trades else trades_frame_empty()
    # by date, then symbol: chunks are in symbol order, so a stable sort by date is the unchunked order
    all_trades = all_trades.sort_values("date", kind="stable", ignore_index=True)
    if len(selection.strategies) == 1:  # every fill is that strategy's (with several, attribution is not kept)
        all_trades["strategy"] = pd.array([next(iter(selection.strategies))] * len(all_trades), dtype="str")
    metrics = dict(m.summary(m.returns_from_equity(equity["equity"]), weights=None))
    metrics.update(
        total_return=float(equity["equity"].iloc[-1] / initial - 1.0),
        final_equity=float(equity["equity"].iloc[-1]),
        trades=float(len(all_trades)),
        exposure=float((equity["gross_exposure"] > 1e-12).mean()),
    )
    if "benchmark" in equity:
        metrics["benchmark_return"] = float(equity["benchmark"].iloc[-1] / initial - 1.0)
    empty = pd.DataFrame(index=dates, columns=pd.Index([], name="symbol"), dtype="float64")
    chunk_note = (
        f"backtest.chunk_symbols: {chunk} ({len(universe)} symbols in {-(-len(universe) // chunk)} chunks): "
        "per-symbol panels (positions, weights, targets) and per-strategy attribution not kept; turnover: no data"
    )
    lookahead = dict(guard_report or {})
    if leaks:
        lookahead.update(status="allowed", leaks=leaks)
    result = BacktestResult(
        equity=equity,
        positions=empty,
        weights=empty.copy(),
        trades=all_trades,
        targets=empty.copy(),
        metrics=metrics,
        notes=(*(f"LOOKAHEAD (--allow-lookahead): {x}" for x in leaks), *notes, *([data_note] if data_note else [])),
        rules=api.research_rules(config),
        ended={s: d.date().isoformat() for s, d in sorted(ended.items())},
        lookahead=lookahead or None,
        counts={"symbols": len(universe), "entries": n_entries},
    )
    extra = [
        *api.calendar_notes(settings, equity.index),
        *api.breaker_notes(settings),
        price_basis_line(bases, tuple(sorted(actions.values(), key=lambda x: (x.ex_date, x.symbol, x.kind)))),
        chunk_note,
    ]
    return replace(
        result, notes=(*result.notes, *extra, *exit_notes, *unprotected_notes(config.stops.kind, unprotected))
    )


def price_basis_line(bases: list[Any], actions: tuple[Any, ...]) -> str:
    """The unchunked run's price-basis sentence for the whole universe: adjusted, or raw with every chunk's
    actions applied (``N split(s) and M cash dividend(s) applied``), or not provided / cache fallback
    when any chunk's actions were (the least known chunk speaks for the book: never an ``applied`` it
    was not)."""
    from regimeflex.data.actions import PriceBasis

    for status in ("not provided", "cache-fallback"):
        for basis in bases:
            if basis.status == status:
                return str(PriceBasis(basis.provider, status, actions, basis.report).line)
    first = bases[0]
    return str(PriceBasis(first.provider, first.status, actions, first.report).line)


def trades_frame_empty() -> pd.DataFrame:
    from regimeflex.backtest.results import TRADE_COLUMNS

    return pd.DataFrame({c: [] for c in TRADE_COLUMNS})
