"""The sizer checks: the shared frame clauses plus finite weights that follow the signal's sign."""

from __future__ import annotations

import numpy as np

from regimeflex.testing.checks.frames import _day, _first_true, _fmt, _frame_of, _register_frame_checks
from regimeflex.testing.checks.registry import ATOL
from regimeflex.testing.sample import sample_bars, sample_signals
from regimeflex.testing.subject import CheckFailure, Subject


def _no_nan(subject: Subject) -> None:
    out = _frame_of("sizer", subject)
    bad = _first_true(~np.isfinite(out))
    if bad:
        day, sym = bad
        raise CheckFailure(
            f"weight for {sym} on {_day(day)} is {_fmt(out.at[day, sym])}; "
            f"weights must be finite with no NaN (0 where there is no position)"
        )


def _zero_signal_zero_weight(subject: Subject) -> None:
    out = _frame_of("sizer", subject)
    signals = sample_signals(sample_bars())
    bad = _first_true((signals == 0) & (out.abs() > ATOL))
    if bad:
        day, sym = bad
        raise CheckFailure(
            f"weight for {sym} on {_day(day)} is {_fmt(out.at[day, sym])} although "
            f"its signal is 0; a flat signal means no position"
        )


def _long_only(subject: Subject) -> None:
    out = _frame_of("sizer", subject)
    bad = _first_true(out < -ATOL)
    if bad:
        day, sym = bad
        raise CheckFailure(
            f"weight for {sym} on {_day(day)} is {_fmt(out.at[day, sym])} (short) but "
            f"the plugin does not declare supports_short=True in capabilities(); "
            f"return 0 for negative signals or declare it"
        )


def _short_follows_signal(subject: Subject) -> None:
    out = _frame_of("sizer", subject)
    signals = sample_signals(sample_bars())
    bad = _first_true((signals < 0) & (out > ATOL))
    if bad:
        day, sym = bad
        raise CheckFailure(
            f"weight for {sym} on {_day(day)} is {_fmt(out.at[day, sym])} (long) "
            f"although its signal is {_fmt(signals.at[day, sym])}; a negative signal "
            f"may give a short or flat weight, never a long one"
        )


_register_frame_checks(
    "sizer",
    "size_position",
    "weight",
    [
        ("no_nan", _no_nan, "weights are finite, never NaN", {}),
        ("zero_signal_zero_weight", _zero_signal_zero_weight, "a 0 signal gives a 0 weight", {}),
        ("long_only", _long_only, "without supports_short, no weight is negative", {"supports_short": False}),
        (
            "short_follows_signal",
            _short_follows_signal,
            "with supports_short, a negative signal never gives a long weight",
            {"supports_short": True},
        ),
    ],
)
