"""The inverse-volatility, fixed-fractional and ATR-risk sizer plugins on real SPY/VIX bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.builtins import atr_risk, fixed_fractional, inverse_vol
from regimeflex.errors import ConfigError
from regimeflex.signals.indicators import atr, realized_vol


@pytest.fixture(scope="module")
def both_long(panel):
    return pd.DataFrame(1.0, index=panel.index, columns=panel["close"].columns)


def test_inverse_vol_gives_the_calmer_name_the_larger_weight_in_proportion(panel, both_long):
    w = inverse_vol.size_position(signals=both_long, bars=panel, params={"max_weight": 1.0})
    vol = realized_vol(panel["close"], 20)
    day = pd.Timestamp("2010-06-01")
    assert w.loc[day].sum() == pytest.approx(1.0)
    assert w.loc[day, "SPY"] / w.loc[day, "VIX"] == pytest.approx(vol.loc[day, "VIX"] / vol.loc[day, "SPY"])


def test_inverse_vol_target_sizes_each_name_to_its_share_of_the_target(panel, both_long):
    params = {"max_weight": 1.0, "max_gross": 4.0, "target_vol": 0.10}
    w = inverse_vol.size_position(signals=both_long, bars=panel, params=params)
    vol = realized_vol(panel["close"], 20)
    day = pd.Timestamp("2013-06-03")
    assert w.loc[day, "SPY"] == pytest.approx(0.10 / 2 / vol.loc[day, "SPY"])


def test_inverse_vol_holds_nothing_before_volatility_exists(panel, both_long):
    w = inverse_vol.size_position(signals=both_long, bars=panel, params={})
    assert w.iloc[:20].eq(0).all().all()
    assert not w.isna().any().any()


def test_fixed_fractional_puts_the_fraction_in_each_name(panel, both_long):
    w = fixed_fractional.size_position(signals=both_long, bars=panel, params={"fraction": 0.07})
    assert w.loc["2010-06-01"].tolist() == [0.07, 0.07]


def test_atr_risk_weight_loses_risk_per_trade_at_the_stop(spy_bars):
    sig = pd.DataFrame(1.0, index=spy_bars.index, columns=["SPY"])
    params = {"risk_per_trade": 0.01, "atr_window": 14, "atr_multiple": 2.0, "max_weight": 1.0}
    w = atr_risk.size_position(signals=sig, bars=spy_bars, params=params)["SPY"]
    stop = 2.0 * atr(spy_bars["high"], spy_bars["low"], spy_bars["close"], 14)["SPY"]
    loss_at_stop = w / spy_bars["close"]["SPY"] * stop
    assert np.allclose(loss_at_stop.iloc[14:][w.iloc[14:] < 1.0], 0.01)
    assert w.iloc[:14].eq(0).all()


def test_atr_risk_respects_max_weight(spy_bars):
    sig = pd.DataFrame(1.0, index=spy_bars.index, columns=["SPY"])
    w = atr_risk.size_position(signals=sig, bars=spy_bars, params={"risk_per_trade": 0.05, "max_weight": 0.3})
    assert w["SPY"].max() == pytest.approx(0.3)


def test_fraction_above_one_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        fixed_fractional.size_position(signals=pd.DataFrame(), bars=None, params={"fraction": 1.5})
    assert str(err.value) == "risk.yaml: sizer.params: fraction: Input should be less than or equal to 1, got 1.5"


def test_atr_risk_sizes_from_the_atr_stop_risk_yaml_places_not_its_own(spy_bars):
    sig = pd.DataFrame(1.0, index=spy_bars.index, columns=["SPY"])
    placed = {"kind": "atr", "atr_multiple": 3.0, "atr_window": 10}
    params = {"risk_per_trade": 0.01, "atr_window": 14, "atr_multiple": 2.0, "max_weight": 1.0, "stops": placed}
    w = atr_risk.size_position(signals=sig, bars=spy_bars, params=params)["SPY"]
    stop = 3.0 * atr(spy_bars["high"], spy_bars["low"], spy_bars["close"], 10)["SPY"]  # the placed stop's distance
    loss_at_stop = (w / spy_bars["close"]["SPY"] * stop).iloc[10:][w.iloc[10:] < 1.0]
    assert len(loss_at_stop) > 100 and np.allclose(loss_at_stop, 0.01)


def test_atr_risk_sizes_from_a_fixed_percent_stop_when_risk_yaml_places_one(spy_bars):
    sig = pd.DataFrame(1.0, index=spy_bars.index, columns=["SPY"])
    params = {"risk_per_trade": 0.01, "max_weight": 1.0, "stops": {"kind": "fixed", "pct": 0.05}}
    w = atr_risk.size_position(signals=sig, bars=spy_bars, params=params)["SPY"]
    assert np.allclose(w, 0.2)  # losing 5% on a 20% position is 1% of equity, from the first session


def test_the_run_hands_risk_yaml_stops_to_a_sizer_that_takes_them(project):
    import yaml

    from regimeflex.config import load_settings
    from regimeflex.plugins import PluginHost
    from regimeflex.plugins.selection import sizer_params

    risk = yaml.safe_load((project / "risk.yaml").read_text())
    risk["sizer"] = {"plugin": "atr_risk", "params": {"risk_per_trade": 0.01}}
    risk["stops"] = {"kind": "atr", "atr_multiple": 2.5, "atr_window": 20}
    (project / "risk.yaml").write_text(yaml.safe_dump(risk))
    settings = load_settings(project)
    host = PluginHost.load()
    assert sizer_params(settings, host)["stops"]["atr_multiple"] == 2.5
    risk["sizer"] = {"plugin": "equal_weight", "params": {}}  # a sizer without a stops field gets none
    (project / "risk.yaml").write_text(yaml.safe_dump(risk))
    assert "stops" not in sizer_params(load_settings(project), host)
