"""The CSV source scan reads only each file's header, with the csv module, and must name the columns
exactly as pandas' parser does (the scan decides which files are per-symbol and which are long)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from regimeflex.data.csvread import read_header

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    "name", ["GOOG.csv", "SPY-2019-lumibot.csv", "VIXCLS-fred-style-2019.csv", "orcl-1995-2001.csv"]
)
def test_header_of_a_real_file_equals_pandas_columns(name: str) -> None:
    assert read_header(DATA / name) == pd.read_csv(DATA / name, nrows=0).columns.astype(str).tolist()


def test_header_with_a_byte_order_mark_and_quoted_names_equals_pandas_columns(tmp_path: Path) -> None:
    file = tmp_path / "long.csv"
    file.write_bytes(b'\xef\xbb\xbf"date","Symbol","close, adj"\r\n2024-01-02,SPY,470.1\r\n')
    assert (
        read_header(file) == pd.read_csv(file, nrows=0).columns.astype(str).tolist() == ["date", "Symbol", "close, adj"]
    )


def test_header_of_an_empty_file_is_empty(tmp_path: Path) -> None:
    file = tmp_path / "empty.csv"
    shutil.copy(DATA / "GOOG.csv", file)
    file.write_bytes(b"")
    assert read_header(file) == []
