"""Metrics agree with empyrical-reloaded on real prices, and behave at the edges."""

from __future__ import annotations

import math
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

from regimeflex.report import metrics

DATA = Path(__file__).parent / "data" / "report"
REAL_SERIES = ["SPY-2019-lumibot.csv", "TLT-2019-lumibot.csv", "nvda-2007-2009.csv"]


def real_returns(name: str) -> pd.Series:
    frame = pd.read_csv(DATA / name, index_col="Date", parse_dates=True)
    return frame["Adj Close"].astype("float64").pct_change(fill_method=None).iloc[1:]


@pytest.fixture(params=REAL_SERIES)
def returns(request: pytest.FixtureRequest) -> pd.Series:
    return real_returns(request.param)


def test_cagr_matches_empyrical_annual_return(returns: pd.Series) -> None:
    assert metrics.cagr(returns) == pytest.approx(empyrical.annual_return(returns), rel=1e-10)


def test_volatility_matches_empyrical(returns: pd.Series) -> None:
    assert metrics.annual_volatility(returns) == pytest.approx(empyrical.annual_volatility(returns), rel=1e-10)


def test_sharpe_matches_empyrical(returns: pd.Series) -> None:
    assert metrics.sharpe_ratio(returns) == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-10)


def test_sharpe_with_risk_free_matches_empyrical(returns: pd.Series) -> None:
    rf = 0.02 / 252
    assert metrics.sharpe_ratio(returns, risk_free=rf) == pytest.approx(
        empyrical.sharpe_ratio(returns, risk_free=rf), rel=1e-10
    )


def test_sortino_matches_empyrical(returns: pd.Series) -> None:
    assert metrics.sortino_ratio(returns) == pytest.approx(empyrical.sortino_ratio(returns), rel=1e-10)


def test_max_drawdown_matches_empyrical(returns: pd.Series) -> None:
    assert metrics.max_drawdown(returns) == pytest.approx(empyrical.max_drawdown(returns), rel=1e-10)


def test_calmar_matches_empyrical(returns: pd.Series) -> None:
    assert metrics.calmar_ratio(returns) == pytest.approx(empyrical.calmar_ratio(returns), rel=1e-10)


def test_monthly_returns_match_empyrical_aggregation(returns: pd.Series) -> None:
    table = metrics.monthly_returns(returns)
    expected = empyrical.aggregate_returns(returns, "monthly")
    ours = table.stack().dropna()
    assert list(ours.index) == list(expected.index)
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=1e-10)


def test_rolling_sharpe_matches_empyrical(returns: pd.Series) -> None:
    ours = metrics.rolling_sharpe(returns, window=63).dropna()
    expected = empyrical.roll_sharpe_ratio(returns, window=63)
    np.testing.assert_allclose(ours.to_numpy(), np.asarray(expected, dtype="float64")[-len(ours) :], rtol=1e-8)


def test_metrics_ignore_missing_returns() -> None:
    clean = real_returns("SPY-2019-lumibot.csv")
    holed = clean.copy()
    holed.iloc[[5, 50, 100]] = np.nan
    assert metrics.sharpe_ratio(holed) == pytest.approx(metrics.sharpe_ratio(clean.drop(clean.index[[5, 50, 100]])))


def test_drawdown_series_bottoms_at_max_drawdown() -> None:
    returns = real_returns("nvda-2007-2009.csv")
    equity = metrics.equity_from_returns(returns)
    assert metrics.drawdown(equity).min() == pytest.approx(metrics.max_drawdown(returns), rel=1e-10)


def test_returns_from_equity_round_trips() -> None:
    returns = real_returns("GLD-2019-lumibot.csv")
    np.testing.assert_allclose(
        metrics.returns_from_equity(metrics.equity_from_returns(returns, 1000.0)), returns.iloc[1:], rtol=1e-10
    )


def test_hit_rate_is_share_of_up_days_among_moving_days() -> None:
    returns = real_returns("SPY-2019-lumibot.csv")
    ups, downs = int((returns > 0).sum()), int((returns < 0).sum())
    assert metrics.hit_rate(returns) == pytest.approx(ups / (ups + downs))


def test_hit_rate_ignores_scratch_trades() -> None:
    assert metrics.hit_rate(pd.Series([5.0, -2.0, 0.0, 0.0, 1.0])) == pytest.approx(2 / 3)


def test_hit_rate_without_decided_outcomes_is_nan() -> None:
    assert math.isnan(metrics.hit_rate(pd.Series([0.0, np.nan])))


def test_turnover_counts_full_switch_as_one_book_per_period() -> None:
    dates = pd.bdate_range("2019-01-01", periods=10)
    flip = np.tile([[1.0, 0.0], [0.0, 1.0]], (5, 1))
    weights = pd.DataFrame(flip, index=dates, columns=["SPY", "TLT"])
    # the first period builds the book from cash: half a book one-way
    expected = (0.5 + 9 * 1.0) / 10 * 252
    assert metrics.turnover(weights) == pytest.approx(expected)


def test_turnover_of_buy_and_hold_is_only_the_initial_build() -> None:
    dates = pd.bdate_range("2019-01-01", periods=252)
    weights = pd.DataFrame({"SPY": 0.6, "TLT": 0.4}, index=dates)
    assert metrics.turnover(weights) == pytest.approx(0.5)


def test_sharpe_of_constant_returns_is_nan() -> None:
    assert math.isnan(metrics.sharpe_ratio(pd.Series([0.001] * 20)))


def test_calmar_without_drawdown_is_nan() -> None:
    assert math.isnan(metrics.calmar_ratio(pd.Series([0.01, 0.02, 0.0])))


def test_cagr_of_no_returns_is_nan() -> None:
    assert math.isnan(metrics.cagr(pd.Series([], dtype="float64")))


def test_summary_names_every_headline_metric() -> None:
    returns = real_returns("SPY-2019-lumibot.csv")
    assert set(metrics.summary(returns)) == {
        "cagr",
        "volatility",
        "sharpe",
        "sortino",
        "max_drawdown",
        "calmar",
        "turnover",
        "hit_rate",
    }
