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
#: The backtest guard's fixed fractions and random cuts. The random ones are drawn below
#: ``GUARD_RANDOM_HIGH`` and then shrunk together so that all cuts' lengths add up to at most
#: ``GUARD_LENGTH`` of the panel: the re-runs then cost at most that share of the full calls
#: (benchmarks/bench_lookahead.py measures it).
GUARD_FRACTIONS: tuple[float, ...] = (0.1, 0.25)
GUARD_RANDOM = 3
GUARD_RANDOM_HIGH = 0.35
GUARD_LENGTH = 0.6
#: ... and the earliest random cut lies within this many sessions, whatever the panel's length: inside a
#: first-year calibration window (a strategy normalised with statistics of its first 250 sessions).
GUARD_EARLY_ROWS = 200
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
    length: float | None = None,
    early: int | None = None,
) -> list[int]:
    """Row positions (inclusive ends) at which to truncate a history of ``n`` rows: the fixed
    ``fractions`` plus ``random`` seeded draws between ``low`` and ``high`` of the length.

    With ``length``, the random draws are scaled down together (never below ``low``) so that the
    fractions of all cuts add up to at most ``length``: a bound on the total re-run length. With
    ``early``, they are scaled down further (never below ``low``) until the earliest lies within
    the first ``early`` rows.
    """
    rng = np.random.default_rng(seed)
    draws = rng.uniform(low, high, size=random) if random else np.zeros(0)
    if length is not None and random:
        room = max(length - sum(fractions), low * random)
        if draws.sum() > room:
            draws = np.maximum(draws * (room / draws.sum()), low)
    if early is not None and random and draws.min() * n > early:
        draws = np.maximum(draws * (early / (draws.min() * n)), low)
    points = {min(n - 2, max(1, int(n * f))) for f in (*fractions, *draws.tolist())}
    return sorted(p for p in points if 0 < p < n - 1)


def first_difference_values(a: np.ndarray, b: np.ndarray) -> tuple[int, int] | None:
    """The earliest (row, column) where two float arrays of one shape differ, or None.

    NaN equals NaN; values within :data:`RTOL` / :data:`ATOL` are equal. Bit-identical arrays
    cost one comparison; NaN cells are matched with whole-array passes, and only the cells left
    (float noise, real differences) get the tolerance test.
    """
    with np.errstate(invalid="ignore"):
        unequal = a != b  # NaN != NaN: cells NaN on both sides are dropped next
    if not unequal.any():
        return None
    unequal &= ~(np.isnan(a) & np.isnan(b))
    if not unequal.any():
        return None
    rows, cols = np.nonzero(unequal)  # row-major: the earliest date first
    same = np.isclose(a[rows, cols], b[rows, cols], rtol=RTOL, atol=ATOL)
    if same.all():
        return None
    k = int(np.argmin(same))  # the first cell that really differs
    return int(rows[k]), int(cols[k])


def float_values(frame: pd.DataFrame) -> np.ndarray:
    """A frame's values as a float64 array (missing values as NaN), without a copy when already float."""
    return frame.to_numpy(dtype="float64", na_value=np.nan)


def first_difference(left: pd.DataFrame, right: pd.DataFrame) -> tuple[Any, str, float, float] | None:
    """The earliest (date, symbol, left value, right value) where two aligned frames differ.

    ``right`` is read at ``left``'s dates and symbols. NaN equals NaN; values within
    :data:`RTOL` / :data:`ATOL` are equal.
    """
    aligned = right.index.equals(left.index) and right.columns.equals(left.columns)
    a = float_values(left)
    b = float_values(right if aligned else right.loc[left.index, left.columns])
    where = first_difference_values(a, b)
    if where is None:
        return None
    row, col = where
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
    and compare it with ``full``'s first ``pos + 1`` rows; the first difference, or None.

    ``full`` is converted to an array once; each re-run is compared on its raw values (a re-run
    on the full frame's dates and symbols, as the host guarantees, needs no re-indexing).
    """
    end = full.index[-1]
    values = float_values(full)
    for n, pos in enumerate(cuts, start=1):
        part = compute(pos)
        head = full.index[: pos + 1]
        if part.index.equals(head) and part.columns.equals(full.columns):
            a, b = float_values(part), values[: pos + 1]
            where = first_difference_values(a, b)
            diff = None if where is None else (head[where[0]], str(full.columns[where[1]]), *_pair(a, b, where))
        else:
            diff = first_difference(part, full.iloc[: pos + 1])
        if diff is not None:
            day, sym, with_cut, with_full = diff
            return Leak(sym, pd.Timestamp(day), with_cut, with_full, pd.Timestamp(full.index[pos]), end, n)
    return None


def _pair(a: np.ndarray, b: np.ndarray, where: tuple[int, int]) -> tuple[float, float]:
    return float(a[where]), float(b[where])
