"""Trades on prices: one page per symbol, as freqtrade's ``plot-dataframe``.

Owns :class:`SymbolPageData` (a symbol's closes, the strategy's indicator
lines from its own parameters, its fills and the shares held) and the page:
price with the indicator lines and entry/exit markers at the fill prices,
position size below, and the symbol's round trips. ``regimeflex report
symbol`` and ``regimeflex backtest --out`` (for the tear sheet's top
contributors) call :func:`write_symbol_page`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from regimeflex.report import charts
from regimeflex.report import trades as trade_tables
from regimeflex.report.render import ReportError, render_template, write_atomic

#: more resizing fills than this and they are left off the price chart (the position panel shows them):
#: a book rebalanced daily would bury the price line under marks
MAX_RESIZE_MARKERS = 40


@dataclass(frozen=True, eq=False)
class SymbolPageData:
    """What one symbol page shows.

    * ``close``: the symbol's closes by session date (the price line).
    * ``lines``: indicator lines by name (e.g. ``"trend: SMA 50"``), each a Series on dates.
    * ``fills``: this symbol's fills (``date side qty price``, optionally ``commission``); may be empty.
    * ``position``: shares held at each close; derived from the fills when None.
    * ``strategy``: what drew the lines, in words (e.g. ``trend (crossover, fast 50, slow 200)``).
    """

    symbol: str
    close: pd.Series
    lines: Mapping[str, pd.Series] = field(default_factory=dict)
    fills: pd.DataFrame | None = None
    position: pd.Series | None = None
    strategy: str = ""
    source: str = ""
    back_link: str | None = None
    generated_at: datetime | None = None


def _close(data: SymbolPageData) -> pd.Series:
    close = data.close
    if not isinstance(close, pd.Series):
        raise ReportError(f"symbol page {data.symbol}: close must be a pandas Series, got {type(close).__name__}")
    close = pd.to_numeric(close, errors="coerce").astype("float64")
    close.index = pd.DatetimeIndex(close.index)
    close = close.dropna().sort_index()
    if len(close) < 2:
        raise ReportError(
            f"symbol page {data.symbol}: needs at least two closes, got {len(close)}; "
            f"check the symbol and the data cache (`regimeflex data status`)"
        )
    return close


def _markers(fills: pd.DataFrame) -> tuple[list[dict[str, Any]], int]:
    """Entry/exit markers (always) and add/trim markers for resizing fills (when not too many)."""
    kinds = trade_tables.fill_kinds(fills)
    resize = kinds[kinds["kind"] == "rebalance"]
    shown = kinds if len(resize) <= MAX_RESIZE_MARKERS else kinds[kinds["kind"] != "rebalance"]
    out = []
    for date, kind, dq, price, qty in zip(shown["date"], shown["kind"], shown["dq"], shown["price"], shown["qty"]):
        marker = {"entry": "entry", "exit": "exit", "flip": "entry" if dq > 0 else "exit"}.get(
            str(kind), "add" if dq > 0 else "trim"
        )
        out.append(
            {
                "date": date,
                "value": float(price),
                "kind": marker,
                "qty": float(qty),
                "title": f"{date:%Y-%m-%d} {kind}: {'buy' if dq > 0 else 'sell'} {qty:g} @ {price:.2f}",
            }
        )
    return out, len(resize) if len(resize) > MAX_RESIZE_MARKERS else 0


def render_symbol_page(data: SymbolPageData) -> str:
    """The symbol page as one self-contained HTML document."""
    if not isinstance(data, SymbolPageData):
        raise ReportError(f"symbol page: expected SymbolPageData, got {type(data).__name__}")
    close = _close(data)
    fills = data.fills if data.fills is not None else pd.DataFrame(columns=["date", "symbol", "side", "qty", "price"])
    if len(fills):
        fills = trade_tables.fill_kinds(fills.assign(symbol=data.symbol))  # prepared once for every use below
    window = (close.index[0], close.index[-1])
    series: dict[str, pd.Series] = {data.symbol: close}
    for name, line in data.lines.items():
        line = pd.to_numeric(line, errors="coerce").astype("float64")
        line.index = pd.DatetimeIndex(line.index)
        series[str(name)] = line[(line.index >= window[0]) & (line.index <= window[1])]
    markers, hidden = _markers(fills) if len(fills) else ([], 0)
    if data.position is not None:
        position = pd.to_numeric(data.position, errors="coerce").astype("float64").fillna(0.0)
        position.index = pd.DatetimeIndex(position.index)
    elif len(fills):
        signed = trade_tables.signed_fills(fills)
        position = signed.groupby("date")["dq"].sum().cumsum().reindex(close.index, method="ffill").fillna(0.0)
    else:
        position = pd.Series(0.0, index=close.index)
    trips = trade_tables.round_trips(fills, close.index, {data.symbol: float(close.iloc[-1])}) if len(fills) else None
    kinds = trade_tables.fill_kinds(fills)["kind"].value_counts() if len(fills) else pd.Series(dtype="int64")
    generated = data.generated_at or datetime.now(UTC)
    context = {
        "data": data,
        "generated": generated.strftime("%Y-%m-%d %H:%M UTC"),
        "start": f"{close.index[0]:%Y-%m-%d}",
        "end": f"{close.index[-1]:%Y-%m-%d}",
        "last_close": float(close.iloc[-1]),
        "line_names": [str(n) for n in data.lines],
        "price_svg": charts.line_chart(
            series, label=f"{data.symbol} close with indicator lines and trades", markers=markers, height=320.0
        ),
        "position_svg": charts.step_chart(position, label=f"{data.symbol} shares held"),
        "hidden_markers": hidden,
        "fill_count": len(fills),
        "entries": int(kinds.get("entry", 0)),
        "exits": int(kinds.get("exit", 0)),
        "trips": [] if trips is None else trips.to_dict("records"),
        "pnl": float(trips["pnl"].sum()) if trips is not None and len(trips) else math.nan,
    }
    return render_template("symbol.html.j2", context)


def symbol_page_path(folder: Path, symbol: str) -> Path:
    """Where a symbol's page lives under a backtest folder: ``<folder>/symbols/<SYMBOL>.html``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in symbol)
    return Path(folder) / "symbols" / f"{safe}.html"


def write_symbol_page(data: SymbolPageData, path: Path) -> Path:
    """Render and atomically write the page to ``path``; returns the path."""
    return write_atomic(Path(path), render_symbol_page(data))
