"""The conformance checks, one function per contract clause, with stable versioned ids.

Owns the check registry (:data:`CHECKS`, :func:`checks_for`) and every check
for the five roles. A check is a pure function of a
:class:`~regimeflex.testing.subject.Subject`: it calls the plugin's hooks on
the shipped real panel (:mod:`regimeflex.testing.sample`) and raises
:class:`CheckFailure` with a message naming the check, the symbol and the
first date that differs. Ids look like ``strategy.no_lookahead/v1``; a check
whose meaning changes gets a new version, never a silently different body.
"""

from __future__ import annotations

import copy
import difflib
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.errors import PluginCallError
from regimeflex.testing.sample import cut_points, sample_bars, sample_signals
from regimeflex.testing.subject import KNOWN_CAPABILITIES, CheckFailure, CheckSkipped, Subject
from regimeflex.types import (
    BAR_FIELDS,
    Account,
    Bars,
    BarsRequest,
    BarsShapeError,
    BrokerContext,
    Event,
    Fill,
    Level,
    NotifyContext,
    Order,
    OrderResult,
    bars_symbols,
    check_bars,
)

#: The one-symbol universe: the benchmark, so strategies that read it still have it.
SINGLE_SYMBOL = "SPY"

#: Relative tolerance when comparing two runs of the same computation.
RTOL = 1e-9
ATOL = 1e-12


@dataclass(frozen=True)
class Check:
    """One contract clause. ``requires`` maps capability tags to the value a
    plugin must declare for the check to apply (otherwise it is skipped)."""

    id: str
    func: Callable[[Subject], None]
    doc: str
    requires: Mapping[str, bool] = field(default_factory=dict)

    @property
    def role(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1].split("/", 1)[0]

    def skip_reason(self, subject: Subject) -> str | None:
        """Why this check does not apply to ``subject`` (None when it does)."""
        if self.id in subject.skip:
            return f"{self.id}: skipped by the plugin's test: {subject.skip[self.id]}"
        for tag, wanted in self.requires.items():
            if subject.capability(tag) != wanted:
                declared = subject.capability(tag)
                return (
                    f"{self.id}: does not apply: plugin {subject.name!r} declares "
                    f"{tag}={declared} in capabilities(), the check needs {tag}={wanted}"
                )
        return None

    def __call__(self, subject: Subject) -> None:
        """Run the check: return on pass, raise CheckSkipped or CheckFailure."""
        reason = self.skip_reason(subject)
        if reason is not None:
            raise CheckSkipped(reason)
        try:
            self.func(subject)
        except (CheckFailure, CheckSkipped) as exc:
            msg = str(exc)
            prefix = "" if msg.startswith(self.id) else f"{self.id}: "
            raise type(exc)(f"{prefix}{msg}") from None
        except PluginCallError as exc:  # the host already names the plugin, hook and cause
            # The host's advice (REGIMEFLEX_DEBUG, tell the author) is for users; an author wants the line.
            message = str(exc).split(" Run with REGIMEFLEX_DEBUG=1", 1)[0].rstrip(".")
            raise CheckFailure(f"{self.id}: {message}{raised_at(exc.__cause__)}") from exc
        except Exception as exc:  # the plugin raised: that is the finding
            raise CheckFailure(
                f"{self.id}: plugin {subject.name!r} raised {type(exc).__name__}: {exc}{raised_at(exc)}"
            ) from exc

    def __repr__(self) -> str:
        return f"<Check {self.id}>"


#: Frames from these places are library or RegimeFlex plumbing, never the plugin's own line.
_PLUMBING = (
    f"{os.sep}pandas{os.sep}",
    f"{os.sep}numpy{os.sep}",
    f"{os.sep}pluggy{os.sep}",
    f"{os.sep}regimeflex{os.sep}plugins.py",
    f"{os.sep}regimeflex{os.sep}testing{os.sep}",
)


def raised_at(exc: BaseException | None) -> str:
    """`` (raised at hooks.py:42 in generate_signal)`` for the innermost frame of the plugin's own code."""
    if exc is None or exc.__traceback__ is None:
        return ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not any(p in f.filename for p in _PLUMBING)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (raised at {Path(frame.filename).name}:{frame.lineno} in {frame.name})"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one plugin, as the CLI reports it."""

    check: str
    status: str  # "PASS" | "FAIL" | "SKIP"
    message: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "message": self.message, "seconds": round(self.seconds, 4)}


#: Every check, in the order they run.
CHECKS: list[Check] = []


def checks_for(role: str) -> list[Check]:
    """The checks of one role, in run order."""
    return [c for c in CHECKS if c.role == role]


def get_check(check_id: str) -> Check:
    for c in CHECKS:
        if c.id == check_id:
            return c
    raise KeyError(f"unknown check id {check_id!r}")


def run_check(check: Check, subject: Subject) -> CheckResult:
    """Run one check and report PASS/FAIL/SKIP with its message (never raises)."""
    started = time.perf_counter()
    try:
        check(subject)
    except CheckSkipped as exc:
        return CheckResult(check.id, "SKIP", str(exc), time.perf_counter() - started)
    except CheckFailure as exc:
        return CheckResult(check.id, "FAIL", str(exc), time.perf_counter() - started)
    return CheckResult(check.id, "PASS", "", time.perf_counter() - started)


def run_checks(subject: Subject, roles: list[str] | None = None) -> list[CheckResult]:
    """Run every check of the subject's roles (or of ``roles``)."""
    wanted = roles if roles is not None else subject.roles
    return [run_check(c, subject) for role in wanted for c in checks_for(role)]


# ------------------------------------------------------------- any role


def _known_capabilities(subject: Subject) -> None:
    unknown = sorted(set(subject.capabilities) - set(KNOWN_CAPABILITIES))
    if unknown:
        hints = []
        for tag in unknown:
            close = difflib.get_close_matches(tag, list(KNOWN_CAPABILITIES), n=1)
            hints.append(f"'{tag}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise CheckFailure(
            f"capabilities() declares unknown tag(s) {', '.join(hints)}; a misspelt tag "
            f"silently changes which checks run. Known tags: {', '.join(KNOWN_CAPABILITIES)}"
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


def _empty_universe(role: str, subject: Subject) -> None:
    bars = _universe(sample_bars(), [])
    out = _require_frame(_out(role, subject, bars), f"{_what(role)} for a universe with no symbols")
    if not out.index.equals(bars.index) or len(out.columns) != 0:
        raise CheckFailure(
            f"with no symbols, expected a frame with the input's {len(bars.index)} dates "
            f"and no columns, got {out.shape[0]} rows × {out.shape[1]} columns"
        )


def _single_symbol(role: str, subject: Subject) -> None:
    bars = _universe(sample_bars(), [SINGLE_SYMBOL])
    what = f"{_what(role)} for a one-symbol universe ({SINGLE_SYMBOL})"
    out = _aligned(_out(role, subject, bars), bars.index, [SINGLE_SYMBOL], what)
    if out[SINGLE_SYMBOL].isna().all():
        raise CheckFailure(f"{what} is NaN on every one of {len(out)} sessions")


def _no_lookahead(role: str, subject: Subject) -> None:
    bars = sample_bars()
    symbols = bars_symbols(bars)
    full = _numeric(_aligned(_memo_full(subject, role), bars.index, symbols, _what(role)))
    end = _day(bars.index[-1])
    for n, pos in enumerate(cut_points(bars.index), start=1):
        cut = bars.iloc[: pos + 1].copy()
        cut_day = _day(cut.index[-1])
        part = _out(role, subject, cut)
        part = _numeric(_aligned(part, cut.index, symbols, f"{_what(role)} for bars up to {cut_day}"))
        diff = first_difference(part, full.iloc[: pos + 1])
        if diff is not None:
            day, sym, with_cut, with_full = diff
            what = "signal" if role == "strategy" else "weight"
            raise CheckFailure(
                f"{what} for {sym} on {_day(day)} depends on later bars: it is {_fmt(with_cut)} "
                f"with bars up to {cut_day} but {_fmt(with_full)} with bars up to {end} "
                f"(cut {n}); the value on a date may use bars up to that date only"
            )


def _frame_of(role: str, subject: Subject) -> pd.DataFrame:
    bars = sample_bars()
    return _numeric(_aligned(_memo_full(subject, role), bars.index, bars_symbols(bars), _what(role)))


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


def _register(
    check_id: str, func: Callable[[Subject], None], doc: str, requires: Mapping[str, bool] | None = None
) -> None:
    if any(c.id == check_id for c in CHECKS):
        raise ValueError(f"duplicate check id {check_id}")
    CHECKS.append(Check(check_id, func, doc, dict(requires or {})))


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
        f"{role}.empty_universe/v1",
        partial(_empty_universe, role),
        "no symbols in → a frame with the input's dates and no columns",
    )
    _register(
        f"{role}.single_symbol/v1", partial(_single_symbol, role), "a one-symbol universe works and yields values"
    )
    _register(
        f"{role}.no_lookahead/v1",
        partial(_no_lookahead, role),
        f"the {noun} on date t is identical whether or not bars after t are present",
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


# -------------------------------------------------------------------- data


def _request(
    subject: Subject, symbols: tuple[str, ...] | None = None, start: date | None = None, end: date | None = None
) -> BarsRequest:
    w = subject.data_window
    return BarsRequest(
        symbols=w.symbols if symbols is None else symbols,
        start=w.start if start is None else start,
        end=w.end if end is None else end,
        adjusted=True,
        settings=subject.params,
    )


def _provided(subject: Subject, request: BarsRequest) -> Bars:
    out = subject.call("provide_bars", request=request)
    try:
        return check_bars(out, where=f"provide_bars({list(request.symbols)}, {request.start} → {request.end})")
    except BarsShapeError as exc:
        raise CheckFailure(str(exc)) from None


def _memo_bars(subject: Subject) -> Bars:
    if "data:window" not in subject.memo:
        subject.memo["data:window"] = _provided(subject, _request(subject))
    return subject.memo["data:window"]


def _returns_bars(subject: Subject) -> None:
    bars = _memo_bars(subject)
    w = subject.data_window
    if bars.empty or bars["close"].isna().all().all():
        raise CheckFailure(
            f"no bars at all for {list(w.symbols)} {w.start} → {w.end}; set data_window "
            f"to symbols and dates the source has"
        )


def _requested_symbols_only(subject: Subject) -> None:
    got = bars_symbols(_memo_bars(subject))
    extra = [s for s in got if s not in subject.data_window.symbols]
    if extra:
        raise CheckFailure(
            f"returned symbols that were not requested: {extra} (requested {list(subject.data_window.symbols)})"
        )


def _within_range(subject: Subject) -> None:
    bars = _memo_bars(subject)
    w = subject.data_window
    outside = bars.index[(bars.index < pd.Timestamp(w.start)) | (bars.index > pd.Timestamp(w.end))]
    if len(outside):
        raise CheckFailure(f"returned {len(outside)} session(s) outside {w.start} → {w.end}, first {_day(outside[0])}")


def _data_deterministic(subject: Subject) -> None:
    first = _provided(subject, _request(subject))
    second = _provided(subject, _request(subject))
    problem = _bars_difference(first, second)
    if problem:
        raise CheckFailure(f"two identical requests returned different bars: {problem}")


def _data_single_symbol(subject: Subject) -> None:
    symbol = subject.data_window.symbols[0]
    got = bars_symbols(_provided(subject, _request(subject, symbols=(symbol,))))
    if got != [symbol]:
        raise CheckFailure(f"a request for {symbol} alone returned symbols {got}")


def _data_empty_universe(subject: Subject) -> None:
    out = subject.call("provide_bars", request=_request(subject, symbols=()))
    if not isinstance(out, pd.DataFrame):
        raise CheckFailure(f"a request with no symbols must return an empty DataFrame, got {type(out).__name__}")
    symbols = bars_symbols(out) if isinstance(out.columns, pd.MultiIndex) else [str(c) for c in out.columns]
    if symbols:
        raise CheckFailure(f"a request with no symbols returned symbols {symbols}")


def _data_no_sessions(subject: Subject) -> None:
    start = subject.data_window.start
    saturday = start + timedelta(days=(5 - start.weekday()) % 7)
    out = _provided(subject, _request(subject, start=saturday, end=saturday + timedelta(days=1)))
    if len(out.index):
        raise CheckFailure(
            f"a request for the weekend {saturday} → {saturday + timedelta(days=1)} "
            f"returned {len(out.index)} row(s), first {_day(out.index[0])}; "
            f"non-sessions have no rows"
        )


_register(
    "data.returns_bars/v1",
    _returns_bars,
    "provide_bars returns a Bars panel (DESIGN §3) with data for the requested window",
)
_register("data.requested_symbols_only/v1", _requested_symbols_only, "no symbol that was not requested")
_register("data.within_range/v1", _within_range, "no session outside the requested start → end")
_register("data.deterministic/v1", _data_deterministic, "two identical requests return identical bars")
_register("data.single_symbol/v1", _data_single_symbol, "a one-symbol request returns that symbol only")
_register("data.empty_universe/v1", _data_empty_universe, "a request with no symbols returns an empty frame")
_register("data.no_sessions/v1", _data_no_sessions, "a weekend-only request returns no rows")


# ------------------------------------------------------------------ broker

_LIVE_STATUSES = {"new", "accepted", "partially_filled", "filled"}


class _BrokerRun:
    """A fresh state directory and context per check, so checks never see each other's orders."""

    def __init__(self, subject: Subject, *, killed: bool = False) -> None:
        self.subject = subject
        self._tmp = tempfile.TemporaryDirectory(prefix="regimeflex-kit-")
        self.prices = sample_bars()
        self.session = self.prices.index[-2].date()
        self.context = BrokerContext(
            mode="paper",
            session=self.session,
            settings=subject.params,
            state_dir=Path(self._tmp.name),
            prices=self.prices,
            is_killed=lambda: killed,
        )

    def orders(self, tag: str, qty: float = 10.0) -> list[Order]:
        close = self.prices["close"].loc[pd.Timestamp(self.session)]
        return [
            Order(
                symbol=sym,
                side="buy",
                qty=qty,
                client_order_id=f"kit-{tag}-{i}",
                reference_price=float(close[sym]),
                strategy="kit",
                session=self.session,
            )
            for i, sym in enumerate(("AAPL", "JPM"), start=1)
        ]

    def call(self, hook: str, **kwargs: Any) -> Any:
        return self.subject.call(hook, context=self.context, **kwargs)

    def __enter__(self) -> _BrokerRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


def _results(out: Any, hook: str) -> list[OrderResult]:
    if not isinstance(out, list) or not all(isinstance(r, OrderResult) for r in out):
        raise CheckFailure(f"{hook} must return a list of OrderResult, got {type(out).__name__}")
    return out


def _broker_empty_orders(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        out = _results(run.call("execute_orders", orders=[]), "execute_orders")
        if out:
            raise CheckFailure(f"execute_orders([]) returned {len(out)} result(s); expected none")


def _broker_one_result_per_order(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        orders = run.orders("one")
        out = _results(run.call("execute_orders", orders=orders), "execute_orders")
        sent = [o.client_order_id for o in orders]
        got = [r.client_order_id for r in out]
        if got != sent:
            raise CheckFailure(
                f"execute_orders must return one result per order in order with the "
                f"client_order_id passed through; sent {sent}, got {got}"
            )


def _broker_duplicate_client_order_id(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        orders = run.orders("dup")
        run.call("execute_orders", orders=orders)
        run.call("execute_orders", orders=orders)
        ids = [o.client_order_id for o in orders]
        known = _results(run.call("broker_orders", client_order_ids=ids), "broker_orders")
        counts = {i: sum(r.client_order_id == i for r in known) for i in ids}
        wrong = {i: n for i, n in counts.items() if n != 1}
        if wrong:
            raise CheckFailure(
                f"after sending the same orders twice, broker_orders(ids) must know each "
                f"client_order_id exactly once; counts {wrong} (a resend placed a "
                f"duplicate, or broker_orders cannot find sent orders)"
            )


def _broker_kill_switch(subject: Subject) -> None:
    with _BrokerRun(subject, killed=True) as run:
        orders = run.orders("killed")
        out = _results(run.call("execute_orders", orders=orders), "execute_orders")
        live = [r.client_order_id for r in out if r.status in _LIVE_STATUSES]
        known = _results(
            run.call("broker_orders", client_order_ids=[o.client_order_id for o in orders]), "broker_orders"
        )
        if live or known:
            raise CheckFailure(
                f"context.is_killed() returned True, yet orders were placed: "
                f"{live or [r.client_order_id for r in known]}; check it before each submission"
            )


def _broker_unknown_id_absent(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        out = _results(run.call("broker_orders", client_order_ids=["kit-never-sent"]), "broker_orders")
        if out:
            raise CheckFailure(
                f"broker_orders(['kit-never-sent']) returned {len(out)} result(s); unknown ids must be absent"
            )


def _broker_account(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        out = run.call("broker_account")
        if out is not None and not isinstance(out, Account):
            raise CheckFailure(f"broker_account must return an Account or None, got {type(out).__name__}")
        if out is not None and not np.isfinite([out.equity, out.cash, out.buying_power]).all():
            raise CheckFailure(
                f"broker_account returned non-finite figures: equity={out.equity}, "
                f"cash={out.cash}, buying_power={out.buying_power}"
            )


def _broker_fills(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        orders = run.orders("fills")
        run.call("execute_orders", orders=orders)
        fills = run.call("broker_fills", since=None)
        if not isinstance(fills, list) or not all(isinstance(f, Fill) for f in fills):
            raise CheckFailure(f"broker_fills must return a list of Fill, got {type(fills).__name__}")
        ids = [f.fill_id for f in fills]
        if len(ids) != len(set(ids)):
            raise CheckFailure(f"broker_fills returned duplicate fill_id values: {sorted(ids)}")
        sent = {o.client_order_id for o in orders}
        stray = [f.client_order_id for f in fills if f.client_order_id not in sent]
        if stray:
            raise CheckFailure(f"broker_fills returned fills for orders never sent: {stray}")


def _broker_cancel_open_orders(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        run.call("execute_orders", orders=run.orders("cancel"))
        _results(run.call("cancel_open_orders"), "cancel_open_orders")


def _broker_fractional_qty(subject: Subject) -> None:
    with _BrokerRun(subject) as run:
        orders = run.orders("frac", qty=0.5)
        out = _results(run.call("execute_orders", orders=orders), "execute_orders")
        rejected = [f"{r.client_order_id}: {r.message}" for r in out if r.status == "rejected"]
        if rejected:
            raise CheckFailure(f"declares supports_fractional=True but rejected a 0.5-share order: {rejected}")


_register("broker.empty_orders/v1", _broker_empty_orders, "no orders in → no results, no error")
_register(
    "broker.one_result_per_order/v1",
    _broker_one_result_per_order,
    "one OrderResult per order, in order, client_order_id passed through",
)
_register(
    "broker.duplicate_client_order_id/v1",
    _broker_duplicate_client_order_id,
    "resending the same client_order_id never places a second order",
)
_register("broker.kill_switch/v1", _broker_kill_switch, "nothing is placed while context.is_killed() is True")
_register("broker.unknown_id_absent/v1", _broker_unknown_id_absent, "broker_orders omits ids it never saw")
_register("broker.account/v1", _broker_account, "broker_account returns an Account with finite figures, or None")
_register("broker.fills/v1", _broker_fills, "fills have unique fill_id values and belong to sent orders")
_register("broker.cancel_open_orders/v1", _broker_cancel_open_orders, "cancel_open_orders returns a list of results")
_register(
    "broker.fractional_qty/v1",
    _broker_fractional_qty,
    "with supports_fractional, a 0.5-share order is not rejected",
    {"supports_fractional": True},
)


# ---------------------------------------------------------------- notifier


def _notify(subject: Subject, event: Event) -> None:
    with tempfile.TemporaryDirectory(prefix="regimeflex-kit-") as tmp:
        context = NotifyContext(channel=subject.name, settings=subject.params, state_dir=Path(tmp))
        subject.call("notify", event=event, context=context)


def _notifier_every_level(subject: Subject) -> None:
    for level in Level:
        _notify(
            subject,
            Event(
                kind="kit.level",
                level=level,
                title=f"kit check at level {level.name}",
                body="one event per level",
                data={"level": level.name},
            ),
        )


def _notifier_minimal_event(subject: Subject) -> None:
    _notify(subject, Event(kind="kit.minimal", level=Level.INFO, title="kit: title only"))


def _notifier_unicode(subject: Subject) -> None:
    _notify(
        subject,
        Event(
            kind="kit.unicode",
            level=Level.RISK,
            title="Drawdown −12 % ⚠ «AAPL» 株",
            body="Línea 1\nZeile 2 — ünïcödé ✓\n<b>not markup</b> & *not markdown*",
            data={"symbols": ["AAPL", "JPM"], "nested": {"pnl": -1234.5, "ok": False}},
        ),
    )


def _notifier_event_not_mutated(subject: Subject) -> None:
    data = {"targets": {"AAPL": 0.25, "JPM": 0.25}, "orders": [{"symbol": "AAPL", "qty": 10}]}
    before = copy.deepcopy(data)
    _notify(subject, Event(kind="kit.mutation", level=Level.SUCCESS, title="kit: run summary", data=data))
    if data != before:
        raise CheckFailure(f"notify mutated event.data: {before!r} became {data!r}; work on a copy")


def _notifier_attachments(subject: Subject) -> None:
    with tempfile.TemporaryDirectory(prefix="regimeflex-kit-") as tmp:
        report = Path(tmp) / "report.html"
        report.write_text("<html><body><h1>kit report</h1></body></html>", encoding="utf-8")
        _notify(
            subject, Event(kind="kit.attachment", level=Level.INFO, title="kit: report attached", attachments=(report,))
        )


_register("notifier.every_level/v1", _notifier_every_level, "an event of every level is delivered without error")
_register("notifier.minimal_event/v1", _notifier_minimal_event, "an event with only kind, level and title works")
_register("notifier.unicode/v1", _notifier_unicode, "unicode, markup characters and nested data are delivered")
_register("notifier.event_not_mutated/v1", _notifier_event_not_mutated, "notify leaves event.data unchanged")
_register(
    "notifier.attachments/v1",
    _notifier_attachments,
    "with supports_attachments, an event with a file attached is delivered",
    {"supports_attachments": True},
)


for _role in ("strategy", "sizer", "data", "broker", "notifier"):
    _register(
        f"{_role}.known_capabilities/v1",
        _known_capabilities,
        "every tag capabilities() declares is one the kit knows (typos would silently skip checks)",
    )
