"""The csv provider: per-symbol folders, long files, the adjusted/raw declaration, clear errors."""

from __future__ import annotations

import shutil
from datetime import date
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest

from regimeflex.builtins import csvfiles
from regimeflex.builtins.csvfiles import symbol_from_filename
from regimeflex.errors import DataError
from regimeflex.types import BarsRequest, check_bars


@pytest.fixture
def folder(tmp_path: Path, data_dir: Path) -> Path:
    for name in ("GOOG.csv", "orcl-1995-2001.csv", "VIX-1990-2020.csv", "SPY-2019-lumibot.csv"):
        shutil.copy(data_dir / name, tmp_path / name)
    return tmp_path


def fetch(path: Path, symbols, start=date(1990, 1, 1), end=date(2020, 1, 1), adjusted=True, **settings):
    settings = {"prices": "adjusted" if adjusted else "raw", **settings}
    req = BarsRequest(tuple(symbols), start, end, adjusted=adjusted, settings={"path": path, **settings})
    return check_bars(csvfiles.provide_bars(req))


@pytest.mark.parametrize(
    "name, symbol",
    [("SPY.csv", "SPY"), ("orcl-1995-2014.csv", "ORCL"), ("VIX-1990-2020.csv", "VIX"), ("brk.b_daily.csv", "BRK.B")],
)
def test_symbol_is_the_file_name_up_to_the_first_dash(name: str, symbol: str) -> None:
    assert symbol_from_filename(Path(name)) == symbol


def test_folder_of_per_symbol_files_gives_each_symbols_rows(folder: Path, data_dir: Path) -> None:
    bars = fetch(folder, ("GOOG", "ORCL"))
    goog = pd.read_csv(data_dir / "GOOG.csv")
    assert bars["close"]["GOOG"].notna().sum() == len(goog)
    assert bars["close"]["GOOG"].dropna().iloc[-1] == goog["Close"].iloc[-1]


def test_symbol_without_a_file_is_an_all_nan_column(folder: Path) -> None:
    bars = fetch(folder, ("GOOG", "NOPE"))
    assert bars["close"]["NOPE"].isna().all()


def test_range_filters_rows(folder: Path) -> None:
    bars = fetch(folder, ("ORCL",), start=date(2001, 9, 1), end=date(2001, 9, 30))
    # 2001-09-11 … 09-14: the market was closed
    assert bars.index[0] == pd.Timestamp("2001-09-04") and pd.Timestamp("2001-09-12") not in bars.index


def test_long_file_with_symbol_column_serves_its_symbols(data_dir: Path) -> None:
    bars = fetch(
        data_dir / "all_stocks_5yr_subset.csv.gz", ("lnt", "AAPL"), start=date(2016, 5, 17), end=date(2016, 5, 20)
    )
    assert bars["close"]["LNT"].tolist() == [35.99, 35.35, 17.87, 35.91]


def test_raw_files_cannot_serve_an_adjusted_request_without_adj_close(folder: Path) -> None:
    with pytest.raises(DataError) as err:
        fetch(folder, ("GOOG",), prices="raw")
    assert str(err.value) == (
        f"{folder / 'GOOG.csv'}: data.yaml asks for adjusted prices, providers.csv.prices "
        f"says this file holds raw prices and it has no Adj Close column to convert with; "
        f"set adjusted: false in data.yaml or supply adjusted files"
    )


def test_adj_close_column_converts_raw_files_for_an_adjusted_request(folder: Path, data_dir: Path) -> None:
    bars = fetch(folder, ("SPY",), prices="raw")
    spy = pd.read_csv(data_dir / "SPY-2019-lumibot.csv")
    assert bars["close"]["SPY"].iloc[0] == pytest.approx(spy["Adj Close"].iloc[0])


def test_missing_path_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        fetch(tmp_path / "nowhere", ("SPY",))
    assert str(err.value) == (
        f"csv provider: {tmp_path / 'nowhere'} does not exist; set providers.csv.path in "
        f"data.yaml to a folder of CSV files or one CSV file"
    )


def test_empty_folder_names_the_pattern(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        fetch(tmp_path, ("SPY",))
    assert str(err.value) == (
        f"csv provider: no files matching '*.csv' in {tmp_path}; put SYMBOL.csv files "
        f"there or change providers.csv.pattern"
    )


def test_named_symbol_column_must_exist(data_dir: Path) -> None:
    with pytest.raises(DataError) as err:
        fetch(data_dir / "GOOG.csv", ("GOOG",), symbol_column="Ticker")
    assert str(err.value).startswith(f"{data_dir / 'GOOG.csv'}: no column 'Ticker' (providers.csv.symbol_column)")


def test_duplicate_session_keeps_the_last_row_in_bars(tmp_path: Path) -> None:
    (tmp_path / "AAA.csv").write_text(
        "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,1.5,10\n2024-01-02,1,2,1,1.7,10\n"
    )
    bars = fetch(tmp_path, ("AAA",), start=date(2024, 1, 1), end=date(2024, 1, 31))
    assert bars["close"]["AAA"].tolist() == [1.7]


def test_csv_is_registered_as_a_data_plugin_entry_point() -> None:
    eps = {ep.name: ep.value for ep in metadata.entry_points(group="regimeflex")}
    assert eps["csv"] == "regimeflex.builtins.csvfiles"


def test_request_for_no_symbols_returns_an_empty_panel(data_dir: Path) -> None:
    req = BarsRequest(
        (),
        date(2014, 1, 1),
        date(2014, 2, 1),
        settings={"path": data_dir / "all_stocks_5yr_subset.csv.gz", "prices": "adjusted"},
    )
    bars = csvfiles.provide_bars(req)
    assert bars.empty and len(bars.columns) == 0
