"""Per-strategy attribution: which strategy sleeve produced each fill, and what each one earned.

Owns :func:`attribute`. The targets a backtest trades are one book — the
strategies' signals combined by their budgets (Σ budgetᵢ × signalᵢ), then
sized, regime-scaled and guarded — so each cell of the book is split among
the strategies in proportion to their share of the combined signal on the
decision row that produced it (``budgetᵢ × signalᵢ / Σ budgetⱼ × signalⱼ``,
carried forward while the signal is flat). With that split:

* every fill (and every planned order) carries the strategy with the largest
  share (``strategy`` column);
* each symbol's P&L of a session — change in position value minus the cash
  its trades cost, commission and slippage included, so the symbols add up to
  the equity change exactly — is split by the shares, giving each strategy's
  daily P&L; what no strategy's signal ever touched is ``unattributed``;
* per strategy: ``contribution`` (currency), ``contribution_pct`` (of the
  starting cash), ``exposure`` (mean gross weight of the book it holds),
  ``sharpe``, ``max_drawdown`` and ``total_return`` of its P&L as returns on
  the book's previous equity, and ``fills``.

Pure arrays in, plain dicts and frames out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

UNATTRIBUTED = "unattributed"


def shares(
    signals: Mapping[str, pd.DataFrame], budgets: Mapping[str, float], index: pd.Index, columns: pd.Index
) -> dict[str, np.ndarray]:
    """Each strategy's share of every (date, symbol) cell of the combined signal, carried forward
    through rows where the combined signal is 0 or NaN (NaN before a symbol's first signal)."""
    parts = {
        name: np.nan_to_num(frame.reindex(index=index, columns=columns).to_numpy(dtype="float64"))
        * float(budgets.get(name, 0.0))
        for name, frame in signals.items()
    }
    total = sum(parts.values()) if parts else np.zeros((len(index), len(columns)))
    live = np.abs(total) > 1e-12
    rows = np.where(live, np.arange(len(index))[:, None], -1)
    np.maximum.accumulate(rows, axis=0, out=rows)
    cols = np.broadcast_to(np.arange(len(columns)), rows.shape)
    out = {}
    for name, part in parts.items():
        raw = np.where(live, part / np.where(live, total, 1.0), np.nan)
        filled = raw[np.maximum(rows, 0), cols]
        out[name] = np.where(rows >= 0, filled, np.nan)
    return out


def _cells(axis: pd.Index, values: pd.Series, what: str) -> np.ndarray:
    """Positions of ``values`` on ``axis`` (one vectorised lookup; a value not on it is a KeyError, as a
    dict lookup would be)."""
    found = axis.get_indexer(pd.Index(values))
    if (found < 0).any():
        raise KeyError(f"{what} {values.iloc[int(np.argmax(found < 0))]!r} is not in the book")
    return found.astype(np.int64)


def dominant(share: Mapping[str, np.ndarray], rows: np.ndarray, cols: np.ndarray) -> list[str]:
    """For each (row, col) cell, the strategy with the largest absolute share ('' when none)."""
    if not share or not len(rows):
        return [""] * len(rows)
    names = list(share)
    stack = np.stack([np.abs(np.nan_to_num(share[n][rows, cols], nan=-1.0)) for n in names])
    best = stack.argmax(axis=0)
    known = stack.max(axis=0) >= 0
    return [names[b] if ok else "" for b, ok in zip(best.tolist(), known.tolist())]


def attribute(
    *,
    signals: Mapping[str, pd.DataFrame],
    budgets: Mapping[str, float],
    equity: pd.DataFrame,
    positions: pd.DataFrame,
    trades: pd.DataFrame,
    close: pd.DataFrame,
    initial_cash: float,
    orders: pd.DataFrame | None = None,
) -> tuple[dict[str, dict[str, float]], pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """``(per-strategy metrics, trades with a strategy column, orders with a strategy column,
    dates × strategies P&L per session)``."""
    from regimeflex.report import metrics as m

    index, columns = positions.index, positions.columns
    share = shares(signals, budgets, index, columns)
    # a fill on row t executes the decision of row t-1; an order is planned on its own row
    f_rows = _cells(index, trades["date"], "date")
    t_rows = np.maximum(f_rows - 1, 0)
    t_cols = _cells(pd.Index([str(c) for c in columns]), trades["symbol"].astype(str), "symbol")
    trades = trades.assign(strategy=pd.array(dominant(share, t_rows, t_cols), dtype="str"))
    if orders is not None and len(orders):
        o_rows = _cells(index, orders["date"], "date")
        o_cols = _cells(pd.Index([str(c) for c in columns]), orders["symbol"].astype(str), "symbol")
        orders = orders.assign(strategy=pd.array(dominant(share, o_rows, o_cols), dtype="str"))
    elif orders is not None:
        orders = orders.assign(strategy=pd.array([], dtype="str"))

    # each symbol's P&L per session: value change minus what its trades cost (sums to the equity change)
    c_val = close.reindex(index=index, columns=columns).ffill().fillna(0.0).to_numpy(dtype="float64")
    value = positions.to_numpy(dtype="float64") * c_val
    pnl = np.zeros_like(value)
    pnl[1:] = value[1:] - value[:-1]
    if len(trades):
        signed = np.where(trades["side"].to_numpy() == "buy", 1.0, -1.0) * trades["qty"].to_numpy(dtype="float64")
        cost = signed * trades["price"].to_numpy(dtype="float64") + trades["commission"].to_numpy(dtype="float64")
        np.subtract.at(pnl, (f_rows, t_cols), cost)
    # the share that owns row t's P&L is the one of the decision before it
    prev = {name: np.vstack([np.full((1, len(columns)), np.nan), s[:-1]]) for name, s in share.items()}
    eq = equity["equity"].to_numpy(dtype="float64")
    base = np.empty_like(eq)
    base[0] = initial_cash
    base[1:] = eq[:-1]
    weights = value / np.where(eq != 0, eq, np.nan)[:, None]
    out: dict[str, dict[str, float]] = {}
    claimed = np.zeros_like(pnl)
    sleeve_pnl = {}
    for name, s in prev.items():
        part = np.nan_to_num(s) * pnl
        claimed += part
        daily = pd.Series(part.sum(axis=1), index=index)
        sleeve_pnl[name] = daily
        out[name] = _sleeve_metrics(m, daily, base, np.nan_to_num(s) * weights, initial_cash)
        out[name]["fills"] = float((trades["strategy"] == name).sum())
    rest = pd.Series((pnl - claimed).sum(axis=1), index=index)
    if np.abs(rest.to_numpy()).max(initial=0.0) > 1e-6:
        held = np.where(np.isnan(sum(prev.values())) if prev else True, weights, 0.0)
        out[UNATTRIBUTED] = _sleeve_metrics(m, rest, base, held, initial_cash)
        out[UNATTRIBUTED]["fills"] = float((trades["strategy"] == "").sum())
        sleeve_pnl[UNATTRIBUTED] = rest
    frame = pd.DataFrame(sleeve_pnl, index=index)
    frame.columns = pd.Index([str(c) for c in frame.columns], name="strategy")
    return out, trades, orders, frame


def _sleeve_metrics(
    m: Any, daily: pd.Series, base: np.ndarray, weights: np.ndarray, initial: float
) -> dict[str, float]:
    returns = daily / np.where(base != 0, base, np.nan)
    returns = returns.fillna(0.0)
    return {
        "contribution": float(daily.sum()),
        "contribution_pct": float(daily.sum() / initial),
        "exposure": float(np.nan_to_num(np.abs(weights)).sum(axis=1).mean()) if len(weights) else 0.0,
        "total_return": float(np.prod(1.0 + returns.to_numpy()) - 1.0),
        "sharpe": _finite(m.sharpe_ratio(returns)),
        "max_drawdown": _finite(m.max_drawdown(returns)),
    }


def _finite(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return x
