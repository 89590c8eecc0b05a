"""The backtest tear sheet: how a strategy did over history, on one page.

Owns :class:`TearSheetData` — the inputs a backtest hands over (an equity
curve, optionally a benchmark, the weights it held and the trades it made)
— the checks that those inputs are usable, and the page: headline metrics
against the benchmark, equity vs benchmark, drawdown, monthly returns
heatmap, rolling Sharpe, gross/net exposure and the trades table. The
backtest calls :func:`write_tearsheet`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.report import charts, metrics
from regimeflex.report.render import ReportError, render_template, write_atomic

#: Columns a trades frame must have; ``pnl`` (realised P&L per trade) and
#: ``commission`` are optional and shown when present.
TRADE_COLUMNS: tuple[str, ...] = ("date", "symbol", "side", "qty", "price")
#: The trades table shows at most this many rows (the most recent); the count says so.
MAX_TRADE_ROWS = 500

METRIC_LABELS: dict[str, str] = {
    "cagr": "CAGR",
    "volatility": "Volatility",
    "sharpe": "Sharpe",
    "sortino": "Sortino",
    "max_drawdown": "Max drawdown",
    "calmar": "Calmar",
    "turnover": "Turnover (×/yr)",
    "hit_rate": "Hit rate",
}
_PERCENT_METRICS = {"cagr", "volatility", "max_drawdown", "hit_rate"}


@dataclass(frozen=True, eq=False)
class TearSheetData:
    """What a backtest hands to the tear sheet.

    * ``equity``: account equity by session date (a float Series on a
      DatetimeIndex, at least two sessions, all positive).
    * ``benchmark``: optional prices or equity of a benchmark by date; it is
      rebased to the strategy's starting equity and aligned to its dates.
    * ``weights``: optional dates × symbols frame of held weights (fractions of
      equity); gives the exposure chart and turnover.
    * ``trades``: optional frame with columns ``date symbol side qty price``
      and optionally ``pnl`` (realised P&L, used for the hit rate) and ``commission``.
    * ``params``: anything worth printing with the results (strategy, costs, period).
    """

    equity: pd.Series
    benchmark: pd.Series | None = None
    benchmark_name: str = "benchmark"
    weights: pd.DataFrame | None = None
    trades: pd.DataFrame | None = None
    title: str = "Backtest"
    params: Mapping[str, Any] = field(default_factory=dict)
    rolling_window: int = 126
    generated_at: datetime | None = None


def _check_series(series: Any, name: str) -> pd.Series:
    if not isinstance(series, pd.Series):
        raise ReportError(f"tear sheet: {name} must be a pandas Series indexed by date, got {type(series).__name__}")
    try:
        index = pd.DatetimeIndex(series.index)
    except (TypeError, ValueError):
        raise ReportError(
            f"tear sheet: {name} must be indexed by dates; got index of type {series.index.dtype}"
        ) from None
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    values.index = index
    values = values.dropna().sort_index()
    if len(values) < 2:
        raise ReportError(f"tear sheet: {name} needs at least two dated values, got {len(values)}")
    if (values <= 0).any():
        first = values[values <= 0].index[0]
        raise ReportError(
            f"tear sheet: {name} must be positive (equity or prices); got {values[first]:g} on {first:%Y-%m-%d}"
        )
    return values


def _check_trades(trades: Any) -> pd.DataFrame | None:
    if trades is None:
        return None
    if not isinstance(trades, pd.DataFrame):
        raise ReportError(f"tear sheet: trades must be a pandas DataFrame, got {type(trades).__name__}")
    missing = [c for c in TRADE_COLUMNS if c not in trades.columns]
    if missing:
        raise ReportError(
            f"tear sheet: trades is missing column(s) {missing}; expected "
            f"{', '.join(TRADE_COLUMNS)} (pnl and commission optional)"
        )
    return trades


def _format_metric(name: str, value: float) -> str:
    if not math.isfinite(value):
        return "–"
    if name in _PERCENT_METRICS:
        return f"{value * 100:.2f}%"
    return f"{value:.2f}"


def metric_rows(data: TearSheetData) -> list[dict[str, Any]]:
    """The metrics table: one row per metric with strategy and benchmark values, raw and formatted."""
    equity = _check_series(data.equity, "equity")
    trades = _check_trades(data.trades)
    returns = metrics.returns_from_equity(equity)
    pnl = trades["pnl"].astype("float64") if trades is not None and "pnl" in trades.columns else None
    ours = metrics.summary(returns, weights=data.weights, trade_pnl=pnl)
    theirs: Mapping[str, float] = {}
    if data.benchmark is not None:
        bench = _check_series(data.benchmark, "benchmark").reindex(equity.index).ffill().dropna()
        bench_returns = metrics.returns_from_equity(bench)
        theirs = metrics.summary(bench_returns)
        theirs = {**theirs, "turnover": math.nan}
    return [
        {
            "key": k,
            "label": label,
            "value": ours[k],
            "text": _format_metric(k, ours[k]),
            "bench": theirs.get(k, math.nan),
            "bench_text": _format_metric(k, theirs.get(k, math.nan)),
        }
        for k, label in METRIC_LABELS.items()
    ]


def _trade_rows(trades: pd.DataFrame | None) -> tuple[list[dict[str, Any]], int]:
    if trades is None or trades.empty:
        return [], 0
    shown = trades.tail(MAX_TRADE_ROWS)
    rows = []
    for rec in shown.to_dict("records"):
        when = pd.Timestamp(rec["date"])
        rows.append(
            {
                "date": f"{when:%Y-%m-%d}",
                "symbol": str(rec["symbol"]),
                "side": str(rec["side"]),
                "qty": rec["qty"],
                "price": rec["price"],
                "pnl": rec.get("pnl"),
                "commission": rec.get("commission"),
            }
        )
    return rows, len(trades)


def render_tearsheet(data: TearSheetData) -> str:
    """The tear sheet as one self-contained HTML document."""
    if not isinstance(data, TearSheetData):
        raise ReportError(f"tear sheet: expected TearSheetData, got {type(data).__name__}")
    equity = _check_series(data.equity, "equity")
    trades = _check_trades(data.trades)
    returns = metrics.returns_from_equity(equity)
    lines = {"strategy": equity}
    if data.benchmark is not None:
        bench = _check_series(data.benchmark, "benchmark").reindex(equity.index).ffill().dropna()
        lines[data.benchmark_name] = bench / bench.iloc[0] * equity.iloc[0]
    monthly = metrics.monthly_returns(returns)
    rolling = metrics.rolling_sharpe(returns, window=data.rolling_window)
    exposure_svg = ""
    if data.weights is not None and not data.weights.empty:
        w = data.weights.astype("float64").fillna(0.0)
        w.index = pd.DatetimeIndex(w.index)
        exposure_svg = charts.exposure_chart(w.abs().sum(axis=1), w.sum(axis=1))
    trade_rows, trade_count = _trade_rows(trades)
    years = monthly.index.tolist()
    yearly = [(y, float(np.prod(1.0 + monthly.loc[y].dropna().to_numpy()) - 1.0)) for y in years]
    generated = data.generated_at or datetime.now(UTC)
    context = {
        "data": data,
        "generated": generated.strftime("%Y-%m-%d %H:%M UTC"),
        "start": f"{equity.index[0]:%Y-%m-%d}",
        "end": f"{equity.index[-1]:%Y-%m-%d}",
        "sessions": len(equity),
        "start_equity": float(equity.iloc[0]),
        "final_equity": float(equity.iloc[-1]),
        "total_return": float(equity.iloc[-1] / equity.iloc[0] - 1.0),
        "metrics": metric_rows(data),
        "has_benchmark": data.benchmark is not None,
        "equity_svg": charts.line_chart(lines, label="Equity vs benchmark", money=True),
        "drawdown_svg": charts.drawdown_chart(metrics.drawdown(equity)),
        "heatmap_svg": charts.monthly_heatmap(monthly),
        "yearly": yearly,
        "rolling_svg": (
            charts.line_chart({f"{data.rolling_window}-session Sharpe": rolling}, label="Rolling Sharpe")
            if rolling.notna().any()
            else ""
        ),
        "exposure_svg": exposure_svg,
        "trades": trade_rows,
        "trade_count": trade_count,
        "has_pnl": trades is not None and "pnl" in trades.columns,
        "has_commission": trades is not None and "commission" in trades.columns,
        "max_trade_rows": MAX_TRADE_ROWS,
    }
    return render_template("tearsheet.html.j2", context)


def _read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read it as CSV: {exc}") from None


def load_backtest_dir(
    folder: Path, *, title: str = "RegimeFlex backtest", benchmark_name: str = "benchmark"
) -> TearSheetData:
    """Tear-sheet inputs from a ``regimeflex backtest --out`` folder.

    Needs ``equity.csv`` (date index, an ``equity`` column, optionally
    ``benchmark``); uses ``weights.csv`` and ``trades.csv`` when present.
    """
    folder = Path(folder)
    equity_path = folder / "equity.csv"
    if not equity_path.is_file():
        raise ReportError(f"{equity_path} not found; write the folder with `regimeflex backtest --out {folder}`")
    equity = _read_csv(equity_path, index_col=0, parse_dates=True)
    if "equity" not in equity.columns:
        raise ReportError(f"{equity_path}: no 'equity' column (columns: {', '.join(map(str, equity.columns))})")
    weights = None
    if (folder / "weights.csv").is_file():
        weights = _read_csv(folder / "weights.csv", index_col=0, parse_dates=True)
    trades = None
    if (folder / "trades.csv").is_file():
        trades = _read_csv(folder / "trades.csv", index_col=0 if _has_index(folder / "trades.csv") else None)
    stamp = datetime.combine(pd.Timestamp(equity.index[-1]).date(), datetime.min.time(), tzinfo=UTC)
    return TearSheetData(
        equity=equity["equity"],
        benchmark=equity["benchmark"] if "benchmark" in equity.columns else None,
        benchmark_name=benchmark_name,
        weights=weights,
        trades=trades,
        title=title,
        generated_at=stamp,
    )


def _has_index(path: Path) -> bool:
    # pandas writes an unnamed leading index column unless told not to
    with path.open(encoding="utf-8") as handle:
        return handle.readline().startswith(",")


def write_tearsheet(data: TearSheetData, path: Path) -> Path:
    """Render and atomically write the tear sheet to ``path``; returns the path."""
    return write_atomic(Path(path), render_tearsheet(data))
