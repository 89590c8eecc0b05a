"""The ``mean_reversion`` strategy: its state rules on hand-made z paths and on real SPY data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.builtins import mean_reversion as mr
from regimeflex.errors import ConfigError
from regimeflex.signals.indicators import zscore


def run(z: list[float], **params) -> list[float]:
    p = mr.MeanReversionParams(**params)
    return mr.run_mean_reversion(np.array(z, dtype=float)[:, None], p)[:, 0].tolist()


def test_enters_long_below_minus_entry_z_and_exits_inside_exit_z():
    assert run([0, -2.5, -1.5, -0.4, 0], entry_z=2, exit_z=0.5) == [0, 1, 1, 0, 0]


def test_does_not_enter_short_unless_allowed():
    assert run([0, 2.5, 2.5], entry_z=2) == [0, 0, 0]
    assert run([0, 2.5, 1.0, 0.2], entry_z=2, exit_z=0.5, allow_short=True) == [0, -1, -1, 0]


def test_time_stop_exits_after_max_hold_days_sessions():
    assert run([-3, -3, -3, -3, -3], entry_z=2, max_hold_days=3) == [1, 1, 1, 0, 0]


def test_after_a_time_stop_it_waits_for_z_to_come_back_inside_entry_z():
    path = [-3, -3, -3, -1, -2.5]
    assert run(path, entry_z=2, exit_z=0.5, max_hold_days=2) == [1, 1, 0, 1 * 0, 1]


def test_stop_z_exits_when_the_stretch_grows():
    assert run([-2.5, -3.0, -4.1, -4.1], entry_z=2, stop_z=4, max_hold_days=None) == [1, 1, 0, 0]


def test_no_entry_beyond_stop_z():
    assert run([-5, -5], entry_z=2, stop_z=4) == [0, 0]


def test_missing_z_keeps_the_position():
    assert run([-2.5, np.nan, -1.0], entry_z=2, max_hold_days=None) == [1, 1, 1]


def test_rows_before_the_first_z_are_nan():
    out = run([np.nan, np.nan, -2.5], entry_z=2)
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == 1


def test_on_spy_every_entry_is_below_minus_entry_z_and_every_hold_respects_the_time_stop(spy_bars):
    params = {"window": 20, "entry_z": 2.0, "exit_z": 0.5, "max_hold_days": 10}
    sig = mr.generate_signal(bars=spy_bars, params=params)["SPY"]
    z = zscore(spy_bars["close"], 20)["SPY"]
    entries = (sig == 1) & (sig.shift(1) == 0)
    assert entries.sum() > 20
    assert (z[entries] < -2.0).all()
    runs = sig.eq(1).astype(int).groupby(sig.ne(1).cumsum()).sum()
    assert runs.max() <= 10


def test_on_spy_every_exit_is_explained_by_reversion_or_the_time_stop(spy_bars):
    params = {"window": 20, "entry_z": 2.0, "exit_z": 0.5, "max_hold_days": 10}
    sig = mr.mean_reversion_signal(spy_bars, params)["SPY"]
    z = zscore(spy_bars["close"], 20)["SPY"]
    exits = sig.index[(sig == 0) & (sig.shift(1) == 1)]
    run_length = sig.eq(1).astype(int).groupby(sig.ne(1).cumsum()).cumsum().shift(1)
    for day in exits:
        assert z[day] > -0.5 or run_length[day] == 10, day


def test_exit_z_not_below_entry_z_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        mr.mean_reversion_signal(pd.DataFrame(), {"entry_z": 1.0, "exit_z": 1.5})
    assert str(err.value) == (
        "strategies.yaml: mean_reversion params: exit_z must be below entry_z, got exit_z=1.5 entry_z=1.0"
    )


def test_stop_z_not_above_entry_z_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        mr.mean_reversion_signal(pd.DataFrame(), {"entry_z": 2.0, "stop_z": 1.5})
    assert str(err.value) == (
        "strategies.yaml: mean_reversion params: stop_z must be above entry_z, got stop_z=1.5 entry_z=2.0"
    )
