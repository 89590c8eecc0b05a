"""Fixtures for the backtest tests: real bars from tests/data/backtest (see SOURCES.md there)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from regimeflex.types import make_bars

DATA = Path(__file__).resolve().parent.parent / "data" / "backtest"


def _wide_from_long(path: Path):
    df = pd.read_csv(path, parse_dates=["date"])
    return {f: df.pivot(index="date", columns="Name", values=f).astype("float64")
            for f in ("open", "high", "low", "close", "volume")}


def _wide_from_lumibot(names: tuple[str, ...]):
    frames = {}
    for name in names:
        df = pd.read_csv(DATA / f"{name}-2019-lumibot.csv", parse_dates=["Date"], index_col="Date")
        frames[name] = df
    return {f: pd.DataFrame({n: frames[n][f.capitalize()] for n in names}).astype("float64")
            for f in ("open", "high", "low", "close", "volume")}


@pytest.fixture(scope="session")
def etf_bars():
    """SPY, GLD, TLT, 2019 (252 sessions, complete)."""
    return make_bars(_wide_from_lumibot(("SPY", "GLD", "TLT")))


@pytest.fixture(scope="session")
def stock_bars():
    """AAPL, APTV, BHF, DHR, O from 2015-07 (missing opens, late listings)."""
    return make_bars(_wide_from_long(DATA / "all_stocks_5yr-cut.csv"))


def _trend_weights(bars, fast=10, slow=40):
    """Long-only 1/N SMA-trend targets: simple, deterministic weights for engine tests."""
    c = bars["close"]
    sig = ((c > c.rolling(fast).mean()) & (c > c.rolling(slow).mean())).astype(float)
    return sig / c.shape[1]


@pytest.fixture(scope="session")
def trend_weights():
    return _trend_weights
