"""Risk budgets across strategy instances and regime scaling of weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.config.risk import RegimeRiskSettings, RegimeScaling
from regimeflex.errors import ConfigError
from regimeflex.risk.budgets import apply_regime_scaling, combine_signals
from regimeflex.signals.regime_detection import detect_regime_from_bars

DATES = pd.bdate_range("2024-01-01", periods=3)


def frame(rows):
    return pd.DataFrame(rows, index=DATES[: len(rows)], columns=["A", "B"], dtype="float64")


def test_combined_signal_is_the_budget_weighted_sum():
    out = combine_signals({"trend": frame([[1, 1]]), "mr": frame([[1, -1]])}, {"trend": 0.6, "mr": 0.4})
    np.testing.assert_allclose(out.to_numpy(), [[1.0, 0.2]])


def test_a_strategy_in_warm_up_contributes_nothing_and_all_nan_stays_nan():
    out = combine_signals({"trend": frame([[np.nan, np.nan]]), "mr": frame([[1, np.nan]])}, {"trend": 0.5, "mr": 0.5})
    assert out.iloc[0, 0] == 0.5
    assert np.isnan(out.iloc[0, 1])


def test_combined_signal_is_clipped_to_one():
    out = combine_signals({"a": frame([[1, 1]]), "b": frame([[1, 1]])}, {"a": 0.8, "b": 0.8})
    assert out.to_numpy().max() == 1.0


def test_signal_without_a_budget_is_an_error_naming_it():
    with pytest.raises(KeyError, match=r"no budget for strategy instance\(s\) \['mr'\]"):
        combine_signals({"mr": frame([[1, 1]])}, {})


def test_bear_dates_are_scaled_by_the_bear_factor_and_unknown_by_unknown():
    weights = frame([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    regime = pd.Series(pd.Categorical(["bull", "bear", None], categories=["bear", "neutral", "bull"]), index=DATES)
    out = apply_regime_scaling(weights, regime, RegimeScaling(bear=0.5, unknown=0.0))
    assert out["A"].tolist() == [0.5, 0.25, 0.0]


def test_regime_scaling_on_real_spy_halves_2008_weights(spy_bars):
    settings = RegimeRiskSettings()
    regime = detect_regime_from_bars(spy_bars, settings)
    weights = pd.DataFrame(1.0, index=spy_bars.index, columns=["SPY"])
    out = apply_regime_scaling(weights, regime, settings.scaling)
    assert (out.loc["2008-10-01":"2009-03-01", "SPY"] == 0.5).all()
    assert (out.loc["2013-03-01":"2013-12-31", "SPY"] == 1.0).all()


def test_regime_benchmark_missing_from_bars_is_a_config_error(spy_bars):
    settings = RegimeRiskSettings(detect={"benchmark": "QQQ"})
    with pytest.raises(ConfigError) as err:
        detect_regime_from_bars(spy_bars, settings)
    assert str(err.value) == (
        "risk.yaml: regime.detect.benchmark: symbol 'QQQ' is not in the bars; "
        "add it to the universe in run.yaml (or change regime.detect.benchmark)"
    )


def test_combining_no_signals_is_an_error():
    with pytest.raises(ValueError, match=r"^combine_signals: no strategy signals to combine$"):
        combine_signals({}, {})
