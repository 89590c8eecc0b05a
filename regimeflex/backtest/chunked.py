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
its targets computed by the daily run's :func:`regimeflex.pipeline.compute_targets`,
checked by the lookahead guard and simulated; then everything dense is dropped.
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

from regimeflex.backtest.engine import SimConfig, SleeveTotals, simulate
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
    if config.stops.active:
        raise ConfigError(
            f"{key}: risk.yaml stops.kind: {config.stops.kind} needs the research engine's date loop, which a "
            "backtest in chunks of symbols (loop-free sleeves) does not run; remove chunk_symbols "
            "(or set stops.kind: none)"
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
    for i in range(0, len(universe), chunk):
        symbols = universe[i : i + chunk]
        bars, line = api.load_bars_noted(settings, host, lo, hi, refresh=refresh, universe=symbols)
        data_note = data_note or line
        if totals is None:
            lo, hi, notes = api.coverage(settings, bars, lo, hi)
        panel = compute_targets(bars, selection, host, settings, universe=symbols)
        report = guard(bars, panel, selection, host, allow=allow_lookahead)
        leaks += [x for x in report.leaks if x not in leaks]
        guard_report = guard_report or report.as_dict()
        window = (bars.index >= lo) & (bars.index <= hi)
        b = bars.loc[window]
        if benchmark is None and settings.run.benchmark and settings.run.benchmark in b["close"].columns:
            benchmark = b["close"][settings.run.benchmark].copy()  # a view would keep the chunk's panel alive
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
        sim = simulate(w, b, cfg, force=force, totals=totals)
        chunk_trades, chunk_notes = api._exit_events(trades_frame(sim), gone)
        trades.append(chunk_trades)
        exit_notes += chunk_notes
        ended.update(gone)
        held = sim.shares != 0
        n_entries += int(held[0].sum()) + int((held[1:] & ~held[:-1]).sum())
        del b, w, sim, held
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
    extra = [*api.calendar_notes(settings, equity.index), *api.breaker_notes(settings), chunk_note]
    if settings.data.adjusted:
        extra.insert(0, f"prices adjusted by {settings.data.provider}: splits/dividends included")
    else:  # never silent: the chunked engine (loop-free sleeves) does not apply corporate actions
        extra.insert(
            0,
            f"corporate actions: not applied in a chunked backtest (backtest.chunk_symbols) — raw prices from "
            f"{settings.data.provider}, splits in raw prices appear as price moves",
        )
    return replace(result, notes=(*result.notes, *extra, *exit_notes))


def trades_frame_empty() -> pd.DataFrame:
    from regimeflex.backtest.results import TRADE_COLUMNS

    return pd.DataFrame({c: [] for c in TRADE_COLUMNS})
