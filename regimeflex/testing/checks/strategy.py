"""The strategy checks: the shared frame clauses plus signal values in [-1, 1] and NaN only in warm-up."""

from __future__ import annotations

from regimeflex.testing.checks.frames import (
    _day,
    _first_true,
    _fmt,
    _frame_of,
    _full_history_symbols,
    _register_frame_checks,
)
from regimeflex.testing.checks.registry import ATOL
from regimeflex.testing.sample import sample_bars
from regimeflex.testing.subject import CheckFailure, Subject


def _value_range(subject: Subject) -> None:
    out = _frame_of("strategy", subject)
    bad = _first_true(~(out.isna() | ((out >= -1 - ATOL) & (out <= 1 + ATOL))))
    if bad:
        day, sym = bad
        raise CheckFailure(
            f"signal for {sym} on {_day(day)} is {_fmt(out.at[day, sym])}; signals must be finite and within [-1, 1]"
        )


def _nan_only_in_warmup(subject: Subject) -> None:
    """On symbols with complete bars on every session, NaN may only form a leading
    warm-up block, and values must appear. (A symbol with missing sessions may
    legitimately be NaN while a window spans its gap, so it is not bound here.)"""
    bars = sample_bars()
    out = _frame_of("strategy", subject)
    for sym in _full_history_symbols(bars):
        col = out[sym]
        if col.isna().all():
            raise CheckFailure(
                f"signal for {sym} is NaN on all {len(out)} sessions "
                f"({_day(out.index[0])} → {_day(out.index[-1])}) of complete bars; "
                f"a strategy must produce values once warmed up"
            )
        gaps = col.isna() & col.notna().cummax()
        if gaps.any():
            raise CheckFailure(
                f"signal for {sym} is NaN on {_day(gaps.idxmax())} although its bars "
                f"are complete on every session and earlier dates have values; NaN is "
                f"allowed only during warm-up"
            )


_register_frame_checks(
    "strategy",
    "generate_signal",
    "signal",
    [
        ("value_range", _value_range, "signals are finite and within [-1, 1] (NaN allowed)", {}),
        ("nan_only_in_warmup", _nan_only_in_warmup, "NaN only during warm-up or on sessions a symbol lacks", {}),
    ],
)
