"""Normalisation: every column/date/symbol variant real files use becomes the same canonical data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeflex.data.normalize import (
    bars_to_long,
    canonical_columns,
    long_to_bars,
    normalize_bars,
    normalize_frame,
    parse_dates,
)
from regimeflex.errors import DataError
from regimeflex.types import check_bars

DATA = Path(__file__).resolve().parent.parent / "data"


def test_blank_date_header_of_goog_csv_is_read_as_the_date(data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "GOOG.csv")
    long = normalize_frame(raw, symbol="goog", where="GOOG.csv")
    assert long["date"].iloc[0] == pd.Timestamp("2004-08-19")
    assert long["close"].iloc[0] == raw["Close"].iloc[0]
    assert (long["symbol"] == "GOOG").all()


def test_unpadded_month_day_year_dates_of_vix_are_parsed(data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "VIX-1990-2020.csv")
    long = normalize_frame(raw, symbol="^VIX", where="VIX")
    assert list(long["date"].iloc[:2]) == [pd.Timestamp("1990-01-02"), pd.Timestamp("1990-01-03")]
    assert long["date"].is_monotonic_increasing


def test_source_without_volume_gets_nan_volume(data_dir: Path) -> None:
    long = normalize_frame(pd.read_csv(data_dir / "VIX-1990-2020.csv"), symbol="VIX")
    assert long["volume"].isna().all()


def test_adjusted_request_rescales_ohlc_by_adj_close(data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "SPY-2019-lumibot.csv")
    long = normalize_frame(raw, symbol="SPY", adjusted=True)
    factor = raw["Adj Close"] / raw["Close"]
    np.testing.assert_allclose(long["close"], raw["Adj Close"])
    np.testing.assert_allclose(long["open"], raw["Open"] * factor)
    np.testing.assert_allclose(long["volume"], raw["Volume"])


def test_raw_request_ignores_adj_close(data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "SPY-2019-lumibot.csv")
    long = normalize_frame(raw, symbol="SPY", adjusted=False)
    np.testing.assert_allclose(long["close"], raw["Close"])


def test_volume_before_adj_close_column_order_is_read_by_name(data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "SPY-1993-2017.csv")
    long = normalize_frame(raw, symbol="SPY", adjusted=False)
    np.testing.assert_allclose(long["volume"], raw["Volume"])
    np.testing.assert_allclose(long["close"], raw["Close"])


def test_dividend_and_split_columns_are_dropped(data_dir: Path) -> None:
    long = normalize_frame(pd.read_csv(data_dir / "GLD-2019-lumibot.csv"), symbol="GLD")
    assert list(long.columns) == ["date", "symbol", "open", "high", "low", "close", "volume"]


def test_long_file_symbol_column_name_with_capital_n_is_the_symbol(data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "all_stocks_5yr_subset.csv.gz", nrows=5)
    long = normalize_frame(raw)
    assert set(long["symbol"]) == set(raw["Name"].str.upper())


def test_lower_case_symbols_are_upper_cased() -> None:
    raw = pd.DataFrame({"date": ["2024-01-02"], "ticker": ["brk.b"], "close": [1.0]})
    assert normalize_frame(raw)["symbol"].tolist() == ["BRK.B"]


def test_polygon_epoch_milliseconds_become_new_york_session_dates() -> None:
    body = json.loads((DATA.parent / "datalayer" / "fixtures" / "polygon_aggs_daily.json").read_text())
    long = normalize_frame(pd.DataFrame(body["results"]), symbol=body["ticker"])
    # t = 1112331600000 is 2005-04-01 05:00 UTC = midnight in New York
    assert long["date"].tolist() == [pd.Timestamp("2005-04-01"), pd.Timestamp("2005-04-04")]


def test_late_evening_utc_timestamp_keeps_its_new_york_date() -> None:
    # 2024-01-03 02:00 UTC is still 2024-01-02 in New York
    ms = int(pd.Timestamp("2024-01-03 02:00", tz="UTC").value // 10**6)
    assert parse_dates(pd.Series([ms])).tolist() == [pd.Timestamp("2024-01-02")]


def test_rfc3339_strings_with_z_are_converted_to_new_york_dates() -> None:
    parsed = parse_dates(pd.Series(["2021-01-04T05:00:00Z", "2021-01-05T05:00:00Z"]))
    assert parsed.tolist() == [pd.Timestamp("2021-01-04"), pd.Timestamp("2021-01-05")]


def test_single_letter_keys_are_case_sensitive() -> None:
    assert canonical_columns(["T", "t", "o", "c"]) == {"T": "symbol", "t": "date", "o": "open", "c": "close"}


def test_two_columns_meaning_the_same_field_is_an_error() -> None:
    with pytest.raises(DataError) as err:
        canonical_columns(["Close", "close"], where="x.csv")
    assert str(err.value) == "x.csv: columns 'Close' and 'close' both mean 'close'; remove one of them"


def test_missing_date_column_names_the_columns() -> None:
    with pytest.raises(DataError) as err:
        normalize_frame(pd.DataFrame({"when": [1], "close": [1.0]}), symbol="A", where="a.csv")
    assert str(err.value) == (
        "a.csv: no date column (looked for Date, date, timestamp, t or a blank first "
        "header); columns are ['when', 'close']"
    )


def test_missing_close_column_is_an_error() -> None:
    with pytest.raises(DataError) as err:
        normalize_frame(pd.DataFrame({"date": ["2024-01-02"], "open": [1.0]}), symbol="A", where="a.csv")
    assert str(err.value) == ("a.csv: no close column (looked for Close, close, c); columns are ['date', 'open']")


def test_unreadable_date_names_the_value_and_the_fix() -> None:
    with pytest.raises(DataError) as err:
        normalize_frame(pd.DataFrame({"date": ["yesterday"], "close": [1.0]}), symbol="A", where="a.csv")
    assert str(err.value) == (
        "a.csv: cannot read dates such as 'yesterday' as ISO (2019-01-02) or M/D/YYYY; set date_format for this source"
    )


def test_non_numeric_price_names_the_row() -> None:
    frame = pd.DataFrame({"date": ["2024-01-02", "2024-01-03"], "close": ["1.5", "n/a?"]})
    with pytest.raises(DataError) as err:
        normalize_frame(frame, symbol="A", where="a.csv")
    assert str(err.value) == "a.csv: close value 'n/a?' on data row 2 is not a number"


def test_table_without_symbol_column_needs_a_symbol() -> None:
    with pytest.raises(DataError) as err:
        normalize_frame(pd.DataFrame({"date": ["2024-01-02"], "close": [1.0]}), where="a.csv")
    assert str(err.value).startswith("a.csv: no symbol column (Name, symbol, ticker) and no symbol given")


def test_date_index_is_accepted_like_a_date_column(data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "GOOG.csv", index_col=0, parse_dates=True)
    from_index = normalize_frame(raw, symbol="GOOG")
    from_column = normalize_frame(pd.read_csv(data_dir / "GOOG.csv"), symbol="GOOG")
    pd.testing.assert_frame_equal(from_index, from_column)


def test_long_to_bars_then_back_round_trips_real_panel(data_dir: Path) -> None:
    long = normalize_frame(pd.read_csv(data_dir / "all_stocks_5yr_subset.csv.gz"))
    bars = check_bars(long_to_bars(long))
    back = bars_to_long(bars)
    expected = long.sort_values(["symbol", "date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back.astype({"symbol": object}), expected.astype({"symbol": object}))


def test_long_to_bars_adds_requested_symbols_without_rows() -> None:
    long = pd.DataFrame(
        {
            "date": [pd.Timestamp("2024-01-02")],
            "symbol": ["AAA"],
            "open": [1.0],
            "high": [1.0],
            "low": [1.0],
            "close": [1.0],
            "volume": [1.0],
        }
    )
    bars = long_to_bars(long, symbols=("zzz",))
    assert bars["close"]["ZZZ"].isna().all()
    assert list(bars["close"].columns) == ["AAA", "ZZZ"]


def test_normalize_bars_converts_tz_aware_index_and_lower_case_symbols() -> None:
    index = pd.DatetimeIndex(["2024-01-03 05:00", "2024-01-02 05:00"], tz="UTC")
    cols = pd.MultiIndex.from_product([["open", "high", "low", "close", "volume"], ["spy"]])
    bars = pd.DataFrame(np.arange(10.0).reshape(2, 5), index=index, columns=cols)
    tidy = normalize_bars(bars)
    assert list(tidy.index) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert list(tidy["close"].columns) == ["SPY"]
    assert tidy["close"]["SPY"].tolist() == [8.0, 3.0]
