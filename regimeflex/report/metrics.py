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
from dataclasses import dataclass

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
    "yearly_returns",
    "summary",
    "align",
    "beta",
    "alpha",
    "correlation",
    "tracking_error",
    "information_ratio",
    "up_capture",
    "down_capture",
    "skew",
    "kurtosis",
    "value_at_risk",
    "conditional_value_at_risk",
    "share_positive",
    "exposure",
    "rolling_beta",
    "drawdown_periods",
    "DrawdownPeriod",
    "tearsheet_metrics",
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


def yearly_returns(returns: pd.Series) -> pd.Series:
    """Compounded return of each calendar year, indexed by year (empyrical's ``aggregate_returns(..., 'yearly')``)."""
    returns = returns.astype("float64").dropna()
    if returns.empty:
        return pd.Series(dtype="float64", index=pd.Index([], name="year"))
    index = pd.DatetimeIndex(returns.index)
    out = (1.0 + returns).groupby(index.year).prod() - 1.0
    out.index.name = "year"
    return out


# ------------------------------------------------------- benchmark-relative


def align(returns: pd.Series, benchmark: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The two return series on their common dates where both are known (NaN pairs dropped)."""
    joined = pd.concat([returns.astype("float64"), benchmark.astype("float64")], axis=1, join="inner").dropna()
    return joined.iloc[:, 0].to_numpy(), joined.iloc[:, 1].to_numpy()


def beta(returns: pd.Series, benchmark: pd.Series) -> float:
    """Covariance of the returns with the benchmark's over the benchmark's variance (empyrical's ``beta``)."""
    r, b = align(returns, benchmark)
    if r.size < 2:
        return math.nan
    centred = b - b.mean()
    variance = float(np.mean(centred**2))
    if variance < 1e-30:
        return math.nan
    return float(np.mean(centred * r) / variance)


def alpha(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised Jensen's alpha: the mean of ``r - beta * b`` compounded over a year (empyrical's ``alpha``)."""
    r, b = align(returns, benchmark)
    if r.size < 2:
        return math.nan
    slope = beta(returns, benchmark)
    if not math.isfinite(slope):
        return math.nan
    return float((1.0 + np.mean(r - slope * b)) ** periods_per_year - 1.0)


def correlation(returns: pd.Series, benchmark: pd.Series) -> float:
    """Pearson correlation of the daily returns with the benchmark's."""
    r, b = align(returns, benchmark)
    if r.size < 2 or np.std(r) < _ZERO_STD or np.std(b) < _ZERO_STD:
        return math.nan
    return float(np.corrcoef(r, b)[0, 1])


def tracking_error(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised sample standard deviation of the active return ``r - b``."""
    r, b = align(returns, benchmark)
    if r.size < 2:
        return math.nan
    return float(np.std(r - b, ddof=1) * math.sqrt(periods_per_year))


def information_ratio(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised mean active return over the tracking error (empyrical's ``excess_sharpe`` × sqrt(252))."""
    r, b = align(returns, benchmark)
    if r.size < 2:
        return math.nan
    active = r - b
    std = np.std(active, ddof=1)
    if not std > _ZERO_STD:
        return math.nan
    return float(np.mean(active) / std * math.sqrt(periods_per_year))


def _capture(returns: pd.Series, benchmark: pd.Series, up: bool, periods_per_year: int) -> float:
    r, b = align(returns, benchmark)
    keep = b > 0 if up else b < 0
    if not keep.any():
        return math.nan
    theirs = cagr(pd.Series(b[keep]), periods_per_year)
    if not theirs or not math.isfinite(theirs):
        return math.nan
    return cagr(pd.Series(r[keep]), periods_per_year) / theirs


def up_capture(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """CAGR of the strategy on the benchmark's up days over the benchmark's CAGR on them (empyrical's)."""
    return _capture(returns, benchmark, True, periods_per_year)


def down_capture(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """CAGR of the strategy on the benchmark's down days over the benchmark's CAGR on them (empyrical's)."""
    return _capture(returns, benchmark, False, periods_per_year)


# -------------------------------------------------------------- distribution


def skew(returns: pd.Series) -> float:
    """Sample skewness of the returns, bias-corrected (pandas' ``Series.skew``; scipy ``skew(bias=False)``)."""
    x = _clean(returns)
    n = x.size
    if n < 3:
        return math.nan
    d = x - x.mean()
    m2, m3 = float(np.mean(d**2)), float(np.mean(d**3))
    if m2 < _ZERO_STD**2:
        return math.nan
    return math.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5


def kurtosis(returns: pd.Series) -> float:
    """Excess kurtosis of the returns, bias-corrected (pandas' ``Series.kurt``; scipy ``kurtosis(bias=False)``)."""
    x = _clean(returns)
    n = x.size
    if n < 4:
        return math.nan
    d = x - x.mean()
    m2, m4 = float(np.mean(d**2)), float(np.mean(d**4))
    if m2 < _ZERO_STD**2:
        return math.nan
    g2 = m4 / m2**2 - 3.0
    return ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))


def value_at_risk(returns: pd.Series, cutoff: float = 0.05) -> float:
    """Historical daily VaR: the ``cutoff`` quantile of the returns, linear interpolation (empyrical's)."""
    x = _clean(returns)
    if x.size == 0:
        return math.nan
    return float(np.percentile(x, 100 * cutoff))


def conditional_value_at_risk(returns: pd.Series, cutoff: float = 0.05) -> float:
    """Expected shortfall: the mean of the worst ``int((n - 1) * cutoff) + 1`` returns (empyrical's CVaR)."""
    x = _clean(returns)
    if x.size == 0:
        return math.nan
    k = int((x.size - 1) * cutoff)
    return float(np.mean(np.partition(x, k)[: k + 1]))


def share_positive(returns: pd.Series) -> float:
    """Share of the periods (e.g. months) with a positive return, among all known periods."""
    x = _clean(returns)
    return math.nan if x.size == 0 else float(np.count_nonzero(x > 0) / x.size)


def exposure(weights: pd.DataFrame) -> tuple[float, float]:
    """``(time in market, average gross exposure)`` of a dates × symbols weight frame.

    Time in market is the share of sessions holding anything; gross exposure is
    ``sum(|w|)`` per session, averaged over all sessions.
    """
    if weights is None or weights.empty:
        return math.nan, math.nan
    gross = weights.astype("float64").fillna(0.0).abs().sum(axis=1)
    return float((gross > 1e-12).mean()), float(gross.mean())


def rolling_beta(returns: pd.Series, benchmark: pd.Series, window: int = 126) -> pd.Series:
    """Beta over a trailing ``window`` of sessions (NaN until the window fills)."""
    joined = pd.concat([returns.astype("float64"), benchmark.astype("float64")], axis=1, join="inner")
    joined.columns = ["r", "b"]
    cov = joined["r"].rolling(window, min_periods=window).cov(joined["b"])
    var = joined["b"].rolling(window, min_periods=window).var()
    return cov / var.where(var > 1e-30)


# ----------------------------------------------------------------- drawdowns


@dataclass(frozen=True)
class DrawdownPeriod:
    """One fall from a peak and the way back.

    ``start`` is the last session at the peak, ``trough`` the lowest session,
    ``recovery`` the first session back at or above the peak (None when not
    recovered by the end). ``depth`` is negative; ``sessions`` counts sessions
    from ``start`` to ``recovery`` (or to the last session when not recovered).
    """

    start: pd.Timestamp
    trough: pd.Timestamp
    recovery: pd.Timestamp | None
    depth: float
    sessions: int


def drawdown_periods(equity: pd.Series, top: int = 5) -> list[DrawdownPeriod]:
    """The ``top`` deepest drawdown periods of an equity curve, deepest first (periods do not overlap)."""
    equity = equity.astype("float64").dropna()
    if len(equity) < 2:
        return []
    values = equity.to_numpy()
    peak = np.maximum.accumulate(values)
    dd = values / peak - 1.0
    under = dd < 0
    if not under.any():
        return []
    # runs of sessions below the peak: each starts the session after a peak session
    edges = np.diff(np.r_[0, under.astype("int8"), 0])
    starts = np.flatnonzero(edges == 1)  # first session under water
    ends = np.flatnonzero(edges == -1)  # first session back at the peak (may be len: not recovered)
    index = equity.index
    periods = []
    for first, back in zip(starts.tolist(), ends.tolist()):
        trough = first + int(np.argmin(dd[first:back]))
        recovered = back < len(values)
        last = back if recovered else len(values) - 1
        periods.append(
            DrawdownPeriod(
                start=pd.Timestamp(index[first - 1]),
                trough=pd.Timestamp(index[trough]),
                recovery=pd.Timestamp(index[back]) if recovered else None,
                depth=float(dd[trough]),
                sessions=last - (first - 1),
            )
        )
    periods.sort(key=lambda p: (p.depth, p.start))
    return periods[:top]


def tearsheet_metrics(
    returns: pd.Series,
    benchmark: pd.Series | None = None,
    *,
    weights: pd.DataFrame | None = None,
    trade_pnl: pd.Series | None = None,
    periods_per_year: int = PERIODS_PER_YEAR,
) -> dict[str, float]:
    """Every number of the tear sheet's metrics table for one return series.

    Benchmark-relative figures (alpha … down capture) are NaN without a
    benchmark; exposure and turnover are NaN without weights.
    """
    monthly = monthly_returns(returns).stack()
    yearly = yearly_returns(returns)
    out = dict(summary(returns, weights=weights, trade_pnl=trade_pnl, periods_per_year=periods_per_year))
    out.update(
        skew=skew(returns),
        kurtosis=kurtosis(returns),
        var_95=value_at_risk(returns),
        cvar_95=conditional_value_at_risk(returns),
        best_day=float(np.max(_clean(returns))) if _clean(returns).size else math.nan,
        worst_day=float(np.min(_clean(returns))) if _clean(returns).size else math.nan,
        best_month=float(monthly.max()) if len(monthly) else math.nan,
        worst_month=float(monthly.min()) if len(monthly) else math.nan,
        best_year=float(yearly.max()) if len(yearly) else math.nan,
        worst_year=float(yearly.min()) if len(yearly) else math.nan,
        positive_months=share_positive(monthly),
    )
    time_in, gross = exposure(weights) if weights is not None else (math.nan, math.nan)
    out.update(time_in_market=time_in, gross_exposure=gross)
    if benchmark is not None:
        out.update(
            alpha=alpha(returns, benchmark, periods_per_year),
            beta=beta(returns, benchmark),
            correlation=correlation(returns, benchmark),
            information_ratio=information_ratio(returns, benchmark, periods_per_year),
            tracking_error=tracking_error(returns, benchmark, periods_per_year),
            up_capture=up_capture(returns, benchmark, periods_per_year),
            down_capture=down_capture(returns, benchmark, periods_per_year),
        )
    else:
        for key in (
            "alpha",
            "beta",
            "correlation",
            "information_ratio",
            "tracking_error",
            "up_capture",
            "down_capture",
        ):
            out[key] = math.nan
    return out
