"""Lookahead detection: does a frame computed from history change when later bars are removed?

Owns the comparison the conformance kit's ``no_lookahead`` checks and the
backtest's lookahead guard share: the cut points (fixed fractions of the
history, early ones included, plus a few seeded random ones), the earliest
difference between two aligned frames, and the one-line message naming the
symbol, the first date that differs and the cut. A strategy's value on date
*t* may use bars up to *t* only, so re-running it on the history truncated at
a cut must reproduce the full-history rows up to that cut exactly.

Pure functions over DataFrames; the caller supplies the function under test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Values within these tolerances are equal (float noise from a different summation order).
RTOL = 1e-9
ATOL = 1e-12

#: Fixed cut fractions of the conformance kit: early ones catch statistics of the first sessions
#: (calibration on the first year, warm-up back-filled from the future), late ones a shift(-1).
KIT_FRACTIONS: tuple[float, ...] = (0.1, 0.25, 0.55, 0.75, 0.9, 0.98)
#: The backtest guard's fixed fractions; with its random cuts drawn below ``GUARD_RANDOM_HIGH``
#: the re-runs cost about one full strategy call in all (benchmarks/bench_lookahead.py measures it).
GUARD_FRACTIONS: tuple[float, ...] = (0.1, 0.25)
GUARD_RANDOM = 3
GUARD_RANDOM_HIGH = 0.35
#: Seed of the random cut points: the same history always gets the same cuts.
SEED = 20240601


def cut_points(
    n: int,
    fractions: Sequence[float] = KIT_FRACTIONS,
    *,
    random: int = 3,
    low: float = 0.02,
    high: float = 0.98,
    seed: int = SEED,
) -> list[int]:
    """Row positions (inclusive ends) at which to truncate a history of ``n`` rows: the fixed
    ``fractions`` plus ``random`` seeded draws between ``low`` and ``high`` of the length."""
    rng = np.random.default_rng(seed)
    draws = rng.uniform(low, high, size=random) if random else np.zeros(0)
    points = {min(n - 2, max(1, int(n * f))) for f in (*fractions, *draws.tolist())}
    return sorted(p for p in points if 0 < p < n - 1)


def first_difference(left: pd.DataFrame, right: pd.DataFrame) -> tuple[Any, str, float, float] | None:
    """The earliest (date, symbol, left value, right value) where two aligned frames differ.

    NaN equals NaN; values within :data:`RTOL` / :data:`ATOL` are equal.
    """
    a = left.to_numpy(dtype="float64", na_value=np.nan)
    b = right.loc[left.index, left.columns].to_numpy(dtype="float64", na_value=np.nan)
    same = (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=RTOL, atol=ATOL)
    if same.all():
        return None
    row, col = np.argwhere(~same)[0]
    return left.index[row], str(left.columns[col]), float(a[row, col]), float(b[row, col])


def _day(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def _fmt(value: float) -> str:
    return "NaN" if pd.isna(value) else f"{value:.10g}"


@dataclass(frozen=True)
class Leak:
    """The first value that changed when later bars were removed."""

    symbol: str
    date: pd.Timestamp
    with_cut: float
    with_full: float
    cut_date: pd.Timestamp
    end_date: pd.Timestamp
    cut: int  # 1-based number of the cut

    def message(self, what: str = "signal") -> str:
        text = (
            f"{what} for {self.symbol} on {_day(self.date)} depends on later bars: it is {_fmt(self.with_cut)} "
            f"with bars up to {_day(self.cut_date)} but {_fmt(self.with_full)} with bars up to {_day(self.end_date)} "
            f"(cut {self.cut}); the value on a date may use bars up to that date only"
        )
        if pd.isna(self.with_cut) and not pd.isna(self.with_full):
            text += " (a warm-up NaN filled from later bars, e.g. bfill?)"
        return text


def find_leak(
    compute: Callable[[int], pd.DataFrame],
    full: pd.DataFrame,
    cuts: Sequence[int],
) -> Leak | None:
    """Re-run ``compute(pos)`` (the frame for the history truncated after row ``pos``) at each cut
    and compare it with ``full``'s first ``pos + 1`` rows; the first difference, or None."""
    end = full.index[-1]
    for n, pos in enumerate(cuts, start=1):
        part = compute(pos)
        diff = first_difference(part, full.iloc[: pos + 1])
        if diff is not None:
            day, sym, with_cut, with_full = diff
            return Leak(sym, pd.Timestamp(day), with_cut, with_full, pd.Timestamp(full.index[pos]), end, n)
    return None
