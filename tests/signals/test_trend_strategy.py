"""The ``trend`` strategy plugin on real SPY data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.builtins import trend
from regimeflex.errors import ConfigError
from regimeflex.signals.indicators import sma


def test_crossover_is_long_exactly_where_fast_sma_is_above_slow(spy_bars):
    sig = trend.generate_signal(bars=spy_bars, params={"fast": 50, "slow": 200})
    close = spy_bars["close"]
    fast, slow = sma(close, 50), sma(close, 200)
    ready = slow.notna()
    expected = (fast > slow).astype(float).where(ready)
    pd.testing.assert_frame_equal(sig, expected, check_names=False)


def test_warm_up_rows_are_nan_and_later_rows_are_not(spy_bars):
    sig = trend.trend_signal(spy_bars, {"fast": 20, "slow": 100})
    assert sig["SPY"].iloc[:99].isna().all()
    assert sig["SPY"].iloc[99:].notna().all()


def test_signal_has_the_index_and_symbols_of_the_bars(panel):
    sig = trend.trend_signal(panel, {})
    assert sig.index.equals(panel.index)
    assert list(sig.columns) == ["SPY", "VIX"]
    assert (sig.dtypes == np.float64).all()


def test_long_only_never_goes_short_but_allow_short_does(spy_bars):
    long_only = trend.trend_signal(spy_bars, {"rule": "price_above_sma", "slow": 200})
    both = trend.trend_signal(spy_bars, {"rule": "price_above_sma", "slow": 200, "allow_short": True})
    assert set(long_only["SPY"].dropna().unique()) == {0.0, 1.0}
    assert set(both["SPY"].dropna().unique()) == {-1.0, 1.0}


def test_price_above_sma_is_long_while_spy_is_above_its_200_day_average_in_2013(spy_bars):
    sig = trend.trend_signal(spy_bars, {"rule": "price_above_sma", "slow": 200})
    close, slow = spy_bars["close"]["SPY"], sma(spy_bars["close"], 200)["SPY"]
    window = slice("2013-01-01", "2013-12-31")
    assert (sig["SPY"][window] == (close[window] > slow[window]).astype(float)).all()
    assert sig["SPY"][window].mean() > 0.9  # 2013 was a steady bull year


def test_settings_model_is_the_trend_params():
    assert trend.settings_model() is trend.TrendParams


def test_fast_not_below_slow_is_a_config_error_naming_both():
    with pytest.raises(ConfigError) as err:
        trend.trend_signal(pd.DataFrame(), {"fast": 200, "slow": 50})
    assert str(err.value) == "strategies.yaml: trend params: fast must be below slow, got fast=200 slow=50"


def test_unknown_param_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError) as err:
        trend.trend_signal(pd.DataFrame(), {"slwo": 100})
    assert str(err.value) == "strategies.yaml: trend params: slwo: unknown key; remove it or fix its spelling"
