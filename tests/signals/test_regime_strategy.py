"""The ``regime`` composite strategy: trend in bull, mean reversion in bear, by weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.builtins import regime as composite
from regimeflex.builtins.mean_reversion import mean_reversion_signal
from regimeflex.builtins.trend import trend_signal
from regimeflex.errors import ConfigError
from regimeflex.signals.regime_detection import detect_regime


@pytest.fixture(scope="module")
def parts(spy_bars):
    regime = detect_regime(spy_bars["close"]["SPY"])
    return regime, trend_signal(spy_bars, {}), mean_reversion_signal(spy_bars, {})


def test_bull_dates_follow_trend_and_bear_dates_follow_mean_reversion(spy_bars, parts):
    regime, trend, mr = parts
    sig = composite.generate_signal(bars=spy_bars, params={})
    bull, bear = regime == "bull", regime == "bear"
    pd.testing.assert_series_equal(sig["SPY"][bull], trend["SPY"][bull])
    pd.testing.assert_series_equal(sig["SPY"][bear], mr["SPY"][bear])


def test_weights_blend_members_and_clip_to_one(spy_bars, parts):
    regime, trend, mr = parts
    params = {"weights": {"bull": {"trend": 0.75, "mean_reversion": 0.75}, "bear": {}}}
    sig = composite.regime_signal(spy_bars, params)["SPY"]
    bull = regime == "bull"
    expected = (0.75 * trend["SPY"][bull] + 0.75 * mr["SPY"][bull]).clip(-1, 1)
    pd.testing.assert_series_equal(sig[bull], expected)
    assert sig[regime == "bear"].eq(0).all()


def test_dates_before_the_regime_is_known_are_nan(spy_bars, parts):
    regime = parts[0]
    sig = composite.regime_signal(spy_bars, {})["SPY"]
    assert sig[regime.isna()].isna().all()
    assert sig[regime.notna()].notna().all()


def test_vix_column_feeds_the_regime_when_named(panel):
    sig = composite.regime_signal(panel, {"vix_symbol": "VIX", "regime": {"vix_bear": 30.0}})
    regime = detect_regime(panel["close"]["SPY"], panel["close"]["VIX"], {"vix_bear": 30.0})
    assert sig.index.equals(panel.index)
    assert np.isnan(sig["SPY"][regime.isna()]).all()


def test_missing_benchmark_is_a_config_error_naming_the_symbol(panel):
    with pytest.raises(ConfigError) as err:
        composite.regime_signal(panel, {"regime": {"benchmark": "QQQ"}})
    assert str(err.value) == (
        "strategies.yaml: regime params: regime.benchmark: symbol 'QQQ' is not in the bars; "
        "add it to the symbols loaded for this strategy"
    )


def test_unknown_member_in_weights_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        composite.regime_signal(pd.DataFrame(), {"weights": {"bull": {"momentum": 1.0}}})
    assert str(err.value) == (
        "strategies.yaml: regime params: weights.bull.momentum: "
        "Input should be 'trend' or 'mean_reversion', got 'momentum'"
    )
