"""The real market data the conformance kit feeds to plugins.

Owns the small multi-symbol panel shipped in ``regimeflex/testing/data``
(real S&P 500 bars with their real defects; provenance in SOURCES.md there)
and the deterministic inputs derived from it: the Bars panel, a signal frame
for sizers, and the cut points of the no-lookahead checks. Everything here is
loaded once per process and handed out as copies, so a plugin that mutates
its input cannot poison the next check.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from regimeflex.signals.lookahead import KIT_FRACTIONS
from regimeflex.signals.lookahead import cut_points as _cut_points
from regimeflex.types import BAR_FIELDS, Bars, make_bars

#: The symbols of the shipped panel (DHR has missing sessions, FTV lists mid-sample, SPY is the benchmark).
SAMPLE_SYMBOLS: tuple[str, ...] = ("AAPL", "DHR", "FTV", "JPM", "SPY", "XOM")

#: Fractions of the panel's length at which the no-lookahead checks cut the history (plus seeded
#: random cuts): early ones catch statistics of the first sessions, late ones a shift(-1).
CUT_FRACTIONS: tuple[float, ...] = KIT_FRACTIONS
#: Rows inside the first sessions at which the warm-up check cuts the history.
WARMUP_ROWS: tuple[int, ...] = (1, 2, 5, 10, 20, 30, 50, 100, 200)


def sample_csv_path() -> Path:
    """Where the shipped panel's CSV lives (long format: date,open,high,low,close,volume,Name)."""
    return Path(str(resources.files("regimeflex.testing").joinpath("data/sample_panel.csv")))


@lru_cache(maxsize=1)
def _panel() -> Bars:
    with sample_csv_path().open("rb") as fh:
        long = pd.read_csv(fh, parse_dates=["date"])
    wide = long.pivot(index="date", columns="Name")
    return make_bars({f: wide[f] for f in BAR_FIELDS})


def sample_bars(symbols: tuple[str, ...] | list[str] | None = None) -> Bars:
    """A copy of the shipped panel (all :data:`SAMPLE_SYMBOLS`, or the ones given)."""
    panel = _panel()
    if symbols is not None:
        wanted = list(symbols)
        panel = panel.loc[:, panel.columns.get_level_values("symbol").isin(wanted)]
    return panel.copy(deep=True)


def sample_signals(bars: Bars) -> pd.DataFrame:
    """A deterministic, causal signal frame for ``bars``: the sign-preserving
    clipped 20-session return, 0 during warm-up and on missing sessions.

    Long, short and flat values all occur, so sizers meet every case.
    """
    if bars.shape[1] == 0:
        return pd.DataFrame(index=bars.index, columns=pd.Index([], name="symbol"), dtype="float64")
    close = bars["close"]
    momentum = close / close.shift(20) - 1.0
    signals = (momentum * 5.0).clip(-1.0, 1.0)
    signals = signals.where(np.isfinite(signals), 0.0).astype("float64")
    signals.columns.name = "symbol"
    return signals


def cut_points(index: pd.DatetimeIndex) -> list[int]:
    """Row positions (inclusive ends) at which the no-lookahead checks truncate history: the fixed
    :data:`CUT_FRACTIONS` and three seeded random ones (the same panel always gets the same cuts)."""
    return _cut_points(len(index), CUT_FRACTIONS, random=3)


def warmup_cut_points(index: pd.DatetimeIndex) -> list[int]:
    """Row positions inside the first sessions (warm-up) at which the warm-up check truncates history."""
    n = len(index)
    return [p for p in WARMUP_ROWS if 0 < p < n - 1]
