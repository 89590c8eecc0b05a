"""The backtest tear sheet: how a strategy did over history, on one page.

Owns :class:`TearSheetData` — the inputs a backtest hands over (an equity
curve, optionally a benchmark, the weights it held and the trades it made,
the rules it ran under, its data, per-sleeve P&L) — the checks that those
inputs are usable, and the page: the rules under the title, headline metrics
against the benchmark (alpha, beta, capture, tails, best/worst periods), the
equity curve with the worst drawdowns shaded and their table, yearly returns
against the benchmark (table and bars), the monthly heatmap, labelled
rolling Sharpe and beta, exposure, per-sleeve attribution, the per-symbol
trade summary (linking symbol pages) with the fills collapsed below, and the
Data section. The backtest calls :func:`write_tearsheet`.
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
from regimeflex.report import trades as trade_tables
from regimeflex.report.render import ReportError, render_template, write_atomic

#: Columns a trades frame must have; ``pnl`` (realised P&L per trade) and
#: ``commission`` are optional and shown when present.
TRADE_COLUMNS: tuple[str, ...] = ("date", "symbol", "side", "qty", "price")
#: The trades table shows at most this many rows (the most recent); the count says so.
MAX_TRADE_ROWS = 500

#: the metrics table, in groups: (group, [(key, label, format)]); format: pct, num or x (a ratio shown as ×)
METRIC_GROUPS: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "Returns",
        (
            ("total_return", "Total return", "pct"),
            ("cagr", "CAGR", "pct"),
            ("best_day", "Best day", "pct"),
            ("worst_day", "Worst day", "pct"),
            ("best_month", "Best month", "pct"),
            ("worst_month", "Worst month", "pct"),
            ("best_year", "Best year", "pct"),
            ("worst_year", "Worst year", "pct"),
            ("positive_months", "Positive months", "pct"),
        ),
    ),
    (
        "Risk",
        (
            ("volatility", "Volatility (annual)", "pct"),
            ("max_drawdown", "Max drawdown", "pct"),
            ("var_95", "Daily VaR 95%", "pct"),
            ("cvar_95", "Daily CVaR 95%", "pct"),
            ("skew", "Skew", "num"),
            ("kurtosis", "Kurtosis (excess)", "num"),
        ),
    ),
    (
        "Risk-adjusted",
        (
            ("sharpe", "Sharpe", "num"),
            ("sortino", "Sortino", "num"),
            ("calmar", "Calmar", "num"),
        ),
    ),
    (
        "Against the benchmark",
        (
            ("alpha", "Alpha (annual)", "pct"),
            ("beta", "Beta", "num"),
            ("correlation", "Correlation", "num"),
            ("information_ratio", "Information ratio", "num"),
            ("tracking_error", "Tracking error", "pct"),
            ("up_capture", "Up capture", "pct"),
            ("down_capture", "Down capture", "pct"),
        ),
    ),
    (
        "Trading",
        (
            ("time_in_market", "Time in market", "pct"),
            ("gross_exposure", "Average gross exposure", "pct"),
            ("turnover", "Turnover (×/yr)", "num"),
            ("hit_rate", "Winning trades", "pct"),
        ),
    ),
)
METRIC_LABELS: dict[str, str] = {key: label for _, rows in METRIC_GROUPS for key, label, _ in rows}
_PERCENT_METRICS = {key for _, rows in METRIC_GROUPS for key, _, fmt in rows if fmt == "pct"}
#: benchmark-relative metrics: the benchmark column shows nothing for them (it is the reference)
_RELATIVE = {"alpha", "beta", "correlation", "information_ratio", "tracking_error", "up_capture", "down_capture"}
#: metrics of the book, not of a return series: the benchmark has none
_BOOK_ONLY = {"turnover", "time_in_market", "gross_exposure", "hit_rate"}
#: symbol pages linked from the tear sheet: the top contributors by P&L (best and worst)
TOP_CONTRIBUTORS = 5


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
    * ``rules``, ``notes``, ``attribution``, ``data_info``, ``symbol_pages``: see each field.
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
    #: the rules the backtest ran under (parity/research, costs, whole or fractional shares), one line each
    rules: tuple[str, ...] = ()
    #: what the backtest could not see or changed (e.g. symbols that end, lookahead), one line each
    notes: tuple[str, ...] = ()
    #: per strategy sleeve, money P&L by session (dates × sleeves); shown when there is more than one sleeve
    attribution: pd.DataFrame | None = None
    #: per strategy sleeve, its exposure (mean gross weight of the book it holds); unknown when absent
    sleeve_exposure: Mapping[str, float] = field(default_factory=dict)
    #: the Data section: source, price_basis, coverage, rejected_rows, synthetic (bool), any other key shown as is
    data_info: Mapping[str, Any] = field(default_factory=dict)
    #: symbol → relative link of its trades-on-prices page (``regimeflex report symbol``)
    symbol_pages: Mapping[str, str] = field(default_factory=dict)


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


def _benchmark_on(equity: pd.Series, benchmark: Any) -> pd.Series | None:
    """The benchmark on the strategy's sessions: gaps inside its history carried forward, nothing
    invented before its first or after its last value (those sessions are left out)."""
    if benchmark is None:
        return None
    bench = _check_series(benchmark, "benchmark")
    return bench.reindex(equity.index).ffill(limit_area="inside").dropna()


def computed_metrics(
    data: TearSheetData, trip_pnl: pd.Series | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """Every metric of the table for the strategy and (when given) the benchmark, raw floats.

    The hit rate is the share of winning trades: the trades' ``pnl`` column when they have one, else
    ``trip_pnl`` (closed round trips), else the share of up days.
    """
    equity = _check_series(data.equity, "equity")
    trades = _check_trades(data.trades)
    returns = metrics.returns_from_equity(equity)
    pnl = trades["pnl"].astype("float64") if trades is not None and "pnl" in trades.columns else trip_pnl
    bench = _benchmark_on(equity, data.benchmark)
    bench_returns = metrics.returns_from_equity(bench) if bench is not None and len(bench) > 1 else None
    ours = metrics.tearsheet_metrics(returns, bench_returns, weights=data.weights, trade_pnl=pnl)
    ours["total_return"] = float(equity.iloc[-1] / equity.iloc[0] - 1.0)
    theirs: dict[str, float] = {}
    if bench is not None and bench_returns is not None:
        theirs = metrics.tearsheet_metrics(bench_returns)
        theirs["total_return"] = float(bench.iloc[-1] / bench.iloc[0] - 1.0)
        for key in _RELATIVE | _BOOK_ONLY:
            theirs[key] = math.nan
    return ours, theirs


def metric_rows(data: TearSheetData, trip_pnl: pd.Series | None = None) -> list[dict[str, Any]]:
    """The metrics table: one row per metric with strategy and benchmark values, raw and formatted."""
    ours, theirs = computed_metrics(data, trip_pnl)
    return [
        {
            "group": group,
            "key": k,
            "label": label,
            "value": ours[k],
            "text": _format_metric(k, ours[k]),
            "bench": theirs.get(k, math.nan),
            "bench_text": _format_metric(k, theirs.get(k, math.nan)),
        }
        for group, rows in METRIC_GROUPS
        for k, label, _ in rows
    ]


def _heat_rows(monthly: pd.DataFrame, yearly: pd.Series) -> list[dict[str, Any]]:
    """The monthly heatmap as table rows: each cell its text, fill and ink (HTML, so it scrolls, never overflows)."""
    values = monthly.reindex(columns=range(1, 13)).to_numpy(dtype="float64", na_value=np.nan)
    finite = values[np.isfinite(values)]
    bound = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 0.01
    fills, inks = charts.heat_colours(values, bound)
    rows = []
    for r, year in enumerate(monthly.index):
        cells = []
        for c in range(12):
            v = values[r, c]
            cells.append(
                {"text": f"{v * 100:.1f}", "fill": fills[r, c], "ink": inks[r, c], "value": repr(float(v))}
                if math.isfinite(v)
                else None
            )
        rows.append({"year": int(year), "cells": cells, "total": float(yearly.get(year, math.nan))})
    return rows


def _drawdown_rows(periods: list[metrics.DrawdownPeriod]) -> list[dict[str, Any]]:
    return [
        {
            "rank": i + 1,
            "start": f"{p.start:%Y-%m-%d}",
            "trough": f"{p.trough:%Y-%m-%d}",
            "recovery": f"{p.recovery:%Y-%m-%d}" if p.recovery is not None else None,
            "depth": p.depth,
            "sessions": p.sessions,
        }
        for i, p in enumerate(periods)
    ]


def _final_values(data: TearSheetData, equity: pd.Series) -> dict[str, float] | None:
    """Each symbol's position value at the last session: its weight times the final equity (None: unknown)."""
    if data.weights is None or data.weights.empty:
        return None
    last = data.weights.astype("float64").fillna(0.0).iloc[-1]
    return {str(s): float(w) * float(equity.iloc[-1]) for s, w in last.items() if w}


def _final_prices(data: TearSheetData, equity: pd.Series, trades: pd.DataFrame) -> dict[str, float]:
    """Last close of each held symbol, recovered as final value / shares held (shares from the fills)."""
    values = _final_values(data, equity) or {}
    held = trade_tables.signed_fills(trades).groupby("symbol")["dq"].sum()
    return {s: v / float(held[s]) for s, v in values.items() if s in held.index and abs(held[s]) > trade_tables.FLAT}


def trade_sections(data: TearSheetData, equity: pd.Series, trades: pd.DataFrame | None) -> dict[str, Any]:
    """The per-symbol summary (by P&L contribution), round-trip counts and the grouped fills table."""
    empty: dict[str, Any] = {
        "symbols": [],
        "fills": [],
        "fill_rows": 0,
        "trade_count": 0,
        "trip_count": 0,
        "contributors": [],
        "pnl_total": math.nan,
        "trip_pnl": None,
    }
    if trades is None or trades.empty:
        return empty
    raw_count = len(trades)
    trades = trade_tables.fill_kinds(trades)  # prepared once, reused by every table below
    pnl = trade_tables.symbol_pnl(trades, _final_values(data, equity))
    trips = trade_tables.round_trips(trades, pd.DatetimeIndex(equity.index), _final_prices(data, equity, trades))
    summary = trade_tables.symbol_summary(trips, pnl, trades)
    fills, fill_rows = trade_tables.grouped_fills(trades, MAX_TRADE_ROWS)
    order = pnl.abs().dropna().sort_values(ascending=False, kind="stable").index[:TOP_CONTRIBUTORS]
    closed = trips.loc[~trips["open"].astype(bool), "pnl"] if len(trips) else pd.Series(dtype="float64")
    return {
        "trip_pnl": closed.astype("float64"),
        "symbols": summary.to_dict("records"),
        "fills": fills,
        "fill_rows": fill_rows,
        "trade_count": raw_count,
        "trip_count": len(trips),
        "contributors": list(order),
        "pnl_total": float(pnl.sum()),
    }


def top_contributors(data: TearSheetData, n: int = TOP_CONTRIBUTORS) -> list[str]:
    """The ``n`` symbols with the largest P&L contribution in size (gains or losses), largest first."""
    equity = _check_series(data.equity, "equity")
    trades = _check_trades(data.trades)
    if trades is None or trades.empty:
        return []
    pnl = trade_tables.symbol_pnl(trades, _final_values(data, equity))
    return [str(s) for s in pnl.abs().dropna().sort_values(ascending=False, kind="stable").index[:n]]


def _attribution_rows(
    attribution: pd.DataFrame | None, equity: pd.Series, exposure: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """Per sleeve: money P&L, share of the total, contribution to return, exposure (NaN, shown as
    unknown, when the backtest did not record it), Sharpe of its daily contribution."""
    if attribution is None or attribution.shape[1] < 2:
        return []
    frame = attribution.astype("float64")
    frame.index = pd.DatetimeIndex(frame.index)
    frame = frame.reindex(equity.index).fillna(0.0)
    start = float(equity.iloc[0])
    prev = equity.shift(1)
    total = float(frame.to_numpy().sum())
    rows = []
    for sleeve in frame.columns:
        pnl = frame[sleeve]
        contribution = (pnl / prev).iloc[1:]
        rows.append(
            {
                "sleeve": str(sleeve),
                "pnl": float(pnl.sum()),
                "share": float(pnl.sum()) / total if total else math.nan,
                "return": float(pnl.sum()) / start,
                "exposure": float((exposure or {}).get(str(sleeve), math.nan)),
                "sharpe": metrics.sharpe_ratio(contribution),
            }
        )
    return rows


_DATA_LABELS = {
    "source": "Source",
    "price_basis": "Price basis",
    "coverage": "Coverage",
    "rejected_rows": "Rejected rows",
    "synthetic": "Synthetic data",
}


def _data_rows(info: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for key, value in info.items():
        text = ("yes — generated prices, not market data" if value else "no") if key == "synthetic" else str(value)
        rows.append((key, _DATA_LABELS.get(key, key.replace("_", " ").capitalize()), text))
    return rows


def _rules(data: TearSheetData) -> list[str]:
    if data.rules:
        return [str(r) for r in data.rules]
    keys = ("parity", "mode", "costs", "shares", "fill", "rebalance")
    return [f"{k}: {data.params[k]}" for k in keys if k in data.params]


def _rolling_label(window: int) -> str:
    months = window / 21
    if abs(months - round(months)) < 1e-9 and months >= 1:
        return f"{round(months)}-month rolling"
    return f"{window}-session rolling"


def render_tearsheet(data: TearSheetData) -> str:
    """The tear sheet as one self-contained HTML document."""
    if not isinstance(data, TearSheetData):
        raise ReportError(f"tear sheet: expected TearSheetData, got {type(data).__name__}")
    equity = _check_series(data.equity, "equity")
    trades = _check_trades(data.trades)
    returns = metrics.returns_from_equity(equity)
    bench = _benchmark_on(equity, data.benchmark)
    bench_returns = metrics.returns_from_equity(bench) if bench is not None and len(bench) > 1 else None
    bname = data.benchmark_name
    lines = {"strategy": equity}
    if bench is not None and len(bench):
        lines[bname] = bench / bench.iloc[0] * float(equity.loc[bench.index[0]])
    periods = metrics.drawdown_periods(equity, top=5)
    spans = [
        (p.start, p.recovery if p.recovery is not None else equity.index[-1], f"#{i + 1}: {p.depth * 100:.1f}%")
        for i, p in enumerate(periods)
    ]
    monthly = metrics.monthly_returns(returns)
    yearly = metrics.yearly_returns(returns)
    bench_yearly = metrics.yearly_returns(bench_returns) if bench_returns is not None else None
    yearly_table = pd.DataFrame({"strategy": yearly})
    if bench_yearly is not None:
        yearly_table[bname] = bench_yearly.reindex(yearly.index)
    rolling_label = _rolling_label(data.rolling_window)
    rolling = metrics.rolling_sharpe(returns, window=data.rolling_window)
    rolling_beta = (
        metrics.rolling_beta(returns, bench_returns, window=data.rolling_window)
        if bench_returns is not None
        else pd.Series(dtype="float64")
    )
    exposure_svg = ""
    if data.weights is not None and not data.weights.empty:
        w = data.weights.astype("float64").fillna(0.0)
        w.index = pd.DatetimeIndex(w.index)
        exposure_svg = charts.exposure_chart(w.abs().sum(axis=1), w.sum(axis=1))
    sections = trade_sections(data, equity, trades)
    info = dict(data.data_info)
    coverage_note = None
    if bench is not None and len(bench) and (bench.index[0] > equity.index[0] or bench.index[-1] < equity.index[-1]):
        coverage_note = (
            f"{bname} covers {bench.index[0]:%Y-%m-%d} → {bench.index[-1]:%Y-%m-%d} of the "
            f"{equity.index[0]:%Y-%m-%d} → {equity.index[-1]:%Y-%m-%d} backtest: its figures and the "
            f"benchmark-relative ones use those sessions only"
        )
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
        "metrics": metric_rows(data, sections["trip_pnl"]),
        "metric_groups": [g for g, _ in METRIC_GROUPS],
        "has_benchmark": bench_returns is not None,
        "coverage_note": coverage_note,
        "rules": _rules(data),
        "synthetic": bool(info.get("synthetic")),
        "data_rows": _data_rows(info),
        "equity_svg": charts.line_chart(
            lines,
            label="Equity vs benchmark" if bench is not None else "Equity",
            money=True,
            spans=spans,
            span_name="worst 5 drawdowns",
        ),
        "drawdowns": _drawdown_rows(periods),
        "drawdown_svg": charts.drawdown_chart(metrics.drawdown(equity)),
        "heat_rows": _heat_rows(monthly, yearly),
        "months": charts.MONTHS,
        "yearly": [
            {
                "year": int(y),
                "strategy": float(yearly[y]),
                "bench": float(bench_yearly.get(y, math.nan)) if bench_yearly is not None else math.nan,
            }
            for y in yearly.index
        ],
        "yearly_svg": charts.bar_chart(yearly_table, label="Yearly returns"),
        "rolling_label": rolling_label,
        "rolling_svg": (
            charts.line_chart({f"{rolling_label} Sharpe": rolling}, label=f"{rolling_label} Sharpe")
            if rolling.notna().any()
            else ""
        ),
        "rolling_beta_svg": (
            charts.line_chart({f"{rolling_label} beta": rolling_beta}, label=f"{rolling_label} beta to {bname}")
            if rolling_beta.notna().any()
            else ""
        ),
        "exposure_svg": exposure_svg,
        "attribution": _attribution_rows(data.attribution, equity, data.sleeve_exposure),
        **sections,
        "has_commission": trades is not None and "commission" in trades.columns,
        "max_trade_rows": MAX_TRADE_ROWS,
    }
    return render_template("tearsheet.html.j2", context)


def _read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read it as CSV: {exc}") from None


def read_frame(folder: Path, name: str) -> pd.DataFrame | None:
    """``name.parquet`` (what ``regimeflex backtest --out`` writes) or ``name.csv``, whichever exists."""
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    if parquet.is_file():
        try:
            return pd.read_parquet(parquet)
        except (OSError, ValueError) as exc:
            raise ReportError(f"{parquet}: cannot read it as parquet: {exc}") from None
    if csv.is_file():
        if name == "trades":
            return _read_csv(csv, index_col=0 if _has_index(csv) else None)
        return _read_csv(csv, index_col=0, parse_dates=True)
    return None


def _read_summary(folder: Path) -> dict[str, Any]:
    path = folder / "summary.json"
    if not path.is_file():
        return {}
    import json

    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read it as JSON: {exc}") from None
    return loaded if isinstance(loaded, dict) else {}


def load_backtest_dir(
    folder: Path, *, title: str = "RegimeFlex backtest", benchmark_name: str = "benchmark"
) -> TearSheetData:
    """Tear-sheet inputs from a ``regimeflex backtest --out`` folder.

    Needs ``equity.csv`` (date index, an ``equity`` column, optionally
    ``benchmark``); uses ``weights`` and ``trades`` (parquet or CSV) and
    ``attribution`` when present, and from ``summary.json`` the rules
    (``rules_text``, else ``rules``), the lookahead ``banner``, ``notes`` and
    ``data`` entries when the backtest recorded them.
    """
    folder = Path(folder)
    equity_path = folder / "equity.csv"
    if not equity_path.is_file():
        raise ReportError(f"{equity_path} not found; write the folder with `regimeflex backtest --out {folder}`")
    equity = _read_csv(equity_path, index_col=0, parse_dates=True)
    if "equity" not in equity.columns:
        raise ReportError(f"{equity_path}: no 'equity' column (columns: {', '.join(map(str, equity.columns))})")
    summary = _read_summary(folder)
    stamp = datetime.combine(pd.Timestamp(equity.index[-1]).date(), datetime.min.time(), tzinfo=UTC)
    pages = {p.stem: f"symbols/{p.name}" for p in sorted((folder / "symbols").glob("*.html"))}
    return TearSheetData(
        equity=equity["equity"],
        benchmark=equity["benchmark"] if "benchmark" in equity.columns else None,
        benchmark_name=benchmark_name
        if benchmark_name != "benchmark"
        else str(summary.get("benchmark") or "benchmark"),
        weights=read_frame(folder, "weights"),
        trades=read_frame(folder, "trades"),
        title=title,
        generated_at=stamp,
        rules=tuple(str(r) for r in as_lines(summary.get("rules_text") or summary.get("rules"))),
        notes=tuple(str(n) for n in as_lines([summary["banner"]] if summary.get("banner") else []))
        + tuple(str(n) for n in as_lines(summary.get("notes"))),
        attribution=read_frame(folder, "attribution"),
        sleeve_exposure=_exposures(summary.get("attribution")),
        data_info=dict(summary["data"]) if isinstance(summary.get("data"), dict) else {},
        symbol_pages=pages,
    )


def _exposures(attribution: Any) -> dict[str, float]:
    """Each sleeve's ``exposure`` from summary.json's ``attribution`` (sleeves without one are left out)."""
    if not isinstance(attribution, Mapping):
        return {}
    return {
        str(k): float(v["exposure"])
        for k, v in attribution.items()
        if isinstance(v, Mapping) and isinstance(v.get("exposure"), (int, float))
    }


def as_lines(value: Any) -> list[Any]:  # also used by regimeflex.backtest.results
    """``rules``/``notes`` as recorded: a list of lines, one string, or a mapping (``key: value`` lines)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [f"{k}: {v}" for k, v in value.items()]
    return list(value)


def _has_index(path: Path) -> bool:
    # pandas writes an unnamed leading index column unless told not to
    with path.open(encoding="utf-8") as handle:
        return handle.readline().startswith(",")


def write_tearsheet(data: TearSheetData, path: Path) -> Path:
    """Render and atomically write the tear sheet to ``path``; returns the path."""
    return write_atomic(Path(path), render_tearsheet(data))
