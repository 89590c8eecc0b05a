"""Properties every sizer's output keeps, for any signals (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from regimeflex.risk.sizing import SizingCaps, equal_weights, fixed_fractional_weights

signal_values = st.one_of(st.just(0.0), st.just(np.nan), st.floats(-1, 1, allow_nan=False))
panels = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 8)), elements=signal_values)
caps = st.builds(
    SizingCaps,
    max_weight=st.floats(0.01, 1.0),
    max_gross=st.floats(0.1, 2.0),
    cash_buffer=st.floats(0.0, 0.5),
    max_names=st.one_of(st.none(), st.integers(1, 8)),
)


def as_frame(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        values,
        index=pd.bdate_range("2024-01-01", periods=len(values)),
        columns=[f"S{i}" for i in range(values.shape[1])],
    )


def assert_within_caps(w: pd.DataFrame, signals: pd.DataFrame, c: SizingCaps) -> None:
    values = w.to_numpy()
    assert np.isfinite(values).all()
    assert (np.abs(values) <= c.max_weight + 1e-12).all()
    assert (np.abs(values).sum(axis=1) <= c.max_gross + 1e-9).all()
    assert (np.clip(values, 0, None).sum(axis=1) <= 1 - c.cash_buffer + 1e-9).all()
    flat = np.nan_to_num(signals.to_numpy()) == 0
    assert (values[flat] == 0).all()
    assert (np.sign(values) * np.sign(np.nan_to_num(signals.to_numpy())) >= 0).all()
    if c.max_names is not None:
        assert ((values != 0).sum(axis=1) <= c.max_names).all()


@settings(max_examples=60, deadline=None)
@given(panels, caps)
def test_equal_weights_stay_within_every_cap_and_follow_the_signal_sign(values, c):
    signals = as_frame(values)
    assert_within_caps(equal_weights(signals, c), signals, c)


@settings(max_examples=60, deadline=None)
@given(panels, caps, st.floats(0.01, 1.0))
def test_fixed_fractional_weights_stay_within_every_cap_and_follow_the_signal_sign(values, c, fraction):
    signals = as_frame(values)
    assert_within_caps(fixed_fractional_weights(signals, c, fraction), signals, c)
