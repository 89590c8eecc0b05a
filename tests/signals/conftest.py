"""Real market data for the signal and risk tests (files under tests/data, see SOURCES.md there)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeflex.types import Bars, make_bars

DATA = Path(__file__).resolve().parent.parent / "data"


def load_spy() -> pd.DataFrame:
    """SPY daily OHLCV 1993-01-29 → 2017-01-03 (unadjusted closes)."""
    frame = pd.read_csv(DATA / "SPY-1993-2017.csv", parse_dates=["Date"], index_col="Date")
    return frame.rename(columns=str.lower)


def load_vix() -> pd.DataFrame:
    """CBOE VIX daily OHLC 1990-01-02 → 2020-02-05 (M/D/YYYY dates in the file)."""
    frame = pd.read_csv(DATA / "VIX-1990-2020.csv", index_col="Date")
    frame.index = pd.to_datetime(frame.index, format="%m/%d/%Y")
    return frame.rename(columns=str.lower)


def real_panel() -> Bars:
    """A two-symbol Bars panel: VIX from 1990 and SPY, which starts three years later
    (so SPY has leading NaN rows, as a late listing does)."""
    spy, vix = load_spy(), load_vix()
    vix = vix.assign(volume=np.nan)
    fields = {
        f: pd.concat({"SPY": spy[f], "VIX": vix[f]}, axis=1, sort=True).astype("float64")
        for f in ("open", "high", "low", "close", "volume")
    }
    return make_bars(fields)


@pytest.fixture(scope="session")
def panel() -> Bars:
    return real_panel()


@pytest.fixture(scope="session")
def spy_bars() -> Bars:
    spy = load_spy()
    return make_bars({f: spy[[f]].rename(columns={f: "SPY"}) for f in ("open", "high", "low", "close", "volume")})


@pytest.fixture(scope="session")
def vix_close() -> pd.Series:
    return load_vix()["close"].rename("VIX")
