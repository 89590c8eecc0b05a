"""Corporate actions for a run: cache first, only missing ex-date ranges from the provider.

Owns :func:`load_corporate_actions`, which the daily run calls for the symbols it
holds, and the actions cache ``<cache_dir>/<provider>/_corporate_actions.json``:
per symbol, the ex-date range the provider has been asked for and the splits and
cash dividends it answered (written atomically under the bar cache's lock). Like
bars, only ranges never asked are fetched, plus the last :data:`RECHECK_DAYS`
days of what is cached, because a vendor may publish an action on its ex-date
(after an earlier run asked). When the provider fails, the cached actions are
used and the report says, with a RISK event, which symbols are known only up to
which day; a provider without the ``provide_corporate_actions`` hook is reported
as ``not provided`` — neither is ever taken to mean "no actions".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from regimeflex.errors import DataError, HttpError, PluginCallError
from regimeflex.fsio import atomic_write_text, writing
from regimeflex.log import get_logger
from regimeflex.types import CorporateAction, Event, Level

if TYPE_CHECKING:
    from regimeflex.config import Settings
    from regimeflex.data.cache import BarCache
    from regimeflex.plugins.protocols import DataHost

log = get_logger("data.actions")

ACTIONS_FILE = "_corporate_actions.json"
#: cached days asked again on every load: an action published on (or just before) its ex-date is still seen
RECHECK_DAYS = 7


@dataclass
class ActionsReport:
    """What :func:`load_corporate_actions` found, for the run summary.

    ``status``: ``provider`` (asked, answered), ``cache`` (all from the cache), ``cache-fallback``
    (the provider failed; cached actions used, ``known_through`` says how far), ``not provided``
    (the provider has no such data: actions are unknown, not none), ``nothing held``.
    """

    provider: str
    status: str = "nothing held"
    actions: list[CorporateAction] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    provider_calls: int = 0
    error: str | None = None
    #: per symbol, the last ex-date the cache covers when the provider failed (None = nothing cached)
    known_through: dict[str, str | None] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    @property
    def line(self) -> str | None:
        """The one sentence the run summary shows (None when nothing is held)."""
        if self.status == "not provided":
            return f"corporate actions: not provided by {self.provider}"
        if self.status == "cache-fallback":
            known = ", ".join(f"{s} through {d or 'never'}" for s, d in sorted(self.known_through.items()))
            return f"corporate actions: {self.provider} failed ({self.error}); using the cache: {known}"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "status": self.status,
            "symbols": list(self.symbols),
            "provider_calls": self.provider_calls,
            "error": self.error,
            "known_through": dict(self.known_through),
            "actions": [action_json(a) for a in self.actions],
        }


def action_json(action: CorporateAction) -> dict[str, Any]:
    out: dict[str, Any] = {"symbol": action.symbol, "ex_date": action.ex_date.isoformat(), "kind": action.kind}
    if action.kind == "split":
        out["ratio"] = action.ratio
    else:
        out["cash"] = action.cash
    if action.source:
        out["source"] = action.source
    return out


def action_from_json(raw: Mapping[str, Any]) -> CorporateAction:
    return CorporateAction(
        str(raw["symbol"]),
        date.fromisoformat(str(raw["ex_date"])),
        raw["kind"],
        ratio=raw.get("ratio"),
        cash=raw.get("cash"),
        source=str(raw.get("source") or ""),
    )


class ActionsCache:
    """One provider's cached corporate actions: ``{symbol: {start, end, fetched, actions}}``."""

    def __init__(self, cache: BarCache) -> None:
        self.cache = cache
        self.path = cache.dir / ACTIONS_FILE

    def read(self) -> dict[str, dict[str, Any]]:
        """The cached symbols; a missing or damaged file is an empty cache (it only costs a re-fetch)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s is damaged (%s); asking the provider again", self.path, exc)
            return {}
        symbols = raw.get("symbols") if isinstance(raw, Mapping) else None
        return dict(symbols) if isinstance(symbols, Mapping) else {}

    def write(self, symbols: Mapping[str, Mapping[str, Any]]) -> None:
        text = json.dumps({"version": 1, "symbols": dict(sorted(symbols.items()))}, indent=1, sort_keys=True)
        with writing(self.path.parent, "cache"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, text + "\n")


def _missing(entry: Mapping[str, Any] | None, start: date, end: date) -> list[tuple[date, date]]:
    """Ex-date ranges to ask for: never asked, plus the last RECHECK_DAYS of the cached range."""
    if not entry:
        return [(start, end)]
    have_start, have_end = date.fromisoformat(entry["start"]), date.fromisoformat(entry["end"])
    out = []
    if start < have_start:
        out.append((start, min(end, have_start - timedelta(days=1))))
    recheck = max(start, have_start, have_end - timedelta(days=RECHECK_DAYS))
    if end >= recheck:
        out.append((recheck, end))
    return out


def _merge(entry: Mapping[str, Any] | None, a: date, b: date, found: Iterable[CorporateAction], now: datetime):
    """``entry`` with its actions in ``[a, b]`` replaced by ``found`` and its range widened to include it."""
    kept = [x for x in (entry or {}).get("actions", []) if not a <= date.fromisoformat(x["ex_date"]) <= b]
    actions = sorted([*kept, *(action_json(x) for x in found)], key=lambda x: (x["ex_date"], x["kind"]))
    start = min(a, date.fromisoformat(entry["start"])) if entry else a
    end = max(b, date.fromisoformat(entry["end"])) if entry else b
    return {"start": start.isoformat(), "end": end.isoformat(), "fetched": now.isoformat(), "actions": actions}


def load_corporate_actions(
    settings: Settings,
    host: DataHost,
    since: Mapping[str, date],
    end: date,
    *,
    now: datetime | None = None,
) -> ActionsReport:
    """The splits and cash dividends of each held symbol with an ex-date from ``since[symbol]`` to ``end``.

    :param since: held symbol → first ex-date that concerns the position (the day after it was opened).
    :param end: the run's session.
    :returns: an :class:`ActionsReport`; never raises for the provider's failure (the cache answers and
        a RISK event says how far it is known).
    """
    from regimeflex.data.service import open_cache, provider_settings

    provider = settings.data.provider
    report = ActionsReport(provider)
    wanted = {s.upper(): d for s, d in since.items() if d <= end}
    if not wanted:
        return report
    report.symbols = sorted(wanted)
    now = now or datetime.now(UTC)
    cache = open_cache(settings, provider)
    store = ActionsCache(cache)
    cached = store.read()
    pieces: dict[tuple[date, date], list[str]] = {}
    for sym, start in wanted.items():
        for piece in _missing(cached.get(sym), start, end):
            pieces.setdefault(piece, []).append(sym)
    provider_cfg = provider_settings(settings, host, provider) if pieces else {}
    failed: dict[str, str] = {}
    answered = False
    for (a, b), group in sorted(pieces.items()):
        try:
            found = host.provide_corporate_actions(
                provider, symbols=sorted(group), start=a, end=b, settings=provider_cfg
            )
        except (DataError, HttpError, PluginCallError) as exc:
            for sym in group:
                failed[sym] = str(exc)
            report.error = str(exc)
            log.error("corporate actions: %s failed for %s: %s", provider, ", ".join(sorted(group)), exc)
            continue
        report.provider_calls += 1
        if found is None:  # no hook, or no such data: unknown, never "none"
            report.status = "not provided"
            return report
        answered = True
        by_symbol: dict[str, list[CorporateAction]] = {}
        for action in found:
            if action.symbol.upper() in group and a <= action.ex_date <= b:
                by_symbol.setdefault(action.symbol.upper(), []).append(action)
        for sym in group:
            cached[sym] = _merge(cached.get(sym), a, b, by_symbol.get(sym, ()), now)
    if answered:
        with cache.lock():
            latest = store.read()
            latest.update({s: cached[s] for s in wanted if s in cached and s not in failed})
            store.write(latest)
    for sym, start in wanted.items():
        entry = cached.get(sym) or {}
        for raw in entry.get("actions", []):
            action = action_from_json(raw)
            if start <= action.ex_date <= end:
                report.actions.append(action)
    report.actions.sort(key=lambda x: (x.ex_date, x.symbol, x.kind))
    if failed:
        report.status = "cache-fallback"
        for sym in sorted(failed):
            have = cached.get(sym)
            report.known_through[sym] = have["end"] if have else None
        line = report.line or ""
        log.risk("%s", line)
        report.events.append(
            Event(
                kind="data.actions_stale",
                level=Level.RISK,
                title=f"Corporate actions from {provider} failed; using the cache",
                body=f"{line}. A split or dividend after those days is not applied until the provider answers.",
                data={"provider": provider, "error": report.error, "known_through": dict(report.known_through)},
            )
        )
    else:
        report.status = "provider" if answered else "cache"
    return report


# ------------------------------------------------------------ raw prices: back-adjustment for signals


def action_arrays(actions: Iterable[CorporateAction], index: Any, symbols: Iterable[str]) -> tuple[Any, Any]:
    """``(ratio, cash)``: dates × symbols float arrays aligned with a Bars panel's ``index`` and symbols.

    ``ratio[t, j]`` is the split ratio of symbol *j* effective at the start of session *t* (1 elsewhere),
    ``cash[t, j]`` its cash dividend per share (0 elsewhere). An action lands on the first session on or
    after its ex-date (a bar missing on the ex-date does not lose it); one outside the index is dropped.
    Two actions on one cell multiply (ratios) or add (cash).
    """
    import numpy as np
    import pandas as pd

    dates = pd.DatetimeIndex(index)
    where = {str(s).upper(): j for j, s in enumerate(symbols)}
    ratio = np.ones((len(dates), len(where)))
    cash = np.zeros((len(dates), len(where)))
    picked = [a for a in actions if a.symbol.upper() in where]
    if not picked or not len(dates):
        return ratio, cash
    rows = dates.searchsorted(pd.DatetimeIndex([pd.Timestamp(a.ex_date) for a in picked]), side="left")
    ok = (rows < len(dates)) & (rows > 0)  # an ex-date on the first row adjusts nothing before it
    cols = np.array([where[a.symbol.upper()] for a in picked], dtype=np.int64)
    is_split = np.array([a.kind == "split" for a in picked])
    value = np.array([float((a.ratio if a.kind == "split" else a.cash) or 0.0) for a in picked])
    ok &= value > 0
    s, d = ok & is_split, ok & ~is_split
    np.multiply.at(ratio, (rows[s], cols[s]), value[s])
    np.add.at(cash, (rows[d], cols[d]), value[d])
    return ratio, cash


def back_adjust(bars: Any, actions: Iterable[CorporateAction]) -> Any:
    """``bars`` (raw prices) back-adjusted for ``actions``: what a vendor's split/dividend-adjusted series holds.

    Every price before an ex-date is multiplied by the standard factor ``1 / ratio`` for a split and
    ``1 − cash / previous close`` for a cash dividend (the previous session's raw close), cumulated
    backwards from the last session, so the last session's prices are unchanged, a 2-for-1 split is
    no −50 % move and a dividend no drop; volume before a split is multiplied by its ratio. One array
    pass over the symbols that have actions (the others are returned as they are). The one
    implementation the backtest and the daily run feed their signals with.
    """
    import numpy as np
    import pandas as pd

    from regimeflex.types import bars_symbols

    symbols = bars_symbols(bars)
    ratio, cash = action_arrays(actions, bars.index, symbols)
    touched = np.flatnonzero((ratio != 1.0).any(axis=0) | (cash != 0.0).any(axis=0))
    if not touched.size:
        return bars
    names = [symbols[j] for j in touched]
    close = bars["close"].reindex(columns=names).to_numpy(dtype=np.float64)
    prev = pd.DataFrame(close).ffill().shift(1).to_numpy()
    r, c = ratio[:, touched], cash[:, touched]
    with np.errstate(divide="ignore", invalid="ignore"):
        div_factor = np.where((c > 0) & np.isfinite(prev) & (prev > c), 1.0 - c / prev, 1.0)
    factor = div_factor / r
    # price factor of row t = product of the factors of every later row (the last row: 1)
    after = np.ones_like(factor)
    after[:-1] = np.cumprod(factor[::-1], axis=0)[::-1][1:]
    shares = np.ones_like(r)
    shares[:-1] = np.cumprod(r[::-1], axis=0)[::-1][1:]
    values = bars.to_numpy(dtype=np.float64, copy=True)
    for name, scale in (("open", after), ("high", after), ("low", after), ("close", after), ("volume", shares)):
        if name not in bars.columns.get_level_values(0):
            continue
        pos = bars.columns.get_indexer(pd.MultiIndex.from_product([[name], names]))
        have = pos >= 0
        values[:, pos[have]] *= scale[:, have]
    out = pd.DataFrame(values, index=bars.index, columns=bars.columns)
    out.attrs = dict(bars.attrs)
    return out


def total_return_close(bars: Any, symbol: str, actions: Iterable[CorporateAction]) -> Any:
    """``symbol``'s close in ``bars`` as a total-return series: back-adjusted when ``actions`` (raw
    prices) include its splits or dividends, else its close as it is (a copy either way, so the series
    never keeps ``bars`` alive)."""
    import pandas as pd

    actions = tuple(actions)
    if any(a.symbol == symbol for a in actions):
        return back_adjust(bars.loc[:, pd.IndexSlice[:, [symbol]]], actions)["close"][symbol]
    return bars["close"][symbol].copy()


@dataclass(frozen=True)
class PriceBasis:
    """What the prices of a run or backtest are and what was done about corporate actions.

    ``status``: ``adjusted`` (the provider's prices include splits/dividends: nothing applied),
    ``applied`` (raw prices; the provider's actions back-adjust the signals' prices and are applied to
    the simulated positions and cash), ``not provided`` (raw prices and no actions: splits show as price
    moves), ``cache-fallback`` (raw; the provider failed and the cached actions were used).
    """

    provider: str
    status: str
    actions: tuple[CorporateAction, ...] = ()
    report: ActionsReport | None = None

    @property
    def line(self) -> str:
        """The one sentence a backtest summary, ``--json`` and tear sheet carry."""
        if self.status == "adjusted":
            return f"prices adjusted by {self.provider}: splits/dividends included (no corporate action applied again)"
        if self.status == "not provided":
            return (
                f"corporate actions: not provided by {self.provider} — raw prices, "
                "splits in raw prices appear as price moves"
            )
        splits = sum(a.kind == "split" for a in self.actions)
        dividends = len(self.actions) - splits
        line = (
            f"raw prices from {self.provider}: {splits} split(s) and {dividends} cash dividend(s) applied "
            "(positions and cash on their ex-dates; signals see back-adjusted prices)"
        )
        if self.status == "cache-fallback" and self.report is not None and self.report.line:
            line += f"; {self.report.line}"
        return line

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "status": self.status,
            "line": self.line,
            "actions": [action_json(a) for a in self.actions],
        }


def price_basis(settings: Settings, host: DataHost, bars: Any, end: date) -> PriceBasis:
    """The corporate actions of every symbol of ``bars`` over its history (cache first, through
    :func:`load_corporate_actions`) when data.yaml says the prices are raw (``adjusted: false``);
    with adjusted prices nothing is asked (the provider already applied them)."""
    from regimeflex.types import bars_symbols

    provider = settings.data.provider
    if settings.data.adjusted:
        return PriceBasis(provider, "adjusted")
    close = bars["close"]
    have = close.notna().to_numpy()
    first = have.argmax(axis=0)
    since = {
        str(sym): close.index[int(i)].date()
        for sym, i, any_ in zip(bars_symbols(bars), first, have.any(axis=0), strict=False)
        if any_
    }
    report = load_corporate_actions(settings, host, since, end)
    if report.status == "not provided":
        return PriceBasis(provider, "not provided", report=report)
    status = "cache-fallback" if report.status == "cache-fallback" else "applied"
    return PriceBasis(provider, status, tuple(report.actions), report)


def prices_for_signals(settings: Settings, host: DataHost, bars: Any, end: date) -> tuple[Any, PriceBasis]:
    """``(bars the strategies and sizer see, the price basis)``: raw bars back-adjusted for the provider's
    actions (:func:`back_adjust`); adjusted bars, or raw ones without actions, as they are."""
    basis = price_basis(settings, host, bars, end)
    if not basis.actions:
        return bars, basis
    return back_adjust(bars, basis.actions), basis


# ------------------------------------------------------------ actions file (the csv provider)

ACTIONS_COLUMNS = ("symbol", "ex_date", "kind", "ratio", "cash")


def read_actions_file(path: Any) -> list[CorporateAction]:
    """A CSV file of corporate actions, one a line: ``symbol,ex_date,kind,ratio,cash``.

    ``kind`` is ``split`` (``ratio`` = new shares per old share: 2 for a 2-for-1, 0.1 for a
    1-for-10 reverse split) or ``dividend`` (``cash`` per share); ``ex_date`` is ISO; lines
    starting with ``#`` are comments (say where the actions come from). A bad line is a
    DataError naming the file, the line and the fix — an unreadable actions file never means
    "no actions".
    """
    import csv
    from pathlib import Path

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(
            f"{file}: corporate actions file cannot be read ({exc.strerror or exc}); "
            "fix data.yaml providers.csv.actions_path"
        ) from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    if not lines:
        return []
    header = [c.strip().lower() for c in next(csv.reader([lines[0][1]]))]
    missing = [c for c in ("symbol", "ex_date", "kind") if c not in header]
    if missing:
        raise DataError(
            f"{file} line {lines[0][0]}: header lacks {', '.join(missing)}; the columns are {','.join(ACTIONS_COLUMNS)}"
        )
    out: list[CorporateAction] = []
    for n, line in lines[1:]:
        row = dict(zip(header, (v.strip() for v in next(csv.reader([line]))), strict=False))
        where = f"{file} line {n}"
        kind = row.get("kind", "").lower()
        try:
            ex_date = date.fromisoformat(row.get("ex_date", ""))
        except ValueError:
            raise DataError(f"{where}: ex_date {row.get('ex_date')!r} is not a YYYY-MM-DD date") from None
        value_key = {"split": "ratio", "dividend": "cash"}.get(kind)
        if value_key is None:
            raise DataError(f"{where}: kind {row.get('kind')!r} is neither split nor dividend")
        try:
            value = float(row.get(value_key) or "nan")
        except ValueError:
            value = float("nan")
        if not value > 0 or value == float("inf"):
            raise DataError(f"{where}: a {kind} needs a {value_key} > 0, got {row.get(value_key)!r}")
        symbol = row.get("symbol", "").upper()
        if not symbol:
            raise DataError(f"{where}: no symbol")
        out.append(
            CorporateAction(
                symbol,
                ex_date,
                "split" if kind == "split" else "dividend",
                ratio=value if kind == "split" else None,
                cash=value if kind == "dividend" else None,
                source=file.name,
            )
        )
    return out


__all__ = [
    "ACTIONS_FILE",
    "RECHECK_DAYS",
    "ActionsCache",
    "ActionsReport",
    "PriceBasis",
    "action_arrays",
    "back_adjust",
    "load_corporate_actions",
    "price_basis",
    "prices_for_signals",
    "read_actions_file",
]
