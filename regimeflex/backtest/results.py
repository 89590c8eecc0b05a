"""The backtest's outputs as DataFrames and as files.

This module owns the shape of what a backtest hands back: the
:class:`BacktestResult` (equity, positions, weights, trades, metrics, plus the
signals and targets that produced them) built from the engine's arrays, and
:func:`write_outputs`, which writes them under ``--out DIR`` as parquet and CSV
(parquet for everything, CSV too for the equity curve and the trades, which
people open in a spreadsheet; atomically: temp file + rename) so the same
inputs always give the same bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.backtest.engine import EVENT_NAMES, SimResult
from regimeflex.execution.stops import StopRule
from regimeflex.fsio import atomic_path

TRADE_COLUMNS = [
    "date",
    "symbol",
    "side",
    "qty",
    "price",
    "notional",
    "commission",
    "slippage",
    "event",
    "strategy",
]


@dataclass(frozen=True)
class BacktestResult:
    """Everything one backtest produced.

    * ``equity``: per session ``equity, cash, gross_exposure, net_exposure,
      returns, drawdown, breaker`` (and ``benchmark`` when one was given).
    * ``positions``: dates × symbols shares held at each close.
    * ``weights``: dates × symbols value of each position / equity at each close.
    * ``trades``: one row per fill, columns :data:`TRADE_COLUMNS` (``event`` is ``data ended`` on the
      fill that closed a symbol whose data ended before the backtest did, ``stop`` / ``take_profit`` on a
      protective stop's exit (risk.yaml ``stops:``), else empty; ``strategy`` is
      the strategy sleeve with the largest share of the decision the fill executed).
    * ``targets``: the target weights the engine executed (row *t* trades at *t+1*).
    * ``metrics``: a flat mapping name → float (see :mod:`regimeflex.backtest.metrics`).
    * ``notes``: what the backtest could not see, one line each (sessions whose FOMC state
      is unknown because they lie outside the FOMC table).
    * ``rules``: the execution rules used (``mode`` daily or research, shares, costs, breakers, ...;
      :func:`regimeflex.backtest.api.rules_line` says them in one line).
    * ``lookahead``: what the lookahead guard did (``status`` passed / allowed, the cuts, the
      checks run, any leak found); ``None`` when target weights were given directly.
    * ``ended``: symbol → last bar, for symbols whose data ended before the backtest did.
    * ``attribution``: strategy instance → ``contribution`` (currency), ``contribution_pct``,
      ``exposure``, ``total_return``, ``sharpe``, ``max_drawdown``, ``fills``
      (:mod:`regimeflex.backtest.attribution`); ``unattributed`` holds what no signal touched.
    * ``orders``: with ``mode: daily``, one row per planned order (the session it was
      planned on, symbol, side, qty, ...; see :data:`regimeflex.backtest.replay.ORDER_COLUMNS`);
      ``None`` for the vectorised engine, which trades weights, not orders.
    """

    equity: pd.DataFrame
    positions: pd.DataFrame
    weights: pd.DataFrame
    trades: pd.DataFrame
    targets: pd.DataFrame
    metrics: Mapping[str, float]
    params: Mapping[str, Any] = field(default_factory=dict)
    orders: pd.DataFrame | None = None
    #: what the backtest could not see, one line each (e.g. sessions outside the FOMC table)
    notes: tuple[str, ...] = ()
    #: the execution rules used (see :func:`regimeflex.backtest.api.rules_line`)
    rules: Mapping[str, Any] = field(default_factory=dict)
    #: the lookahead guard's report (None when weights were given directly)
    lookahead: Mapping[str, Any] | None = None
    #: symbol → last bar (ISO date) for symbols whose data ended before the backtest did
    ended: Mapping[str, str] = field(default_factory=dict)
    #: strategy instance → contribution, exposure and metrics (see :mod:`regimeflex.backtest.attribution`)
    attribution: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: dates × strategy sleeves: each sleeve's P&L per session (the tear sheet's attribution table); None
    #: when target weights were given directly
    sleeve_pnl: pd.DataFrame | None = None
    #: ``symbols`` and ``entries`` when the per-symbol panels were not kept (a chunked backtest); else
    #: empty and :func:`summary` counts them from ``positions``
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def final_equity(self) -> float:
        return float(self.equity["equity"].iloc[-1])


def book_frames(sim: SimResult, close: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Turn the engine's arrays into ``(equity, positions, weights, trades)`` frames."""
    idx = sim.dates
    cols = pd.Index(sim.symbols, name="symbol")
    positions = pd.DataFrame(sim.shares, index=idx, columns=cols)
    c_val = close.ffill().fillna(0.0).to_numpy(dtype=np.float64)
    values = sim.shares * c_val
    gross = sim.gross_value if sim.gross_value is not None else np.abs(values).sum(axis=1)
    net = sim.net_value if sim.net_value is not None else values.sum(axis=1)
    equity = equity_frame(idx, sim.equity, sim.cash, gross, net, sim.breaker)
    safe_eq = np.where(sim.equity != 0, sim.equity, np.nan)
    weights = pd.DataFrame(values / safe_eq[:, None], index=idx, columns=cols).fillna(0.0)
    return equity, positions, weights, trades_frame(sim)


def equity_frame(
    idx: pd.DatetimeIndex, eq: np.ndarray, cash: np.ndarray, gross: np.ndarray, net: np.ndarray, breaker: np.ndarray
) -> pd.DataFrame:
    """The per-session book (``equity, cash, gross_exposure, net_exposure, returns, drawdown, breaker``) from
    equity, cash and the summed gross and net position values."""
    safe_eq = np.where(eq != 0, eq, np.nan)
    rets = np.zeros_like(eq)
    rets[1:] = eq[1:] / eq[:-1] - 1.0
    peak = np.maximum.accumulate(eq)
    return pd.DataFrame(
        {
            "equity": eq,
            "cash": cash,
            "gross_exposure": gross / safe_eq,
            "net_exposure": net / safe_eq,
            "returns": rets,
            "drawdown": eq / peak - 1.0,
            "breaker": breaker,
        },
        index=idx,
    )


def trades_frame(sim: SimResult) -> pd.DataFrame:
    """One row per fill of the engine's arrays, by date then symbol (columns :data:`TRADE_COLUMNS`)."""
    idx = sim.dates
    qty = sim.trade_qty
    order = np.lexsort((sim.trade_sym, sim.trade_day))
    sym_arr = np.asarray(sim.symbols, dtype=object)
    trades = pd.DataFrame(
        {
            "date": idx[sim.trade_day[order]],
            "symbol": pd.array(sym_arr[sim.trade_sym[order]], dtype="str") if len(order) else pd.array([], dtype="str"),
            "side": pd.array(np.where(qty[order] > 0, "buy", "sell"), dtype="str"),
            "qty": np.abs(qty[order]),
            "price": sim.trade_price[order],
            "notional": np.abs(qty[order]) * sim.trade_price[order],
            "commission": sim.trade_commission[order],
            "slippage": sim.trade_slippage[order],
            "event": pd.array(_events(sim, order), dtype="str"),
            "strategy": pd.array([""] * len(order), dtype="str"),
        },
        columns=TRADE_COLUMNS,
    )
    return trades


def _events(sim: SimResult, order: np.ndarray) -> list[str]:
    """The trades' ``event``: ``stop`` / ``take_profit`` for a protective stop's exit, else empty."""
    if sim.trade_event is None:
        return [""] * len(order)
    return [EVENT_NAMES[int(e)] for e in sim.trade_event[order].tolist()]


# ------------------------------------------------------------------------- files


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        write(str(tmp))


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as parquet or CSV (by suffix), atomically and byte-for-byte reproducibly."""
    if path.suffix == ".parquet":
        # no dictionary pages: a panel of prices has no repeats, and trying costs a third of the write
        _atomic_write(
            path, lambda tmp: frame.to_parquet(tmp, engine="pyarrow", compression="zstd", use_dictionary=False)
        )
    else:
        _atomic_write(path, lambda tmp: _write_csv(frame, tmp))


def _write_csv(frame: pd.DataFrame, target: str) -> None:
    """CSV through pyarrow's writer (~10x pandas' on the trades table); pandas' for shapes it cannot take.

    Dates at midnight are written as ``YYYY-MM-DD``; the index is a first column unless it is the
    default 0..n-1 (which pandas would write as an unnamed column).
    """
    plain = (
        not isinstance(frame.columns, pd.MultiIndex)
        and not isinstance(frame.index, pd.MultiIndex)
        and all(isinstance(c, str) for c in frame.columns)
    )
    if not plain:
        frame.to_csv(target, lineterminator="\n")
        return
    import pyarrow as pa
    import pyarrow.csv as pacsv

    default_index = isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
    table = frame if default_index else frame.reset_index(names=frame.index.name or "")
    columns = {}
    for name in table.columns:
        col = table[name]
        known = col.dropna() if pd.api.types.is_datetime64_any_dtype(col.dtype) and col.dt.tz is None else None
        if known is not None and bool((known == known.dt.normalize()).all()):
            columns[str(name)] = pa.array(
                col.to_numpy(dtype="datetime64[D]"), type=pa.date32(), mask=col.isna().to_numpy()
            )
        else:
            columns[str(name)] = pa.Array.from_pandas(col)
    pacsv.write_csv(pa.table(columns), target, pacsv.WriteOptions(quoting_style="needed"))


def write_text(text: str, path: Path) -> None:
    def w(tmp):
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)

    _atomic_write(path, w)


def summary(result: BacktestResult) -> dict[str, Any]:
    """The ``--json`` summary: period, final equity, metrics, counts."""
    eq = result.equity
    return {
        "start": eq.index[0].date().isoformat() if len(eq) else None,
        "end": eq.index[-1].date().isoformat() if len(eq) else None,
        "sessions": len(eq),
        "symbols": result.counts.get("symbols", len(result.positions.columns)),
        "final_equity": round(result.final_equity, 6) if len(eq) else None,
        "trades": len(result.trades),
        "entries": result.counts["entries"] if "entries" in result.counts else entries(result.positions),
        "notes": list(result.notes),
        "mode": result.rules.get("mode"),
        "rules": dict(result.rules),
        "rules_text": rules_line(result.rules),
        "lookahead": dict(result.lookahead) if result.lookahead is not None else None,
        "banner": lookahead_banner(result),
        "ended": dict(result.ended),
        "attribution": {
            name: {k: (None if v is None or not np.isfinite(v) else round(float(v), 10)) for k, v in row.items()}
            for name, row in result.attribution.items()
        },
        "metrics": {
            k: (None if v is None or not np.isfinite(v) else round(float(v), 10)) for k, v in result.metrics.items()
        },
    }


def rules_line(rules: Mapping[str, Any]) -> str:
    """The execution rules in one line (summary, tear sheet)."""
    if not rules:
        return ""
    breakers = ", ".join(rules.get("breakers") or []) or "none"
    stops = f", stops: {stops_text(rules.get('stops'))}"
    if rules.get("mode") == "daily":
        return (
            f"daily run's rules: {rules['shares']} shares, {rules['order_type']} orders filled at the next open, "
            f"no-churn threshold {rules['min_weight_change']:g}, min order {rules['min_notional']:g}, "
            f"slippage {rules['slippage_bps']:g} bps, commission {rules['commission_per_share']:g}/share "
            f"(min {rules['commission_min']:g}), breakers: {breakers}{stops}"
        )
    return (
        f"research rules (idealised): {rules['shares']} shares, fill {rules['fill']}, rebalance {rules['rebalance']}, "
        f"min trade {rules['min_trade_weight']:g} of equity, commission {rules['commission_per_share']:g}/share + "
        f"{rules['commission_bps']:g} bps, slippage {rules['slippage_bps']:g} bps, breakers: {breakers}{stops}"
        + (", independent sleeves (one per symbol, initial cash / N each)" if rules.get("sleeves") else "")
    )


def stops_rules(rule: StopRule) -> dict[str, Any]:
    """risk.yaml ``stops:`` as the rules say it (``simulated``: the backtest filled them on the daily bars)."""
    if not rule.active:
        return {"kind": "none", "simulated": False}
    out: dict[str, Any] = {"kind": rule.kind, "simulated": True}
    if rule.kind == "atr":
        out.update(atr_multiple=rule.atr_multiple, atr_window=rule.atr_window)
    else:
        out["pct"] = rule.pct
    out["take_profit_pct"] = rule.take_profit_pct
    out["cooldown_sessions"] = rule.cooldown_sessions
    return out


def stops_text(stops: Mapping[str, Any] | None) -> str:
    """The stops part of :func:`rules_line`."""
    if not stops or stops.get("kind", "none") == "none":
        return "none"
    kind = stops["kind"]
    if kind == "atr":
        what = f"{stops['atr_multiple']:g} × ATR({stops['atr_window']}) below the entry"
    else:
        what = f"{stops['pct']:.2%} of the entry price below the entry"
        if kind == "trailing":
            what += ", ratcheting up on each close"
    tp = f", take-profit {stops['take_profit_pct']:.2%} above the entry" if stops.get("take_profit_pct") else ""
    cool = f", re-entry cooldown {stops['cooldown_sessions']} session(s)" if stops.get("cooldown_sessions") else ""
    return f"{kind} ({what}{tp}{cool}; simulated on daily bars: low ≤ stop fills at the stop or a gapped open)"


def lookahead_banner(result: BacktestResult) -> str | None:
    """The warning a backtest run with ``--allow-lookahead`` carries when the guard found a leak."""
    la = result.lookahead
    if not la or la.get("status") != "allowed":
        return None
    return (
        "LOOKAHEAD: run with --allow-lookahead although the lookahead guard found a strategy or sizer that "
        "uses later bars; these results are not achievable. " + " | ".join(la.get("leaks") or [])
    )


def entries(positions: pd.DataFrame) -> int:
    """How many positions were opened from flat (the peer benchmark's trade count)."""
    held = positions.to_numpy() != 0
    prev = np.zeros_like(held)
    prev[1:] = held[:-1]
    return int((held & ~prev).sum())


def write_tearsheet(
    result: BacktestResult,
    path: Path,
    *,
    benchmark: str | None = None,
    title: str = "RegimeFlex backtest",
    symbol_pages: Mapping[str, str] | None = None,
    data_info: Mapping[str, Any] | None = None,
) -> Path:
    """The HTML tear sheet (:mod:`regimeflex.report.tearsheet`), stamped with the last session so
    the same inputs give the same bytes."""
    from datetime import datetime

    from regimeflex.report.tearsheet import TearSheetData, as_lines
    from regimeflex.report.tearsheet import write_tearsheet as _write

    eq = result.equity
    stamp = datetime.combine(eq.index[-1].date(), datetime.min.time(), tzinfo=UTC)
    # fields a newer BacktestResult may carry (rules used, per-sleeve P&L, data description): shown when present
    data_info = data_info if data_info is not None else getattr(result, "data_info", None)
    data = TearSheetData(
        equity=eq["equity"],
        benchmark=eq["benchmark"] if "benchmark" in eq else None,
        benchmark_name=benchmark or "benchmark",
        weights=result.weights,
        trades=result.trades,
        title=title,
        params={k: v for k, v in result.params.items()},
        generated_at=stamp,
        rules=(rules_line(result.rules),) if result.rules else (),
        notes=tuple(str(n) for n in as_lines([b for b in [lookahead_banner(result)] if b] + list(result.notes))),
        attribution=result.sleeve_pnl,
        sleeve_exposure={str(k): float(v["exposure"]) for k, v in result.attribution.items() if "exposure" in v},
        data_info=data_info if isinstance(data_info, Mapping) else {},
        symbol_pages=dict(symbol_pages or {}),
    )
    return _write(data, Path(path))


#: frames written as CSV too (the long, human-sized ones); the dates × symbols panels are parquet only
CSV_FRAMES = ("equity", "trades")


def write_outputs(result: BacktestResult, out_dir: Path) -> list[Path]:
    """Write every frame as parquet, ``equity``/``trades`` also as CSV, plus summary.json, under ``out_dir``.

    The files are written concurrently (pyarrow encodes and compresses outside the GIL); each is
    still written atomically and reproducibly, and the returned paths are in a fixed order.
    """
    from concurrent.futures import ThreadPoolExecutor

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {
        "equity": result.equity,
        "positions": result.positions,
        "weights": result.weights,
        "trades": result.trades,
        "targets": result.targets,
    }
    if result.sleeve_pnl is not None:
        frames["attribution"] = result.sleeve_pnl
    jobs = [
        (frame, out_dir / f"{name}.{fmt}")
        for name, frame in frames.items()
        for fmt in (("parquet", "csv") if name in CSV_FRAMES else ("parquet",))
    ]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for done in [pool.submit(write_frame, frame, path) for frame, path in jobs]:
            done.result()
    written = [path for _, path in jobs]
    p = out_dir / "summary.json"
    write_text(json.dumps(summary(result), indent=2, sort_keys=True) + "\n", p)
    written.append(p)
    return written
