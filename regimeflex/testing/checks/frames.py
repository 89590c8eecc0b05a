"""Helpers and the checks strategies and sizers share (both return dates × symbols frames).

Owns frame alignment/difference helpers and :func:`_register_frame_checks`,
which registers the shared clauses (frame type, alignment, dtype, purity,
determinism, single-symbol universe, no lookahead, no back-filled warm-up)
for one role around that role's own value checks. There is no empty-universe
clause: the host never calls a strategy or sizer with zero symbols (it
answers an empty frame itself), so ``close = bars["close"]`` needs no guard.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.signals.lookahead import find_leak, first_difference
from regimeflex.testing.checks.registry import SINGLE_SYMBOL, _register
from regimeflex.testing.sample import cut_points, sample_bars, sample_signals, warmup_cut_points
from regimeflex.testing.subject import CheckFailure, Subject
from regimeflex.types import (
    BAR_FIELDS,
    Bars,
    bars_symbols,
)

# ------------------------------------------------------------ frame helpers


def _day(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def _fmt(value: float) -> str:
    return "NaN" if pd.isna(value) else f"{value:.10g}"


def _require_frame(out: Any, what: str) -> pd.DataFrame:
    if not isinstance(out, pd.DataFrame):
        raise CheckFailure(f"{what} must be a pandas DataFrame, got {type(out).__name__}")
    return out


def _alignment_problem(out: pd.DataFrame, index: pd.Index, symbols: list[str]) -> str | None:
    if not out.index.equals(index):
        if len(out.index) != len(index):
            return f"has {len(out.index)} rows but the input has {len(index)}; return exactly the input's dates"
        pos = int(np.flatnonzero(np.asarray(out.index != index))[0])
        return f"index differs from the input's dates: row {pos} is {out.index[pos]!r}, expected {_day(index[pos])}"
    got = [str(c) for c in out.columns]
    missing = [s for s in symbols if s not in got]
    extra = [s for s in got if s not in symbols]
    if missing or extra:
        return f"columns must be the input's symbols {symbols}; missing {missing}, unexpected {extra}"
    if len(set(got)) != len(got):
        return f"columns contain duplicate symbols: {got}"
    return None


def _aligned(out: Any, index: pd.Index, symbols: list[str], what: str) -> pd.DataFrame:
    """``out`` as a frame with exactly ``symbols`` as columns, or a CheckFailure saying why not."""
    frame = _require_frame(out, what)
    problem = _alignment_problem(frame, index, symbols)
    if problem:
        raise CheckFailure(f"{what} {problem}")
    return frame.loc[:, symbols] if symbols else frame


def _bars_difference(before: Bars, after: Any) -> str | None:
    if (
        not isinstance(after, pd.DataFrame)
        or after.shape != before.shape
        or not after.columns.equals(before.columns)
        or not after.index.equals(before.index)
    ):
        return "the frame's shape, index or columns changed"
    for fld in dict.fromkeys(before.columns.get_level_values(0)):
        diff = first_difference(before[fld], after[fld])
        if diff is not None:
            day, sym, was, now = diff
            return f"{fld} of {sym} on {_day(day)} changed from {_fmt(was)} to {_fmt(now)}"
    return None


def _universe(bars: Bars, symbols: list[str]) -> Bars:
    keep = bars.columns.get_level_values("symbol").isin(symbols)
    out = bars.loc[:, keep].copy()
    if not symbols:
        out.columns = pd.MultiIndex.from_product([list(BAR_FIELDS), []], names=["field", "symbol"])
    return out


def _full_history_symbols(bars: Bars) -> list[str]:
    """Symbols with every field on every session (warm-up is the only excuse for NaN there)."""
    ok = bars.notna().T.groupby(level="symbol").all().T.all()
    return [s for s in bars_symbols(bars) if ok.get(s, False)]


# ----------------------------------------------------- strategy and sizer

_PANEL = "panel"


def _strategy_out(subject: Subject, bars: Bars) -> Any:
    return subject.call("generate_signal", bars=bars, params=subject.params)


def _sizer_out(subject: Subject, bars: Bars, signals: pd.DataFrame | None = None) -> Any:
    sig = sample_signals(bars) if signals is None else signals
    return subject.call("size_position", signals=sig, bars=bars, params=subject.params)


def _memo_full(subject: Subject, role: str) -> Any:
    """The plugin's output on the full sample panel, computed once per subject."""
    key = f"{role}:{_PANEL}"
    if key not in subject.memo:
        bars = sample_bars()
        subject.memo[key] = _strategy_out(subject, bars) if role == "strategy" else _sizer_out(subject, bars)
    return subject.memo[key]


def _out(role: str, subject: Subject, bars: Bars) -> Any:
    return _strategy_out(subject, bars) if role == "strategy" else _sizer_out(subject, bars)


def _what(role: str) -> str:
    return "the signal frame" if role == "strategy" else "the weight frame"


def _returns_frame(role: str, subject: Subject) -> None:
    _require_frame(_memo_full(subject, role), _what(role))


def _is_aligned(role: str, subject: Subject) -> None:
    bars = sample_bars()
    _aligned(_memo_full(subject, role), bars.index, bars_symbols(bars), _what(role))


def _float_dtype(role: str, subject: Subject) -> None:
    bars = sample_bars()
    out = _aligned(_memo_full(subject, role), bars.index, bars_symbols(bars), _what(role))
    bad = {str(c): str(dt) for c, dt in out.dtypes.items() if dt != np.float64}
    if bad:
        raise CheckFailure(
            f"{_what(role)} must be float64 in every column; " + ", ".join(f"{c} is {dt}" for c, dt in bad.items())
        )


def _first_true(mask: pd.DataFrame) -> tuple[Any, str] | None:
    arr = mask.to_numpy(dtype=bool)
    if not arr.any():
        return None
    row, col = np.argwhere(arr)[0]
    return mask.index[row], str(mask.columns[col])


def _numeric(out: pd.DataFrame) -> pd.DataFrame:
    try:
        return out.astype("float64")
    except (TypeError, ValueError) as exc:
        raise CheckFailure(f"values are not numeric: {exc}") from None


def _deterministic(role: str, subject: Subject) -> None:
    bars = sample_bars()
    symbols = bars_symbols(bars)
    first = _numeric(_aligned(_out(role, subject, bars), bars.index, symbols, _what(role)))
    second = _numeric(_aligned(_out(role, subject, sample_bars()), bars.index, symbols, _what(role)))
    diff = first_difference(first, second)
    if diff is not None:
        day, sym, a, b = diff
        raise CheckFailure(
            f"two calls on the same input differ: {sym} on {_day(day)} "
            f"is {_fmt(a)} then {_fmt(b)} (random state or hidden global state?)"
        )


def _input_not_mutated(role: str, subject: Subject) -> None:
    bars = sample_bars()
    bars_before = bars.copy(deep=True)
    if role == "strategy":
        _strategy_out(subject, bars)
    else:
        signals = sample_signals(bars)
        signals_before = signals.copy(deep=True)
        _sizer_out(subject, bars, signals)
        if not isinstance(signals, pd.DataFrame) or not signals.equals(signals_before):
            diff = first_difference(signals_before, signals) if signals.shape == signals_before.shape else None
            where = f": {diff[1]} on {_day(diff[0])} changed from {_fmt(diff[2])} to {_fmt(diff[3])}" if diff else ""
            raise CheckFailure(f"size_position mutated its signals input{where}; work on a copy")
    problem = _bars_difference(bars_before, bars)
    if problem:
        hook = "generate_signal" if role == "strategy" else "size_position"
        raise CheckFailure(f"{hook} mutated its bars input: {problem}; work on a copy")


def _single_symbol(role: str, subject: Subject) -> None:
    bars = _universe(sample_bars(), [SINGLE_SYMBOL])
    what = f"{_what(role)} for a one-symbol universe ({SINGLE_SYMBOL})"
    out = _aligned(_out(role, subject, bars), bars.index, [SINGLE_SYMBOL], what)
    if out[SINGLE_SYMBOL].isna().all():
        raise CheckFailure(f"{what} is NaN on every one of {len(out)} sessions")


def _leak_check(role: str, subject: Subject, cuts: list[int]) -> None:
    bars = sample_bars()
    symbols = bars_symbols(bars)
    full = _numeric(_aligned(_memo_full(subject, role), bars.index, symbols, _what(role)))

    def truncated(pos: int) -> pd.DataFrame:
        cut = bars.iloc[: pos + 1].copy()
        part = _out(role, subject, cut)
        return _numeric(_aligned(part, cut.index, symbols, f"{_what(role)} for bars up to {_day(cut.index[-1])}"))

    leak = find_leak(truncated, full, cuts)
    if leak is not None:
        raise CheckFailure(leak.message("signal" if role == "strategy" else "weight"))


def _no_lookahead(role: str, subject: Subject) -> None:
    """Cuts at fixed fractions of the panel — early ones (10 %, 25 %) included — and seeded random ones."""
    _leak_check(role, subject, cut_points(sample_bars().index))


def _warmup_not_backfilled(role: str, subject: Subject) -> None:
    """Cuts inside the first sessions: a warm-up NaN filled from later bars (``bfill``) changes there."""
    _leak_check(role, subject, warmup_cut_points(sample_bars().index))


def _frame_of(role: str, subject: Subject) -> pd.DataFrame:
    bars = sample_bars()
    return _numeric(_aligned(_memo_full(subject, role), bars.index, bars_symbols(bars), _what(role)))


def _register_frame_checks(
    role: str, hook: str, noun: str, value_checks: list[tuple[str, Callable[[Subject], None], str, dict]]
) -> None:
    """Register the checks strategies and sizers share, with the role's own value checks in the middle."""
    _register(f"{role}.returns_frame/v1", partial(_returns_frame, role), f"{hook} returns a pandas DataFrame")
    _register(
        f"{role}.aligned/v1",
        partial(_is_aligned, role),
        f"the {noun} frame has exactly the input's dates as index and its symbols as columns",
    )
    _register(f"{role}.float_dtype/v1", partial(_float_dtype, role), f"every column of the {noun} frame is float64")
    for name, func, doc, requires in value_checks:
        _register(f"{role}.{name}/v1", func, doc, requires)
    _register(f"{role}.input_not_mutated/v1", partial(_input_not_mutated, role), f"{hook} leaves its inputs unchanged")
    _register(
        f"{role}.deterministic/v1", partial(_deterministic, role), "two calls on the same input return the same frame"
    )
    _register(
        f"{role}.single_symbol/v1", partial(_single_symbol, role), "a one-symbol universe works and yields values"
    )
    _register(
        f"{role}.no_lookahead/v2",
        partial(_no_lookahead, role),
        f"the {noun} on date t is identical whether or not bars after t are present "
        f"(cuts at 10%, 25%, 55%, 75%, 90%, 98% of the panel and three seeded random ones)",
    )
    _register(
        f"{role}.warmup_not_backfilled/v1",
        partial(_warmup_not_backfilled, role),
        f"the {noun} in the first sessions is identical whether or not later bars are present "
        f"(warm-up NaN is not back-filled from the future)",
    )
