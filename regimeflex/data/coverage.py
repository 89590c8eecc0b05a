"""Coverage in the open: what the data behind a run actually covers, per symbol and in one line.

Owns :func:`symbol_coverage` (``regimeflex data coverage``: per symbol its
role, first/last session, sessions missing inside its own history, rows
rejected and warned by rule, and how many sessions its last bar is behind
the run's session — read from the cache and its manifest, no network),
:func:`summary_line` (the one line ``run`` and ``backtest`` print when
anything is off: symbols ending early, holes, rejected rows, a benchmark or
VIX series without bars, damaged cache files) and :func:`findings_by_rule`
(warnings summarised per rule with counts, one line each, instead of
thousands of identical lines).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regimeflex.data import calendar

if TYPE_CHECKING:
    from regimeflex.config import Settings


#: how many symbols a summary names before "and N more"
NAMED = 3


def roles_of(settings: Settings) -> dict[str, str]:
    """symbol → role (universe, benchmark, regime benchmark, vix) for the symbols a run loads."""
    roles: dict[str, str] = {}
    regime = settings.risk.regime
    for sym, role in (
        (regime.vix_symbol, "vix"),
        (regime.detect.benchmark, "regime"),
        (settings.run.benchmark, "benchmark"),
    ):
        if sym:
            roles[str(sym).upper()] = role
    for sym in settings.run.universe:
        roles[str(sym).upper()] = "universe"
    return roles


def holes(close: pd.DataFrame, first: date, last: date) -> dict[str, list[date]]:
    """Per symbol, the XNYS sessions in ``[first, last]`` without a close inside its own first..last bar."""
    days = calendar.sessions(first, last)
    if not len(days) or close.empty:
        return {str(s): [] for s in close.columns}
    has = close.reindex(pd.DatetimeIndex(days)).notna().to_numpy()
    started = np.maximum.accumulate(has, axis=0)
    not_ended = np.maximum.accumulate(has[::-1], axis=0)[::-1]
    inside = started & not_ended & ~has
    out = {}
    dates = pd.DatetimeIndex(days).date
    for j, sym in enumerate(close.columns):
        out[str(sym)] = [dates[i] for i in np.flatnonzero(inside[:, j])]
    return out


@dataclass
class SymbolCoverage:
    symbol: str
    role: str = "universe"
    first: date | None = None
    last: date | None = None
    rows: int = 0
    missing: list[date] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    warned: dict[str, int] = field(default_factory=dict)
    behind: int | None = None  # sessions between the last bar and the run's session (None: no bars)
    damaged: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "role": self.role,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "rows": self.rows,
            "missing_sessions": len(self.missing),
            "missing": [d.isoformat() for d in self.missing],
            "rejected": dict(self.rejected),
            "warned": dict(self.warned),
            "sessions_behind": self.behind,
            "damaged": self.damaged,
        }


def symbol_coverage(cache: Any, roles: Mapping[str, str], session: date) -> list[SymbolCoverage]:
    """Coverage of every symbol in ``roles`` plus every other cached symbol, from the cache and its manifest."""
    manifest = cache.manifest()
    names = list(dict.fromkeys([*roles, *sorted(set(cache.symbols()) | set(manifest))]))
    out = []
    for sym in names:
        row = SymbolCoverage(sym, roles.get(sym, "cached"))
        cov = manifest.get(sym)
        try:
            frame = cache.read_symbol(sym, manifest)
        except Exception as exc:  # a damaged file: said, never used
            row.damaged = getattr(exc, "reason", str(exc))
            out.append(row)
            continue
        frame = frame[frame["close"].notna()]
        if not frame.empty:
            row.first, row.last, row.rows = frame["date"].iloc[0].date(), frame["date"].iloc[-1].date(), len(frame)
            close = frame.set_index("date")[["close"]].rename(columns={"close": sym})
            row.missing = holes(close, row.first, row.last)[sym]
            row.behind = calendar.sessions_after(row.last, pd.Timestamp(session))
        if cov is not None and cov.findings:
            row.rejected = dict(cov.findings.get("rejected", {}))
            row.warned = dict(cov.findings.get("warned", {}))
        out.append(row)
    return out


def summary_line(report: Any, roles: Mapping[str, str], session: date) -> str | None:
    """One line naming everything off in a load (``DataReport``), or None when nothing is."""
    parts: list[str] = []
    symbols = report.symbols
    recent = calendar.sessions(pd.Timestamp(session) - pd.Timedelta(days=10), session)
    session = recent[-1].date() if len(recent) else session  # the last session on or before it
    early = [(s, st.last_bar) for s, st in symbols.items() if st.last_bar is not None and st.last_bar < session]
    if early:
        parts.append(f"{len(early)} symbol(s) end before {session}: " + _named([f"{s} {d}" for s, d in early]))
    none = [s for s, st in symbols.items() if st.last_bar is None and roles.get(s, "universe") == "universe"]
    if none:
        parts.append(f"no bars for {_named(none)}")
    for role, label in (("benchmark", "benchmark"), ("regime", "regime benchmark"), ("vix", "VIX series")):
        for s in [s for s, r in roles.items() if r == role and s in symbols]:
            st = symbols[s]
            if st.last_bar is None:
                parts.append(f"{label} {s}: no bars (its guard cannot see)")
    holed = {s: st.holes for s, st in symbols.items() if st.holes}
    if holed:
        parts.append(
            f"{sum(holed.values())} session(s) missing inside {len(holed)} symbol(s)' history: "
            + _named([f"{s} {n}" for s, n in sorted(holed.items(), key=lambda kv: -kv[1])])
        )
    rejected = _counts(f for f in report.validation.findings if f.action == "rejected")
    if rejected:
        total = sum(rejected.values())
        parts.append(f"{total} row(s) rejected (" + ", ".join(f"{r} {n}" for r, n in rejected.items()) + ")")
    damaged = [s for s, st in symbols.items() if st.damaged]
    if damaged:
        held = [s for s in damaged if symbols[s].held]
        parts.append(f"damaged cache file(s): {_named(damaged)}" + (f", held: {_named(held)}" if held else ""))
    if not parts:
        return None
    return "data: " + "; ".join(parts) + " — `regimeflex data coverage` lists it"


def findings_by_rule(findings: Sequence[Any], *, examples: int = 2) -> list[str]:
    """One line per (rule, action) with its count and the first examples."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for f in findings:
        groups.setdefault((f.rule, f.action), []).append(f)
    lines = []
    for (rule, action), items in groups.items():
        shown = "; ".join(f"{f.symbol} {f.date or ''} {f.detail}".replace("  ", " ").strip() for f in items[:examples])
        more = f" (+{len(items) - examples} more)" if len(items) > examples else ""
        lines.append(f"{rule}: {len(items)} row(s) {action} — e.g. {shown}{more}")
    return lines


def _counts(findings: Iterable[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.rule] = out.get(f.rule, 0) + 1
    return out


def _named(items: Sequence[str]) -> str:
    shown = ", ".join(items[:NAMED])
    return shown + (f" and {len(items) - NAMED} more" if len(items) > NAMED else "")
