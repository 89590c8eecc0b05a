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


# ------------------------------------------------- benchmark-relative and tails (real prices, 1e-9)

TOL = 1e-9


def pair(strategy: str, bench: str = "SPY-2019-lumibot.csv") -> tuple[pd.Series, pd.Series]:
    return real_returns(strategy), real_returns(bench)


PAIRS = [("TLT-2019-lumibot.csv", "SPY-2019-lumibot.csv"), ("GLD-2019-lumibot.csv", "SPY-2019-lumibot.csv")]


@pytest.fixture(params=PAIRS, ids=lambda p: p[0].split("-")[0] + "-vs-SPY")
def returns_and_bench(request: pytest.FixtureRequest) -> tuple[pd.Series, pd.Series]:
    return pair(*request.param)


def test_beta_matches_empyrical(returns_and_bench: tuple[pd.Series, pd.Series]) -> None:
    r, b = returns_and_bench
    assert metrics.beta(r, b) == pytest.approx(empyrical.beta(r, b), abs=TOL, rel=TOL)


def test_alpha_matches_empyrical(returns_and_bench: tuple[pd.Series, pd.Series]) -> None:
    r, b = returns_and_bench
    assert metrics.alpha(r, b) == pytest.approx(empyrical.alpha(r, b), abs=TOL, rel=TOL)


def test_correlation_matches_pandas(returns_and_bench: tuple[pd.Series, pd.Series]) -> None:
    r, b = returns_and_bench
    assert metrics.correlation(r, b) == pytest.approx(r.corr(b), abs=TOL)


def test_information_ratio_is_empyrical_excess_sharpe_annualised(
    returns_and_bench: tuple[pd.Series, pd.Series],
) -> None:
    r, b = returns_and_bench
    expected = empyrical.excess_sharpe(r.to_numpy(), b.to_numpy()) * math.sqrt(252)
    assert metrics.information_ratio(r, b) == pytest.approx(expected, abs=TOL, rel=TOL)


def test_tracking_error_is_annualised_std_of_active_return(returns_and_bench: tuple[pd.Series, pd.Series]) -> None:
    r, b = returns_and_bench
    active = (r - b).to_numpy()
    hand = math.sqrt(sum((a - active.mean()) ** 2 for a in active) / (len(active) - 1)) * math.sqrt(252)
    assert metrics.tracking_error(r, b) == pytest.approx(hand, abs=TOL, rel=TOL)


def test_up_and_down_capture_match_empyrical(returns_and_bench: tuple[pd.Series, pd.Series]) -> None:
    r, b = returns_and_bench
    assert metrics.up_capture(r, b) == pytest.approx(empyrical.up_capture(r, b), abs=TOL, rel=TOL)
    assert metrics.down_capture(r, b) == pytest.approx(empyrical.down_capture(r, b), abs=TOL, rel=TOL)


def test_benchmark_metrics_use_common_dates_only() -> None:
    r, b = pair("TLT-2019-lumibot.csv")
    shorter = b.iloc[30:]
    assert metrics.beta(r, shorter) == pytest.approx(empyrical.beta(r.iloc[30:], shorter), abs=TOL, rel=TOL)


def test_skew_and_kurtosis_match_scipy_unbiased(returns: pd.Series) -> None:
    from scipy import stats

    assert metrics.skew(returns) == pytest.approx(stats.skew(returns, bias=False), abs=TOL, rel=TOL)
    assert metrics.kurtosis(returns) == pytest.approx(stats.kurtosis(returns, bias=False), abs=TOL, rel=TOL)


def test_var_and_cvar_match_empyrical(returns: pd.Series) -> None:
    assert metrics.value_at_risk(returns) == pytest.approx(empyrical.value_at_risk(returns), abs=TOL)
    assert metrics.conditional_value_at_risk(returns) == pytest.approx(
        empyrical.conditional_value_at_risk(returns), abs=TOL
    )


def test_yearly_returns_match_empyrical_aggregation() -> None:
    r = real_returns("nvda-2007-2009.csv")
    expected = empyrical.aggregate_returns(r, "yearly")
    np.testing.assert_allclose(metrics.yearly_returns(r).to_numpy(), expected.to_numpy(), rtol=0, atol=TOL)
    assert list(metrics.yearly_returns(r).index) == [2007, 2008, 2009]


def test_best_worst_and_positive_months_by_hand() -> None:
    r = real_returns("nvda-2007-2009.csv")
    monthly = empyrical.aggregate_returns(r, "monthly")
    got = metrics.tearsheet_metrics(r)
    assert got["best_day"] == r.max() and got["worst_day"] == r.min()
    assert got["best_month"] == pytest.approx(monthly.max(), abs=TOL)
    assert got["worst_month"] == pytest.approx(monthly.min(), abs=TOL)
    assert got["positive_months"] == pytest.approx((monthly > 0).sum() / len(monthly), abs=TOL)
    yearly = empyrical.aggregate_returns(r, "yearly")
    assert got["best_year"] == pytest.approx(yearly.max(), abs=TOL)
    assert got["worst_year"] == pytest.approx(yearly.min(), abs=TOL)


def test_rolling_beta_matches_empyrical_roll_beta() -> None:
    r, b = pair("TLT-2019-lumibot.csv")
    ours = metrics.rolling_beta(r, b, window=63).dropna()
    expected = np.asarray(empyrical.roll_beta(r, b, window=63), dtype="float64")
    np.testing.assert_allclose(ours.to_numpy(), expected[-len(ours) :], rtol=1e-8, atol=TOL)


def test_exposure_is_time_in_market_and_mean_gross() -> None:
    dates = pd.bdate_range("2019-01-01", periods=4)
    weights = pd.DataFrame({"SPY": [0.0, 0.5, 0.5, 0.0], "TLT": [0.0, -0.25, 0.5, 0.0]}, index=dates)
    assert metrics.exposure(weights) == pytest.approx((0.5, (0.75 + 1.0) / 4))


def test_metrics_without_benchmark_say_nan_not_zero() -> None:
    got = metrics.tearsheet_metrics(real_returns("SPY-2019-lumibot.csv"))
    assert math.isnan(got["beta"]) and math.isnan(got["alpha"]) and math.isnan(got["up_capture"])


def hand_drawdown_periods(equity: pd.Series) -> list[tuple[str, str, str | None, float, int]]:
    """Plain-Python reference: walk the curve, open a period when it leaves a peak, close it on recovery."""
    out, peak, peak_i, trough_i, inside = [], equity.iloc[0], 0, 0, False
    values, dates = equity.tolist(), [f"{d:%Y-%m-%d}" for d in equity.index]
    for i, v in enumerate(values):
        if v >= peak:
            if inside:
                out.append((dates[peak_i], dates[trough_i], dates[i], values[trough_i] / peak - 1, i - peak_i))
                inside = False
            peak, peak_i = v, i
        else:
            if not inside or v < values[trough_i]:
                trough_i = i
            inside = True
    if inside:
        out.append((dates[peak_i], dates[trough_i], None, values[trough_i] / peak - 1, len(values) - 1 - peak_i))
    return sorted(out, key=lambda p: (p[3], p[0]))


def test_drawdown_periods_match_a_hand_walk_of_the_curve() -> None:
    equity = metrics.equity_from_returns(real_returns("SPY-2019-lumibot.csv"), 100.0)
    ours = [
        (f"{p.start:%Y-%m-%d}", f"{p.trough:%Y-%m-%d}", p.recovery and f"{p.recovery:%Y-%m-%d}", p.depth, p.sessions)
        for p in metrics.drawdown_periods(equity, top=5)
    ]
    hand = hand_drawdown_periods(equity)[:5]
    assert [o[:3] + (o[4],) for o in ours] == [h[:3] + (h[4],) for h in hand]
    np.testing.assert_allclose([o[3] for o in ours], [h[3] for h in hand], atol=TOL)
    assert ours[0][3] == pytest.approx(metrics.max_drawdown(real_returns("SPY-2019-lumibot.csv")), abs=TOL)


def test_unrecovered_drawdown_has_no_recovery_date() -> None:
    equity = metrics.equity_from_returns(real_returns("nvda-2007-2009.csv"), 100.0)
    deepest = metrics.drawdown_periods(equity, top=1)[0]
    assert deepest.recovery is None
    assert deepest.sessions == len(equity) - 1 - equity.index.get_loc(deepest.start)
