"""Performance metrics: pure functions over return, equity and weight series.

This module owns the numbers a tear sheet and a backtest summary show —
CAGR, annualised volatility, Sharpe, Sortino, maximum drawdown, Calmar,
turnover and hit rate — plus the series behind the charts (drawdown, rolling
Sharpe, monthly returns). Every function is pure (no I/O, no plotting),
vectorised, and follows empyrical's conventions (simple daily returns,
252 periods a year, sample standard deviation, NaN observations ignored) so
its figures can be checked against empyrical-reloaded. A metric that is not
defined for the input (fewer than two returns, zero volatility, no drawdown)
is NaN, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

#: Trading sessions per year: the annualisation factor for daily data.
PERIODS_PER_YEAR = 252
#: Below this a standard deviation of returns is rounding noise (constant series).
_ZERO_STD = 1e-14

__all__ = [
    "PERIODS_PER_YEAR",
    "returns_from_equity",
    "equity_from_returns",
    "drawdown",
    "cagr",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "turnover",
    "hit_rate",
    "rolling_sharpe",
    "monthly_returns",
    "summary",
]


def _clean(returns: pd.Series | np.ndarray) -> np.ndarray:
    values = np.asarray(returns, dtype="float64")
    return values[~np.isnan(values)]


def returns_from_equity(equity: pd.Series) -> pd.Series:
    """Simple period returns of an equity curve (the first period has no return and is dropped)."""
    equity = equity.astype("float64")
    return equity.pct_change(fill_method=None).iloc[1:]


def equity_from_returns(returns: pd.Series, start: float = 1.0) -> pd.Series:
    """Compound simple returns into an equity curve starting at ``start`` (NaN counts as 0)."""
    return start * (1.0 + returns.astype("float64").fillna(0.0)).cumprod()


def drawdown(equity: pd.Series) -> pd.Series:
    """Fractional distance below the running peak, ``<= 0`` (0 at each new high)."""
    equity = equity.astype("float64")
    peak = equity.cummax()
    return equity / peak - 1.0


def cagr(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Compound annual growth rate: total growth raised to ``1 / years``, minus one."""
    values = _clean(returns)
    if values.size == 0:
        return math.nan
    growth = float(np.prod(1.0 + values))
    years = values.size / periods_per_year
    if growth <= 0:
        return -1.0
    return growth ** (1.0 / years) - 1.0


def annual_volatility(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Sample standard deviation of returns scaled by ``sqrt(periods_per_year)``."""
    values = _clean(returns)
    if values.size < 2:
        return math.nan
    return float(np.std(values, ddof=1) * math.sqrt(periods_per_year))


def sharpe_ratio(returns: pd.Series, risk_free: float = 0.0, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised Sharpe ratio of returns in excess of a per-period ``risk_free`` rate."""
    excess = _clean(returns) - risk_free
    if excess.size < 2:
        return math.nan
    std = np.std(excess, ddof=1)
    if not std > _ZERO_STD:  # constant returns: floating noise, not risk
        return math.nan
    return float(np.mean(excess) / std * math.sqrt(periods_per_year))


def sortino_ratio(returns: pd.Series, required_return: float = 0.0, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised mean excess return over annualised downside deviation.

    Downside deviation is the root mean square of the shortfalls below
    ``required_return`` over *all* periods (periods above it count as 0), as
    in empyrical.
    """
    excess = _clean(returns) - required_return
    if excess.size < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2))) * math.sqrt(periods_per_year)
    if downside == 0:
        return math.nan
    return float(np.mean(excess) * periods_per_year / downside)


def max_drawdown(returns: pd.Series) -> float:
    """Largest peak-to-trough fall of the compounded returns, as a negative fraction (0 if none)."""
    values = _clean(returns)
    if values.size == 0:
        return math.nan
    # Start from 1 so a loss on the first day counts as a drawdown from the initial capital.
    equity = np.concatenate(([1.0], np.cumprod(1.0 + values)))
    peak = np.maximum.accumulate(equity)
    return float(np.min(equity / peak - 1.0))


def calmar_ratio(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """CAGR divided by the magnitude of the maximum drawdown (NaN when there is no drawdown)."""
    mdd = max_drawdown(returns)
    if not mdd < 0:
        return math.nan
    return cagr(returns, periods_per_year) / abs(mdd)


def turnover(weights: pd.DataFrame, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Average annual one-way turnover of a dates × symbols weight frame.

    Each period trades ``sum(|w_t - w_{t-1}|) / 2`` of equity (buys and sells
    of a rebalance counted once); the mean over periods is scaled to a year.
    The initial build-up from cash counts as trading. 1.0 means the whole book
    is replaced once a year.
    """
    if weights.empty:
        return math.nan
    filled = weights.astype("float64").fillna(0.0)
    previous = filled.shift(1).fillna(0.0)
    traded = (filled - previous).abs().sum(axis=1) / 2.0
    return float(traded.mean() * periods_per_year)


def hit_rate(pnl: pd.Series | pd.DataFrame) -> float:
    """Share of winning outcomes among the decided ones: ``wins / (wins + losses)``.

    Pass per-trade P&L (a trades table's ``pnl`` column) for the trade hit
    rate, or daily returns for the share of up days. Zero outcomes (flat
    days, scratch trades) are neither wins nor losses; NaN when nothing was decided.
    """
    values = _clean(np.asarray(pnl, dtype="float64").ravel())
    wins = int(np.count_nonzero(values > 0))
    losses = int(np.count_nonzero(values < 0))
    if wins + losses == 0:
        return math.nan
    return wins / (wins + losses)


def rolling_sharpe(returns: pd.Series, window: int = 126, periods_per_year: int = PERIODS_PER_YEAR) -> pd.Series:
    """Annualised Sharpe ratio over a trailing ``window`` of periods (NaN until the window fills)."""
    returns = returns.astype("float64")
    mean = returns.rolling(window, min_periods=window).mean()
    std = returns.rolling(window, min_periods=window).std(ddof=1)
    return (mean / std.where(std > _ZERO_STD)) * math.sqrt(periods_per_year)


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded return of each calendar month: a years × months (1–12) table, NaN where no data."""
    returns = returns.astype("float64").dropna()
    if returns.empty:
        return pd.DataFrame(
            index=pd.Index([], name="year"), columns=pd.Index(range(1, 13), name="month"), dtype="float64"
        )
    index = pd.DatetimeIndex(returns.index)
    grouped = (1.0 + returns).groupby([index.year, index.month]).prod() - 1.0
    grouped.index = grouped.index.set_names(["year", "month"])
    table = grouped.unstack("month").reindex(columns=range(1, 13))
    table.columns.name = "month"
    return table


def summary(
    returns: pd.Series,
    *,
    weights: pd.DataFrame | None = None,
    trade_pnl: pd.Series | None = None,
    periods_per_year: int = PERIODS_PER_YEAR,
) -> Mapping[str, float]:
    """Every headline metric in one mapping (the tear sheet's metrics table).

    ``turnover`` needs ``weights``; ``hit_rate`` uses ``trade_pnl`` when given,
    else the share of up periods. Missing inputs give NaN.
    """
    return {
        "cagr": cagr(returns, periods_per_year),
        "volatility": annual_volatility(returns, periods_per_year),
        "sharpe": sharpe_ratio(returns, periods_per_year=periods_per_year),
        "sortino": sortino_ratio(returns, periods_per_year=periods_per_year),
        "max_drawdown": max_drawdown(returns),
        "calmar": calmar_ratio(returns, periods_per_year),
        "turnover": turnover(weights, periods_per_year) if weights is not None else math.nan,
        "hit_rate": hit_rate(trade_pnl if trade_pnl is not None else returns),
    }
