"""The ``equal_weight`` sizer plugin and the caps every sizer shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.builtins import equal_weight
from regimeflex.errors import ConfigError

DATES = pd.bdate_range("2024-01-01", periods=3)


def signals(rows: list[list[float]], symbols: str = "ABCD") -> pd.DataFrame:
    return pd.DataFrame(rows, index=DATES[: len(rows)], columns=list(symbols), dtype="float64")


def size(sig: pd.DataFrame, **params) -> pd.DataFrame:
    return equal_weight.size_position(signals=sig, bars=None, params=params)


def test_each_long_name_gets_an_equal_share():
    w = size(signals([[1, 1, 0, 1]]), max_weight=1.0)
    np.testing.assert_allclose(w.iloc[0].to_numpy(), [1 / 3, 1 / 3, 0, 1 / 3])


def test_signal_magnitude_scales_the_share():
    w = size(signals([[1, 0.5, 0, 0]]), max_weight=1.0)
    np.testing.assert_allclose(w.iloc[0].to_numpy(), [0.5, 0.25, 0, 0])


def test_short_signal_gives_a_negative_weight():
    w = size(signals([[1, -1, 0, 0]]), max_weight=1.0)
    np.testing.assert_allclose(w.iloc[0].to_numpy(), [0.5, -0.5, 0, 0])


def test_nan_signal_is_no_position_and_output_has_no_nan():
    w = size(signals([[np.nan, np.nan, np.nan, np.nan], [np.nan, 1, np.nan, np.nan]]), max_weight=1.0)
    assert not w.isna().any().any()
    assert w.iloc[0].eq(0).all()
    assert w.iloc[1].tolist() == [0, 1, 0, 0]


def test_max_weight_caps_one_name_and_leaves_the_rest_in_cash():
    w = size(signals([[1, 0, 0, 0]]), max_weight=0.2)
    assert w.iloc[0].tolist() == [0.2, 0, 0, 0]


def test_cash_buffer_keeps_that_fraction_uninvested():
    w = size(signals([[1, 1, 1, 1]]), max_weight=1.0, cash_buffer=0.1)
    assert w.iloc[0].sum() == pytest.approx(0.9)


def test_max_gross_scales_a_long_short_book_down():
    w = size(signals([[1, 1, -1, -1]]), max_weight=1.0, max_gross=0.5)
    assert w.iloc[0].abs().sum() == pytest.approx(0.5)


def test_max_names_keeps_the_strongest_signals_and_breaks_ties_by_column_order():
    w = size(signals([[0.5, 1, 0.5, 0.9]]), max_weight=1.0, max_names=3)
    held = w.columns[w.iloc[0] != 0].tolist()
    assert held == ["A", "B", "D"]


def test_weights_have_the_signals_index_and_columns(panel):
    sig = pd.DataFrame(1.0, index=panel.index, columns=panel["close"].columns)
    w = equal_weight.size_position(signals=sig, bars=panel, params={})
    assert w.index.equals(sig.index) and w.columns.equals(sig.columns)


def test_cash_buffer_of_one_is_rejected_with_the_key_and_value():
    with pytest.raises(ConfigError) as err:
        size(signals([[1, 0, 0, 0]]), cash_buffer=1.0)
    assert str(err.value) == "risk.yaml: sizer.params: cash_buffer: Input should be less than 1, got 1.0"
