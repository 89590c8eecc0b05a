"""The synthetic provider: deterministic, range-independent, calendar-true, OHLC-consistent."""

from __future__ import annotations

from datetime import date
from importlib import metadata

import numpy as np
import pandas as pd
import pytest

from regimeflex.builtins import synthetic
from regimeflex.data import calendar
from regimeflex.errors import ConfigError
from regimeflex.plugins import PluginHost
from regimeflex.types import BarsRequest, check_bars


def request(symbols=("SPY", "QQQ"), start=date(2020, 1, 1), end=date(2020, 12, 31), **settings) -> BarsRequest:
    return BarsRequest(symbols=tuple(symbols), start=start, end=end, settings=settings)


def test_same_seed_gives_identical_bars() -> None:
    pd.testing.assert_frame_equal(synthetic.provide_bars(request(seed=3)), synthetic.provide_bars(request(seed=3)))


def test_different_seed_gives_different_prices() -> None:
    a = synthetic.provide_bars(request(seed=3))["close"]
    b = synthetic.provide_bars(request(seed=4))["close"]
    assert not np.allclose(a.to_numpy(), b.to_numpy())


def test_a_symbols_bars_do_not_depend_on_the_range_or_other_symbols() -> None:
    wide = synthetic.provide_bars(request(symbols=("SPY", "QQQ", "TLT"), start=date(2019, 6, 1), end=date(2021, 1, 5)))
    narrow = synthetic.provide_bars(request(symbols=("SPY",), start=date(2020, 3, 2), end=date(2020, 3, 31)))
    pd.testing.assert_frame_equal(narrow, wide.loc["2020-03-02":"2020-03-31", (slice(None), ["SPY"])])


def test_rows_are_exactly_the_xnys_sessions_of_the_range() -> None:
    bars = synthetic.provide_bars(request(start=date(2020, 11, 20), end=date(2020, 12, 31)))
    assert bars.index.equals(calendar.sessions("2020-11-20", "2020-12-31"))
    assert pd.Timestamp("2020-11-26") not in bars.index  # Thanksgiving


def test_bars_satisfy_the_contract_and_ohlc_consistency() -> None:
    bars = check_bars(synthetic.provide_bars(request(symbols=[f"S{i}" for i in range(20)])))
    assert not bars.isna().any().any()
    assert (bars["low"] <= bars[["open", "close"]].T.groupby(level="symbol").min().T).all().all()
    assert (bars["high"] >= bars[["open", "close"]].T.groupby(level="symbol").max().T).all().all()
    assert (bars["low"] > 0).all().all() and (bars["volume"] > 0).all().all()


def test_requested_symbols_are_upper_cased_and_sorted() -> None:
    bars = synthetic.provide_bars(request(symbols=("qqq", "aapl")))
    assert list(bars["close"].columns) == ["AAPL", "QQQ"]


def test_market_visits_every_regime() -> None:
    path = synthetic.regime_path(seed=42, start="2000-01-01", end="2020-12-31")
    assert set(path.unique()) == set(synthetic.REGIMES)


def test_bear_regime_is_more_volatile_than_bull() -> None:
    bars = synthetic.provide_bars(request(symbols=("SPY",), start=date(1995, 1, 1), end=date(2020, 12, 31), seed=42))
    returns = np.log(bars["close"]["SPY"]).diff()
    regime = synthetic.regime_path(seed=42).reindex(returns.index)
    assert returns[regime == "bear"].std() > 1.5 * returns[regime == "bull"].std()


def test_range_before_the_origin_returns_no_rows() -> None:
    bars = synthetic.provide_bars(request(start=date(1980, 1, 1), end=date(1985, 1, 1)))
    assert bars.empty and list(bars["close"].columns) == ["QQQ", "SPY"]


def test_synthetic_is_registered_as_a_data_plugin_entry_point() -> None:
    eps = {ep.name: ep.value for ep in metadata.entry_points(group="regimeflex")}
    assert eps["synthetic"] == "regimeflex.builtins.synthetic"
    assert "data" in PluginHost.load().require("synthetic", "data").roles


def test_unknown_setting_is_a_config_error_naming_the_key() -> None:
    host = PluginHost.from_plugins({"synthetic": synthetic})
    with pytest.raises(ConfigError) as err:
        host.validate_settings("synthetic", {"sead": 1}, where="data.yaml: providers.synthetic")
    assert str(err.value) == (
        "data.yaml: providers.synthetic.sead: unknown key (check the spelling; "
        "see `regimeflex config show` for valid keys)"
    )


def test_host_call_returns_valid_bars() -> None:
    host = PluginHost.from_plugins({"synthetic": synthetic})
    settings = host.validate_settings("synthetic", {"seed": 7}, where="data.yaml: providers.synthetic")
    bars = host.provide_bars(
        "synthetic", request=BarsRequest(("SPY",), date(2024, 1, 2), date(2024, 1, 31), settings=settings)
    )
    assert len(check_bars(bars)) == len(calendar.sessions("2024-01-02", "2024-01-31"))


@pytest.mark.parametrize(
    ("start", "end"), [(date(2028, 1, 3), date(2028, 3, 31)), (date(2035, 6, 1), date(2035, 6, 30))]
)
def test_bars_exist_for_every_session_after_2027(start, end) -> None:
    bars = check_bars(synthetic.provide_bars(request(start=start, end=end)))
    assert bars.index.equals(calendar.sessions(start, end))
    assert not bars.isna().any().any()


def test_prices_up_to_2027_are_unchanged_by_the_later_blocks() -> None:
    # values of the first release (origin 1990 .. 2027-12-31), seed 42
    close = synthetic.generate(("SPY", "QQQ"), date(2027, 12, 28), date(2040, 1, 31))["close"]
    assert close.loc["2027-12-31", "SPY"] == 76.2155 and close.loc["2027-12-28", "QQQ"] == 493.0477


def test_a_path_continues_across_a_block_boundary_without_a_jump() -> None:
    close = synthetic.provide_bars(request(symbols=("SPY",), start=date(2037, 12, 1), end=date(2038, 1, 31)))["close"]
    moves = close["SPY"].pct_change().abs().dropna()
    assert moves.max() < 0.15
    narrow = synthetic.provide_bars(request(symbols=("SPY",), start=date(2038, 1, 4), end=date(2038, 1, 8)))
    pd.testing.assert_frame_equal(narrow["close"], close.loc["2038-01-04":"2038-01-08"])
