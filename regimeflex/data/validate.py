"""Validation: every rule bars must pass before they are cached or used.

Owns the rules, their per-rule policy (``reject`` keeps the row out, ``warn``
keeps it and reports it, ``repair`` applies the documented fix, ``ignore``
turns the rule off), and the findings report — one :class:`Finding` per
(symbol, date, rule). It works on the canonical *long* frame of
:mod:`regimeflex.data.normalize`, so duplicates and source order are still
visible, and is vectorised over all symbols at once.

Rules (default policy):

=================== ========= ===============================================================
rule                default   meaning · documented repair
=================== ========= ===============================================================
unreadable_row      reject    a source row that cannot be read: a date that is not a date, a price
                              that is not a number, more fields than the header (found by the
                              file reader; the finding names the line and the bad value)
unsorted_dates      repair    a date earlier than one above it for the same symbol · sort
duplicate_row       repair    an exact copy of another row · keep one copy
duplicate_date      reject    two different rows for one (symbol, date) · (warn keeps the last)
non_session         reject    a date that is not an XNYS session (weekend, holiday)
future_date         reject    a date after the last completed session
nan_field           reject    open/high/low/close empty (volume too when the source has volume;
                              only close for a close-only series: no open/high/low at all)
                              · fill open/high/low from close when close is present
non_positive_price  reject    a price ≤ 0
negative_volume     reject    volume < 0
ohlc_inconsistent   reject    low > min(open, close) or high < max(open, close) or low > high
                              · high = max(o,h,l,c), low = min(o,h,l,c)
zero_volume         warn      volume == 0
outlier_jump        warn      close moves more than ``outlier_factor``× (up or down) from the
                              previous kept close
missing_session     warn      an XNYS session without a row inside the symbol's own history
short_history       warn      the symbol starts after the range's first session or ends before
                              its last one (reported at its first/last date)
=================== ========= ===============================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.data import calendar
from regimeflex.data.normalize import LONG_COLUMNS, PRICE_FIELDS

Policy = str  # "reject" | "warn" | "repair" | "ignore"

#: rule → (default policy, policies it accepts). Order = the order findings are listed in.
RULES: dict[str, tuple[Policy, tuple[Policy, ...]]] = {
    "unreadable_row": ("reject", ("reject",)),
    "unsorted_dates": ("repair", ("repair", "warn", "ignore")),
    "duplicate_row": ("repair", ("repair", "reject", "warn", "ignore")),
    "duplicate_date": ("reject", ("reject", "warn")),
    "non_session": ("reject", ("reject", "warn", "ignore")),
    "future_date": ("reject", ("reject", "warn")),
    "nan_field": ("reject", ("reject", "repair", "warn")),
    "non_positive_price": ("reject", ("reject", "warn")),
    "negative_volume": ("reject", ("reject", "warn")),
    "ohlc_inconsistent": ("reject", ("reject", "repair", "warn", "ignore")),
    "zero_volume": ("warn", ("warn", "reject", "ignore")),
    "outlier_jump": ("warn", ("warn", "reject", "ignore")),
    "missing_session": ("warn", ("warn", "ignore")),
    "short_history": ("warn", ("warn", "ignore")),
}
DEFAULT_POLICIES: dict[str, Policy] = {rule: default for rule, (default, _) in RULES.items()}
ACTIONS = {"reject": "rejected", "warn": "warned", "repair": "repaired"}
DEFAULT_OUTLIER_FACTOR = 3.0


@dataclass(frozen=True, order=True)
class Finding:
    """One rule failing for one symbol on one date (``date`` None for symbol-wide findings)."""

    symbol: str
    date: date | None
    rule: str
    action: str = "warned"
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["date"] = self.date.isoformat() if self.date else None
        return out


@dataclass
class ValidationReport:
    """What validation found and did. ``rows_in``/``rows_out`` count long-frame rows."""

    findings: list[Finding] = field(default_factory=list)
    rows_in: int = 0
    rows_out: int = 0

    @property
    def rejected(self) -> list[Finding]:
        return [f for f in self.findings if f.action == "rejected"]

    @property
    def ok(self) -> bool:
        """True when nothing had to be kept out."""
        return not self.rejected

    def keys(self) -> set[tuple[str, date | None, str]]:
        return {(f.symbol, f.date, f.rule) for f in self.findings}

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.rule] = out.get(f.rule, 0) + 1
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [f.as_dict() for f in self.findings], columns=["symbol", "date", "rule", "action", "detail"]
        )

    def extend(self, other: ValidationReport) -> None:
        self.findings.extend(other.findings)
        self.rows_in += other.rows_in
        self.rows_out += other.rows_out


def resolve_policies(policies: Mapping[str, Policy] | None) -> dict[str, Policy]:
    """Defaults overlaid with ``policies``; an unknown rule or a policy the rule lacks is a ValueError."""
    merged = dict(DEFAULT_POLICIES)
    for rule, policy in (policies or {}).items():
        if rule not in RULES:
            raise ValueError(f"unknown validation rule {rule!r}; rules are {', '.join(RULES)}")
        allowed = RULES[rule][1]
        if policy not in allowed:
            raise ValueError(f"rule {rule!r} accepts {', '.join(allowed)}; got {policy!r}")
        merged[rule] = policy
    return merged


class _Collector:
    def __init__(self, policies: Mapping[str, Policy]) -> None:
        self.policies = policies
        self.findings: list[Finding] = []

    def add(self, rule: str, symbols: Iterable[Any], dates: Iterable[Any], details: Iterable[str] | str = "") -> None:
        action = ACTIONS.get(self.policies[rule], "warned")
        syms = list(symbols)
        if isinstance(details, str):
            details = [details] * len(syms)
        for sym, day, detail in zip(syms, dates, details):
            when = None if day is None or pd.isna(day) else pd.Timestamp(day).date()
            self.findings.append(Finding(str(sym), when, rule, action, detail))


def validate_long(
    long: pd.DataFrame,
    *,
    policies: Mapping[str, Policy] | None = None,
    outlier_factor: float = DEFAULT_OUTLIER_FACTOR,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Apply every rule to a canonical long frame.

    :param start, end: the range the data is meant to cover (for ``short_history``);
        default: the earliest and latest date in ``long``.
    :param now: the validation instant (for ``future_date``); default: now.
    :param long: the rows; ``long.attrs["findings"]`` may carry ``unreadable_row`` findings of
        the file reader (rows it had to leave out), which are reported with the others.
    :returns: the cleaned long frame (sorted by symbol, date; unique pairs;
        rejected rows removed, repairs applied) and the report.
    """
    pol = resolve_policies(policies)
    out = _Collector(pol)
    # rows the file reader could not read at all (csvread): already left out, reported here with the rest
    unreadable = [f for f in long.attrs.get("findings", []) if isinstance(f, Finding)]
    out.findings.extend(unreadable)
    frame = long.loc[:, list(LONG_COLUMNS)].reset_index(drop=True)
    frame["symbol"] = frame["symbol"].astype(object)
    rows_in = len(frame) + len(unreadable)
    if frame.empty:
        return frame, ValidationReport(sorted(out.findings, key=_order), rows_in, 0)

    # --- order: a date lower than an earlier row's date (same symbol, source order)
    if pol["unsorted_dates"] != "ignore":
        running = frame.groupby("symbol", sort=False)["date"].cummax()
        previous = running.groupby(frame["symbol"], sort=False).shift(1)
        bad = frame["date"] < previous
        out.add(
            "unsorted_dates",
            frame.loc[bad, "symbol"],
            frame.loc[bad, "date"],
            [f"comes after {p:%Y-%m-%d} in the source" for p in previous[bad]],
        )
    frame = frame.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)

    # --- duplicates
    if pol["duplicate_row"] != "ignore":
        extra = frame.duplicated(keep="first")
        keys = frame.loc[extra, ["symbol", "date"]]
        out.add("duplicate_row", keys["symbol"], keys["date"], "identical row repeated")
        if pol["duplicate_row"] == "reject":
            all_copies = frame.duplicated(keep=False)
            frame = frame[~all_copies]
        else:
            frame = frame[~extra]
    clash = frame.duplicated(subset=["symbol", "date"], keep=False)
    if clash.any():
        groups = frame.loc[clash].groupby(["symbol", "date"], sort=True).size()
        out.add(
            "duplicate_date",
            groups.index.get_level_values(0),
            groups.index.get_level_values(1),
            [f"{n} different rows for one session" for n in groups.to_numpy()],
        )
        if pol["duplicate_date"] == "reject":
            frame = frame[~clash]
        else:
            frame = frame[~frame.duplicated(subset=["symbol", "date"], keep="last")]
    frame = frame.reset_index(drop=True)

    reject = np.zeros(len(frame), dtype=bool)

    def judge(rule: str, mask: np.ndarray, details: Iterable[str] | str) -> None:
        nonlocal reject
        if pol[rule] == "ignore" or not mask.any():
            return
        out.add(rule, frame["symbol"].to_numpy()[mask], frame["date"].to_numpy()[mask], details)
        if pol[rule] == "reject":
            reject |= mask

    dates = pd.DatetimeIndex(frame["date"])
    lo, hi = dates.min(), dates.max()
    known = dates >= calendar.session_table().first_session
    sessions = calendar.sessions(lo, hi)
    judge("non_session", np.asarray(known & ~dates.isin(sessions)), "not an XNYS session")
    last_done = calendar.last_completed_session(now)
    judge("future_date", np.asarray(dates > last_done), f"after the last completed session {last_done:%Y-%m-%d}")

    # --- missing values
    prices = frame.loc[:, list(PRICE_FIELDS)].to_numpy(dtype="float64")
    volume = frame["volume"].to_numpy(dtype="float64")
    has_volume = (
        frame.groupby("symbol", sort=False)["volume"].transform(lambda v: v.notna().any()).to_numpy(bool)
        if frame["volume"].isna().any()
        else np.ones(len(frame), dtype=bool)
    )
    nan_prices = np.isnan(prices)
    if nan_prices[:, :3].all(axis=1).any():
        # a close-only series (an index level, a rate, VIX): no open/high/low anywhere in the symbol
        close_only = ~(
            frame.loc[:, ["open", "high", "low"]]
            .notna()
            .any(axis=1)
            .groupby(frame["symbol"], sort=False)
            .transform("any")
            .to_numpy(bool)
        )
        nan_prices[close_only, :3] = False
    nan_mask = nan_prices.any(axis=1) | (np.isnan(volume) & has_volume)
    empty_names = [
        ", ".join([*(f for f, n in zip(PRICE_FIELDS, row) if n), *(["volume"] if nv else [])])
        for row, nv in zip(nan_prices[nan_mask], (np.isnan(volume) & has_volume)[nan_mask])
    ]
    if pol["nan_field"] == "repair" and nan_mask.any():
        out.add(
            "nan_field",
            frame["symbol"].to_numpy()[nan_mask],
            frame["date"].to_numpy()[nan_mask],
            [f"empty {names}" for names in empty_names],
        )
        close = frame["close"].to_numpy()
        fixable = ~np.isnan(close)
        for field_name in ("open", "high", "low"):
            col = frame[field_name].to_numpy(copy=True)
            fill = np.isnan(col) & fixable
            col[fill] = close[fill]
            frame[field_name] = col
        still = np.isnan(close) & nan_mask
        reject |= still
        prices = frame.loc[:, list(PRICE_FIELDS)].to_numpy(dtype="float64")
    else:
        judge("nan_field", nan_mask, [f"empty {names}" for names in empty_names])

    with np.errstate(invalid="ignore"):
        non_pos = (prices <= 0).any(axis=1)
        judge("non_positive_price", non_pos, "a price is zero or negative")
        judge("negative_volume", volume < 0, [f"volume {v:g}" for v in volume[volume < 0]])
        o, h, lo_, c = prices.T
        top, bottom = np.fmax(o, c), np.fmin(o, c)
        ohlc_bad = (h < top) | (lo_ > bottom) | (lo_ > h)
    details = [f"open {a:g} high {b:g} low {d:g} close {e:g}" for a, b, d, e in prices[ohlc_bad]]
    if pol["ohlc_inconsistent"] == "repair" and ohlc_bad.any():
        out.add("ohlc_inconsistent", frame["symbol"].to_numpy()[ohlc_bad], frame["date"].to_numpy()[ohlc_bad], details)
        frame["high"] = np.where(ohlc_bad, np.fmax.reduce([o, h, lo_, c]), h)
        frame["low"] = np.where(ohlc_bad, np.fmin.reduce([o, h, lo_, c]), lo_)
    else:
        judge("ohlc_inconsistent", ohlc_bad, details)
    judge("zero_volume", volume == 0, "volume 0")

    # --- jumps, measured between rows that are kept (a rejected bad print makes no jump)
    if pol["outlier_jump"] != "ignore":
        kept = frame.loc[~reject, ["symbol", "close"]]
        prev = kept.groupby("symbol", sort=False)["close"].shift(1)
        ratio = (kept["close"] / prev).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            jump = (ratio > outlier_factor) | (ratio < 1.0 / outlier_factor)
        mask = np.zeros(len(frame), dtype=bool)
        mask[np.flatnonzero(~reject)[jump]] = True
        judge("outlier_jump", mask, [f"close ×{r:.2f} vs the previous session" for r in ratio[jump]])

    # --- coverage: missing sessions inside each symbol's own history; short histories
    present = frame.loc[np.asarray(known) & np.asarray(dates.isin(sessions))]
    if len(sessions) and not present.empty:
        _coverage(out, pol, present, sessions, start, end, lo, hi)

    frame = frame[~reject].reset_index(drop=True)
    report = ValidationReport(sorted(out.findings, key=_order), rows_in, len(frame))
    return frame, report


def _coverage(
    out: _Collector,
    pol: Mapping[str, Policy],
    present: pd.DataFrame,
    sessions: pd.DatetimeIndex,
    start: date | None,
    end: date | None,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
) -> None:
    symbols, sym_codes = np.unique(present["symbol"].to_numpy(dtype=str), return_inverse=True)
    day_codes = sessions.get_indexer(pd.DatetimeIndex(present["date"]))
    grid = np.zeros((len(sessions), len(symbols)), dtype=bool)
    grid[day_codes, sym_codes] = True
    first = grid.argmax(axis=0)
    last = len(sessions) - 1 - grid[::-1].argmax(axis=0)
    if pol["missing_session"] != "ignore":
        rows = np.arange(len(sessions))[:, None]
        inside = (rows >= first) & (rows <= last)
        day_idx, sym_idx = np.nonzero(inside & ~grid)
        order = np.lexsort((day_idx, sym_idx))
        out.add("missing_session", symbols[sym_idx[order]], sessions[day_idx[order]], "no row for this session")
    if pol["short_history"] != "ignore":
        range_sessions = calendar.sessions(start or lo, end or hi)
        if len(range_sessions):
            want_first, want_last = range_sessions[0], range_sessions[-1]
            first_dates, last_dates = sessions[first], sessions[last]
            late = first_dates > want_first
            out.add(
                "short_history",
                symbols[late],
                first_dates[late],
                [f"history starts {d:%Y-%m-%d}, range starts {want_first:%Y-%m-%d}" for d in first_dates[late]],
            )
            early = last_dates < want_last
            out.add(
                "short_history",
                symbols[early],
                last_dates[early],
                [f"history ends {d:%Y-%m-%d}, range ends {want_last:%Y-%m-%d}" for d in last_dates[early]],
            )


def _order(f: Finding) -> tuple[str, date, int]:
    return (f.symbol, f.date or date.min, list(RULES).index(f.rule))
