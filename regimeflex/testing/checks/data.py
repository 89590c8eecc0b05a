"""The data provider checks: Bars for exactly the requested symbols and window, deterministic, sessions only."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from regimeflex.testing.checks.frames import _bars_difference, _day
from regimeflex.testing.checks.registry import _register
from regimeflex.testing.subject import CheckFailure, Subject
from regimeflex.types import (
    Bars,
    BarsRequest,
    BarsShapeError,
    bars_symbols,
    check_bars,
)


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
