"""Indicators equal TA-Lib on real data (SPY 1993-2017 and VIX 1990-2020 in one panel)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from regimeflex.signals import indicators as ind

TOL = 1e-9


def per_symbol(panel: pd.DataFrame, field: str, symbol: str) -> pd.Series:
    """The symbol's own history (its leading NaN rows dropped), as TA-Lib sees it."""
    return panel[field][symbol].dropna()


def assert_matches(ours: pd.DataFrame, reference: dict[str, pd.Series]) -> None:
    for symbol, ref in reference.items():
        mine = ours[symbol].reindex(ref.index)
        np.testing.assert_array_equal(
            np.isnan(mine.to_numpy()),
            np.isnan(ref.to_numpy()),
            err_msg=f"{symbol}: warm-up NaN rows differ from TA-Lib",
        )
        np.testing.assert_allclose(mine.to_numpy(), ref.to_numpy(), rtol=0, atol=TOL, equal_nan=True, err_msg=symbol)
        before = ours[symbol].loc[: ref.index[0]].iloc[:-1]
        assert before.isna().all(), f"{symbol}: values before the symbol's first bar"


def talib_each(panel, fn, *fields, **kw):
    out = {}
    for symbol in ("SPY", "VIX"):
        cols = [per_symbol(panel, f, symbol) for f in fields]
        out[symbol] = pd.Series(fn(*[c.to_numpy() for c in cols], **kw), index=cols[0].index)
    return out


def test_sma_equals_talib(panel):
    assert_matches(ind.sma(panel["close"], 50), talib_each(panel, talib.SMA, "close", timeperiod=50))


def test_ema_equals_talib(panel):
    assert_matches(ind.ema(panel["close"], 30), talib_each(panel, talib.EMA, "close", timeperiod=30))


def test_rsi_equals_talib(panel):
    assert_matches(ind.rsi(panel["close"], 14), talib_each(panel, talib.RSI, "close", timeperiod=14))


def test_atr_equals_talib(panel):
    ours = ind.atr(panel["high"], panel["low"], panel["close"], 14)
    assert_matches(ours, talib_each(panel, talib.ATR, "high", "low", "close", timeperiod=14))


def test_true_range_equals_talib(panel):
    ours = ind.true_range(panel["high"], panel["low"], panel["close"])
    assert_matches(ours, talib_each(panel, talib.TRANGE, "high", "low", "close"))


@pytest.mark.parametrize("band", [0, 1, 2])
def test_bollinger_band_equals_talib(panel, band):
    ours = ind.bollinger(panel["close"], 20, 2.0)[band]
    ref = talib_each(panel, lambda c: talib.BBANDS(c, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)[2 - band], "close")
    assert_matches(ours, ref)


def test_zscore_equals_talib_sma_and_stddev(panel):
    def reference(c):
        return (c - talib.SMA(c, 60)) / talib.STDDEV(c, 60, 1.0)

    assert_matches(ind.zscore(panel["close"], 60), talib_each(panel, reference, "close"))


def test_realized_vol_equals_talib_sample_stddev_of_log_returns(panel):
    def reference(c):
        logret = np.log(c[1:] / c[:-1])
        sample = talib.STDDEV(logret, 20, 1.0) * np.sqrt(20 / 19)
        return np.concatenate([[np.nan], sample * np.sqrt(252)])

    assert_matches(ind.realized_vol(panel["close"], 20), talib_each(panel, reference, "close"))


def test_max_drawdown_equals_talib_min_of_close_over_max(panel):
    def reference(c):
        return talib.MIN(c / talib.MAX(c, 126) - 1.0, 126)

    assert_matches(ind.max_drawdown(panel["close"], 126), talib_each(panel, reference, "close"))


def test_indicator_accepts_a_series_and_returns_a_series(spy_bars):
    close = spy_bars["close"]["SPY"]
    out = ind.ema(close, 10)
    assert isinstance(out, pd.Series)
    pd.testing.assert_series_equal(out, ind.ema(spy_bars["close"], 10)["SPY"])


def test_missing_session_reads_nan_not_a_carried_value(spy_bars):
    close = spy_bars["close"].copy()
    gap = close.index[500]
    close.loc[gap, "SPY"] = np.nan
    out = ind.ema(close, 10)
    assert np.isnan(out.loc[gap, "SPY"])
    assert out["SPY"].iloc[501:].notna().all()


def test_flat_price_rsi_reads_neutral_fifty():
    flat = pd.DataFrame({"X": np.full(30, 10.0)}, index=pd.bdate_range("2020-01-01", periods=30))
    out = ind.rsi(flat, 14)
    assert out["X"].iloc[14:].eq(50.0).all()


def test_window_below_one_is_rejected_with_its_value():
    frame = pd.DataFrame({"X": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"^sma: window must be an integer >= 1, got 0$"):
        ind.sma(frame, 0)


def test_non_frame_input_is_rejected_naming_its_type():
    with pytest.raises(TypeError, match=r"^indicators take a pandas DataFrame or Series, got list$"):
        ind.ema([1.0, 2.0, 3.0], 2)


def test_sma_window_with_a_missing_session_is_nan_and_elsewhere_equals_pandas(spy_bars):
    close = spy_bars["close"].copy()
    close.iloc[1000, 0] = np.nan
    ours = ind.sma(close, 20)["SPY"]
    reference = close["SPY"].rolling(20, min_periods=20).mean()
    assert ours.iloc[1000:1020].isna().all() and ours.iloc[1020:].notna().all()
    np.testing.assert_allclose(ours.to_numpy(), reference.to_numpy(), rtol=0, atol=TOL, equal_nan=True)


def test_sma_is_within_1e_12_of_talib_relative(panel):
    ours = ind.sma(panel["close"], 50)
    for symbol, ref in talib_each(panel, talib.SMA, "close", timeperiod=50).items():
        mine = ours[symbol].reindex(ref.index).to_numpy()
        np.testing.assert_allclose(mine, ref.to_numpy(), rtol=1e-12, atol=0, equal_nan=True, err_msg=symbol)


def exact_mean(values: np.ndarray, window: int) -> np.ndarray:
    """The reference: each window summed exactly (math.fsum, correctly rounded), divided by the window."""
    out = np.full(values.shape, np.nan)
    for j in range(values.shape[1]):
        for t in range(window - 1, len(values)):
            cells = values[t - window + 1 : t + 1, j]
            if not np.isnan(cells).any():
                out[t, j] = math.fsum(cells) / window
    return out


@pytest.mark.parametrize("window", [5, 10, 20])
def test_close_above_sma_decides_real_decimal_ties_as_the_exact_mean_does(window):
    """all_stocks_5yr has 2-decimal closes that equal their SMA exactly (5/10/20 sessions: 39/16/5 ties); a
    running total alone rounds some of them a few ulps off and flips the strict ``close > SMA``."""
    rows = pd.read_csv(Path(__file__).resolve().parent.parent / "data" / "all_stocks_5yr_subset.csv.gz")
    close = rows.pivot(index="date", columns="Name", values="close").sort_index()
    values = close.to_numpy()
    exact = exact_mean(values, window)
    ours = ind.sma(close, window).to_numpy()
    assert (values == exact).sum() > 0, "the data has no tie: the test would prove nothing"
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(exact))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(values > ours, values > exact)
        np.testing.assert_array_equal(values == ours, values == exact)


def test_each_symbols_sma_on_a_wide_panel_equals_its_sma_alone_bit_for_bit(monkeypatch):
    """A column-major panel is worked through in blocks of columns: a symbol's average (ties, gaps and
    late listings included) must not depend on which symbols share its block."""
    rows = pd.read_csv(Path(__file__).resolve().parent.parent / "data" / "all_stocks_5yr_subset.csv.gz")
    close = rows.pivot(index="date", columns="Name", values="close").sort_index()
    wide = pd.DataFrame(np.asfortranarray(close.to_numpy()), index=close.index, columns=close.columns)
    assert wide.to_numpy().flags.f_contiguous and wide.isna().any().any()
    monkeypatch.setattr(ind, "_BLOCK_CELLS", 3 * len(wide))  # blocks of three symbols
    for window in (5, 20):
        together = ind.sma(wide, window)
        for symbol in wide.columns:
            np.testing.assert_array_equal(together[symbol].to_numpy(), ind.sma(wide[symbol], window).to_numpy())


def test_flat_price_after_a_long_history_equals_its_sma_exactly():
    """A running total over large earlier prices carries rounding error into later windows; a flat stretch
    still averages to its own price exactly, so ``close > SMA`` is False on it, as it should be."""
    rng = np.random.default_rng(7)
    history = np.concatenate([rng.uniform(900.0, 1100.0, 3000), np.full(60, 10.01)])
    close = pd.Series(history, name="X")
    average = ind.sma(close, 50)
    assert (average.iloc[-11:] == 10.01).all()
    assert not (close.iloc[-11:] > average.iloc[-11:]).any()


def test_realized_vol_on_a_truncated_panel_equals_the_full_panels_rows_bit_for_bit(panel):
    full = ind.realized_vol(panel["close"], 20)
    cut = ind.realized_vol(panel["close"].iloc[:300], 20)
    np.testing.assert_array_equal(cut.to_numpy(), full.iloc[:300].to_numpy())


def test_realized_vol_of_a_flat_window_is_zero_and_of_a_window_with_a_gap_is_nan(panel):
    close = panel["close"].iloc[-200:].copy()
    symbol = close.columns[close.notna().all().to_numpy()][0]
    close.loc[close.index[100:130], symbol] = close[symbol].iloc[100]  # a halted name: 29 zero returns
    close.loc[close.index[160], symbol] = np.nan
    vol = ind.realized_vol(close, 20)[symbol]
    assert (vol.iloc[120:130] == 0.0).all()
    assert vol.iloc[160:181].isna().all() and vol.iloc[[159, 181]].notna().all()
