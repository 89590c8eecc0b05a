"""Regime detection on real SPY (and VIX) history with the default settings."""

from __future__ import annotations

import pandas as pd
import pytest

from regimeflex.errors import ConfigError
from regimeflex.signals.regime_detection import detect_regime, regime_changes


@pytest.fixture(scope="module")
def regime(spy_bars, vix_close):
    return detect_regime(spy_bars["close"]["SPY"], vix_close)


def test_autumn_2008_to_spring_2009_reads_bear(regime):
    assert (regime["2008-09-15":"2009-03-31"] == "bear").all()


def test_2013_and_2014_read_bull_apart_from_the_october_2014_dip(regime):
    window = regime["2013-01-01":"2014-12-31"]
    not_bull = window[window != "bull"]
    assert not_bull.index.min() >= pd.Timestamp("2014-10-01")
    assert not_bull.index.max() <= pd.Timestamp("2014-10-31")


def test_regime_flips_at_most_a_handful_of_times_a_year(regime):
    changes = regime_changes(regime)
    assert changes.groupby(changes.index.year).size().max() <= 5


def test_hysteresis_removes_most_flips_of_the_raw_reading(spy_bars):
    close = spy_bars["close"]["SPY"]
    raw = regime_changes(detect_regime(close, settings={"band": 0.0, "min_days": 1}))
    held = regime_changes(detect_regime(close))
    assert len(held) * 3 < len(raw)


def test_output_is_categorical_with_the_bars_dates(regime, spy_bars):
    assert list(regime.cat.categories) == ["bear", "neutral", "bull"]
    assert regime.index.equals(spy_bars.index)


def test_regime_is_nan_until_the_sma_and_first_confirmation_then_always_known(regime):
    first = regime.index.get_loc(regime.first_valid_index())
    assert first >= 199 + 5 - 1  # 200-session SMA, then min_days=5 of one reading
    assert regime.iloc[first:].notna().all()


def test_vix_at_or_above_vix_bear_reads_bear_after_min_days(spy_bars, vix_close):
    close = spy_bars["close"]["SPY"]
    r = detect_regime(close, vix_close, {"vix_bear": 30.0, "min_days": 1})
    fear = vix_close.reindex(close.index) >= 30.0
    assert (r[fear & r.notna()] == "bear").all()
    assert not (detect_regime(close, settings={"min_days": 1})[fear] == "bear").all()


def test_neutral_band_reads_neutral_when_configured(spy_bars):
    r = detect_regime(spy_bars["close"]["SPY"], settings={"neutral": True, "band": 0.03})
    assert (r == "neutral").sum() > 0


def test_min_days_below_one_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        detect_regime(pd.Series([1.0]), settings={"min_days": 0})
    assert str(err.value) == "regime: min_days: Input should be greater than or equal to 1, got 0"


def test_a_frame_instead_of_the_benchmark_series_is_rejected(spy_bars):
    with pytest.raises(
        TypeError,
        match=r"^detect_regime: close must be a pandas Series of the benchmark, "
        r"got DataFrame$",
    ):
        detect_regime(spy_bars["close"])


@pytest.mark.parametrize("cut", ["2008-10-15", "2011-08-08", "2014-10-16"])
def test_regime_on_a_date_does_not_depend_on_later_bars(spy_bars, vix_close, cut):
    close = spy_bars["close"]["SPY"]
    settings = {"vix_bear": 40.0}
    full = detect_regime(close, vix_close, settings)
    truncated = detect_regime(close[:cut], vix_close[:cut], settings)
    pd.testing.assert_series_equal(truncated, full[:cut])
