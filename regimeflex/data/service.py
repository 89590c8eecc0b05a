"""Loading bars for a run: cache first, only missing sessions from the provider, validated.

Owns :func:`load_bars`, the one function the runner and backtests call to
get a Bars panel, and :func:`import_source`, which turns user files into a
validated cache. The flow per symbol: read the cache manifest; ask the
selected provider only for sessions the cache has never asked for (before
its first or after its last covered session — "stale" is counted in XNYS
sessions up to the last *completed* one, never in wall-clock days); re-ask
one overlapping session so a split or dividend that changed adjusted
history is noticed and the symbol re-fetched whole; normalise and validate
the answer; write it atomically under the cache lock; and read the panel
back from the cache. When the provider fails (after its own bounded
retries) the cache still answers and the report carries a RISK event
saying how many sessions stale each symbol is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regimeflex.data import calendar
from regimeflex.data.cache import BarCache, Coverage
from regimeflex.data.coverage import holes
from regimeflex.data.normalize import LONG_COLUMNS, bars_to_long, normalize_bars
from regimeflex.data.provenance import SourceScanner, describe_change, same_stats
from regimeflex.data.validate import ValidationReport, validate_long
from regimeflex.errors import ConfigError, DataError, HttpError, PluginCallError
from regimeflex.log import get_logger
from regimeflex.types import Bars, BarsRequest, Event, Level

if TYPE_CHECKING:
    from regimeflex.config import Settings
    from regimeflex.plugins.protocols import DataHost


log = get_logger("data")

#: relative close difference on the overlap session that means "history was re-adjusted"
ADJUSTMENT_TOLERANCE = 1e-6


@dataclass
class SymbolStatus:
    """Where one symbol's bars came from and how fresh they are."""

    symbol: str
    source: str = "cache"  # cache | provider | cache-fallback | none
    rows_fetched: int = 0
    first_bar: date | None = None
    last_bar: date | None = None
    stale_sessions: int | None = None
    reimported: str | None = None  # why its cached rows were replaced (source changed)
    damaged: str | None = None  # why its cache file was not used
    held: bool = False  # damaged and could not be fetched again: no bars used
    holes: int = 0  # sessions without a bar inside the symbol's own first..last bar in the range

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "source": self.source,
            "rows_fetched": self.rows_fetched,
            "first_bar": self.first_bar.isoformat() if self.first_bar else None,
            "last_bar": self.last_bar.isoformat() if self.last_bar else None,
            "stale_sessions": self.stale_sessions,
            "reimported": self.reimported,
            "damaged": self.damaged,
            "held": self.held,
            "holes": self.holes,
        }


@dataclass
class DataReport:
    """What :func:`load_bars` did: per-symbol status, validation findings, events for the user."""

    provider: str
    start: date
    end: date
    symbols: dict[str, SymbolStatus] = field(default_factory=dict)
    validation: ValidationReport = field(default_factory=ValidationReport)
    events: list[Event] = field(default_factory=list)
    provider_calls: int = 0
    provider_error: str | None = None
    removed: list[str] = field(default_factory=list)

    @property
    def stale(self) -> dict[str, int]:
        """Symbols whose last bar is older than ``end``, with how many sessions."""
        return {s: st.stale_sessions for s, st in self.symbols.items() if st.stale_sessions}

    @property
    def missing(self) -> list[str]:
        return [s for s, st in self.symbols.items() if st.last_bar is None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "provider_calls": self.provider_calls,
            "provider_error": self.provider_error,
            "symbols": [st.as_dict() for st in self.symbols.values()],
            "findings": [f.as_dict() for f in self.validation.findings],
            "events": [{"kind": e.kind, "level": e.level.name, "title": e.title, "body": e.body} for e in self.events],
            "removed": self.removed,
        }


# --------------------------------------------------------------- helpers


def provider_settings(settings: Settings, host: DataHost, provider: str) -> Mapping[str, Any]:
    """The provider's validated ``providers.<name>`` section, relative paths resolved against the root."""
    validated = host.validate_settings(
        provider, settings.data.providers.get(provider), where=f"data.yaml: providers.{provider}"
    )
    resolved: dict[str, Any] = {}
    for key, value in dict(validated).items():
        is_path_key = key in ("path", "dir") or key.endswith(("_path", "_dir"))
        if is_path_key and isinstance(value, (str, Path)) and value != "":
            value = settings.path(value)
        resolved[key] = value
    return resolved


def csv_options(settings: Settings, prices: str | None = None) -> Any:
    """``data.yaml: providers.csv`` as the file reader's validated options (used by ``data import|validate``);
    ``prices`` overrides ``providers.csv.prices``."""
    from pydantic import ValidationError

    from regimeflex.config.base import format_validation_error
    from regimeflex.data.csvread import CsvSourceSettings

    try:
        raw = dict(settings.data.providers.get("csv") or {})
        if prices is not None:
            raw["prices"] = prices
        return CsvSourceSettings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error("data.yaml", exc, prefix="providers.csv")) from None


def open_cache(settings: Settings, provider: str | None = None) -> BarCache:
    cfg = settings.data.cache
    return BarCache(
        settings.path(settings.run.paths.cache_dir),
        provider or settings.data.provider,
        fmt=cfg.format,
        lock_timeout=cfg.lock_timeout,
    )


def _validate(settings: Settings, long: pd.DataFrame, start: date, end: date, now: datetime | None):
    val = settings.data.validation
    return validate_long(
        long, policies=val.policy.model_dump(), outlier_factor=val.outlier_factor, start=start, end=end, now=now
    )


def _day(ts: Any) -> date:
    return pd.Timestamp(ts).date()


# ------------------------------------------------------------- load_bars


def _bar_span(bars: Bars, symbols: list[str]) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Each symbol's first and last date with a close (NaT where it has none), in ``symbols`` order."""
    nat = pd.DatetimeIndex([pd.NaT] * len(symbols), dtype="datetime64[ns]")
    if not len(bars.columns) or not len(bars.index):
        return nat, nat
    has = bars["close"].reindex(columns=symbols).notna().to_numpy()
    any_bar = has.any(axis=0)
    dates = pd.DatetimeIndex(bars.index).to_numpy().astype("datetime64[ns]")
    first = dates[has.argmax(axis=0)]
    last = dates[len(dates) - 1 - has[::-1].argmax(axis=0)]
    return (
        pd.DatetimeIndex(np.where(any_bar, first, nat.to_numpy())),
        pd.DatetimeIndex(np.where(any_bar, last, nat.to_numpy())),
    )


def load_bars(
    settings: Settings,
    host: DataHost,
    symbols: Iterable[str],
    start: date,
    end: date,
    *,
    refresh: bool = False,
    now: datetime | None = None,
) -> tuple[Bars, DataReport]:
    """Bars for ``symbols`` on the XNYS sessions in ``[start, end]``, cache first.

    :param settings: the loaded :class:`regimeflex.config.Settings`.
    :param host: the plugin host (:class:`~regimeflex.plugins.protocols.DataHost`); the provider is ``data.yaml: provider``.
    :param end: sessions after the last *completed* one (at ``now``) are never requested.
    :param refresh: ignore what the cache covers and re-fetch the whole range.
    :param now: the current instant (tests pin it); default: now.
    :returns: the Bars panel (every requested symbol is a column, NaN where
        there is no bar) and a :class:`DataReport`.
    :raises DataError: the provider failed and the cache has nothing for any symbol.
    :raises PluginError/ConfigError: the provider is not installed or its settings are wrong.
    """
    now = now or datetime.now(UTC)
    wanted = sorted({s.strip().upper() for s in symbols})
    provider = settings.data.provider
    adjusted = settings.data.adjusted
    host.require(provider, "data", where="data.yaml: provider")
    provider_cfg = provider_settings(settings, host, provider)
    cache = open_cache(settings, provider)
    last_done = calendar.last_completed_session(now).date()
    eff_end = min(end, last_done)
    report = DataReport(provider, start, eff_end, {s: SymbolStatus(s) for s in wanted})
    days = calendar.sessions(start, eff_end)
    if len(days) == 0 or not wanted:
        return cache.load_bars(wanted, start, eff_end), report
    first_day, last_day = days[0].date(), days[-1].date()

    _reimport_changed_imports(settings, cache.manifest(), wanted, provider, now, report)
    manifest = cache.manifest()
    scanner = _source_scanner(host, provider, provider_cfg, wanted, first_day, last_day, adjusted)
    sources = {sym: scanner.record(sym, manifest[sym].source if sym in manifest else None) for sym in wanted}
    whole = _changed_sources(manifest, sources, wanted, provider, refresh, report)
    pieces: dict[tuple[date, date], list[str]] = {}
    for sym in wanted:
        cov = manifest.get(sym)
        for piece in _missing_pieces(cov, first_day, last_day, adjusted, refresh or sym in whole):
            pieces.setdefault(piece, []).append(sym)

    failed: dict[str, str] = {}
    damaged: dict[str, str] = {}

    def fetch(group: list[str], a: date, b: date, *, again: set[str], check: bool) -> None:
        try:
            damaged.update(
                _fetch_piece(
                    settings,
                    host,
                    cache,
                    provider,
                    provider_cfg,
                    group,
                    a,
                    b,
                    adjusted,
                    now,
                    report,
                    cache.manifest(),
                    check_adjustment=check,
                    whole=again,
                    sources=sources,
                )
            )
        except (DataError, HttpError, PluginCallError) as exc:
            if len(group) > 1 and not isinstance(exc, HttpError):
                # one symbol's unreadable file or bad answer must not hold the others: ask one by one
                for sym in group:
                    fetch([sym], a, b, again=again, check=check)
                return
            message = str(exc)
            for sym in group:
                failed[sym] = message
            report.provider_error = message
            log.error("data provider %s failed for %s: %s", provider, ", ".join(group), message)

    for (a, b), group in sorted(pieces.items()):
        fetch(group, a, b, again=whole, check=not refresh)

    found: dict[str, str] = {}
    bars = cache.load_bars(wanted, start, eff_end, damaged=found)
    damaged.update(found)
    if damaged:
        # a damaged cache file is never used: fetch that symbol's whole range again, or hold it
        redo = sorted(s for s in damaged if s not in failed)
        log.warning(
            "%s cache: %d damaged file(s) (%s); fetching them again", provider, len(damaged), ", ".join(sorted(damaged))
        )
        if redo:
            fetch(redo, first_day, last_day, again=set(redo), check=False)
        still: dict[str, str] = {}
        bars = cache.load_bars(wanted, start, eff_end, damaged=still)
        report.events.append(_damaged_event(provider, damaged, still, failed))
        for sym in damaged:
            report.symbols[sym].damaged = damaged[sym]
            report.symbols[sym].held = sym in still or sym in failed

    first_bar, last_bar = _bar_span(bars, wanted)
    # bars lie in [first_day, last_day], so the sessions after a symbol's last bar are a suffix of ``days``
    after = len(days) - np.searchsorted(days.to_numpy(), last_bar.to_numpy(), side="right")
    # datetime64[D].tolist() gives datetime.date objects (None for NaT) without a Timestamp per symbol
    firsts = first_bar.to_numpy().astype("datetime64[D]").tolist()
    lasts = last_bar.to_numpy().astype("datetime64[D]").tolist()
    for sym, first, last, stale in zip(wanted, firsts, lasts, after.tolist()):
        st = report.symbols[sym]
        st.first_bar, st.last_bar = first, last
        st.stale_sessions = int(stale) if last else None
        if st.held:
            st.source = "held"
        elif sym in failed:
            st.source = "cache-fallback" if st.last_bar else "none"
        elif st.rows_fetched:
            st.source = "provider"
        elif st.last_bar is None:
            st.source = "none"
    for sym, gaps in holes(bars["close"].reindex(columns=wanted), first_day, last_day).items():
        report.symbols[sym].holes = len(gaps)
    if failed:
        _fallback_event(report, provider, failed, last_day)
    if report.validation.findings:
        report.events.append(_findings_event(provider, report.validation))
    missing = [s for s in report.missing if s not in failed]
    if missing:
        report.events.append(
            Event(
                kind="data.missing",
                level=Level.RISK,
                title=f"No bars for {len(missing)} symbol(s)",
                body=f"{provider} returned no bars for {', '.join(missing)} between {start} and {eff_end}; "
                f"check the symbols in run.yaml: universe.",
                data={"provider": provider, "symbols": missing},
            )
        )

    with cache.lock():
        # files touched but not changed: record the new stats so they are not hashed again next time
        latest = cache.manifest()
        restat = {
            s: src
            for s, src in sources.items()
            if s in latest and s not in whole and not same_stats(latest[s].source, src)
        }
        cache.touch(wanted, now, sources=restat)
        limits = settings.data.cache
        report.removed = cache.cleanup(
            max_symbols=limits.max_symbols, max_unused_days=limits.max_unused_days, now=now, keep=wanted
        )
    return bars, report


def _missing_pieces(
    cov: Coverage | None, first: date, last: date, adjusted: bool, refresh: bool
) -> list[tuple[date, date]]:
    """Session ranges to ask the provider for, given what the cache has been asked before."""
    if cov is None or refresh or cov.adjusted != adjusted:
        return [(first, last)]
    pieces = []
    if first < cov.start:
        before = calendar.sessions(first, pd.Timestamp(cov.start) - pd.Timedelta(days=1))
        if len(before):
            pieces.append((first, before[-1].date()))
    if cov.end < last:
        # start at the last covered session: the overlap shows whether adjusted history changed
        overlap = cov.end if calendar.is_session(cov.end) else calendar.sessions(cov.end, last)[0].date()
        pieces.append((max(overlap, cov.start), last))
    return pieces


def _fetch_piece(
    settings: Settings,
    host: DataHost,
    cache: BarCache,
    provider: str,
    provider_cfg: Mapping[str, Any],
    group: list[str],
    a: date,
    b: date,
    adjusted: bool,
    now: datetime,
    report: DataReport,
    manifest: Mapping[str, Coverage],
    *,
    check_adjustment: bool,
    whole: set[str] | frozenset[str] = frozenset(),
    sources: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """Fetch one piece for ``group``, validate it and store it; returns damaged cache files found on the way.

    Symbols in ``whole`` replace their cached file entirely (their source changed or their file was damaged).
    """
    sources = sources or {}
    request = BarsRequest(symbols=tuple(group), start=a, end=b, adjusted=adjusted, settings=provider_cfg)
    report.provider_calls += 1
    raw = host.provide_bars(provider, request=request)
    fetched, reader_findings = _rows_of(raw, provider, group, a, b)

    # A changed close on the overlap session means the vendor re-adjusted history (split, dividend):
    # the symbol's whole cached history is stale, so fetch it again in one piece.
    readjusted = [] if not check_adjustment else _readjusted(cache, fetched, group, a, manifest)
    if readjusted:
        lo = min([manifest[s].start for s in readjusted] + [report.start])
        log.warning("%s: adjusted history changed for %s; re-fetching from %s", provider, ", ".join(readjusted), lo)
        again = host.provide_bars(provider, request=BarsRequest(tuple(readjusted), lo, b, adjusted, provider_cfg))
        report.provider_calls += 1
        again_long, again_findings = _rows_of(again, provider, readjusted, lo, b)
        fetched = pd.concat([fetched[~fetched["symbol"].isin(readjusted)], again_long], ignore_index=True)
        reader_findings = [f for f in reader_findings if f.symbol not in readjusted] + again_findings

    fetched.attrs["findings"] = reader_findings
    clean, findings = _validate(settings, fetched, a, b, now)
    report.validation.extend(findings)
    has_last = bool((clean["date"] == pd.Timestamp(b)).any()) if not clean.empty else False
    latest = _day(clean["date"].max()) if not clean.empty else None
    coverage: dict[str, Coverage] = {}
    replace: dict[str, tuple[date, date] | None] = {}
    refetch_start = min([manifest[s].start for s in readjusted] + [report.start]) if readjusted else a
    for sym in group:
        old = manifest.get(sym)
        # Coverage ends at b when the vendor has published b for anyone in the group (a symbol
        # without that bar simply has none); otherwise at the newest bar, so b is asked again.
        sym_end = b if has_last else latest
        source = sources.get(sym)
        if sym in readjusted or sym in whole or (old is not None and old.adjusted != adjusted):
            replace[sym] = None  # the whole file is on the wrong basis now, or its source changed
            start_cov = refetch_start if sym in readjusted else a
            if sym_end is not None:
                coverage[sym] = Coverage(start_cov, max(sym_end, start_cov), adjusted, now, source)
        else:
            replace[sym] = (a, b)
            start_cov = min(old.start, a) if old else a
            end_cov = max(old.end, sym_end) if (old and sym_end) else (old.end if old else sym_end)
            if end_cov is not None:
                coverage[sym] = Coverage(start_cov, max(end_cov, start_cov), adjusted, now, source)
        report.symbols[sym].rows_fetched += int((clean["symbol"] == sym).sum())
        if sym in coverage:
            keep = None if replace[sym] is None or old is None else old.findings
            coverage[sym] = coverage[sym].replace(findings=_finding_counts(findings.findings, sym, keep))
    with cache.lock():
        dropped = cache.store(clean, coverage, replace=replace)
    return {sym: "its rows could not be merged: the cached file was damaged" for sym in dropped}


def _source_scanner(
    host: DataHost, provider: str, provider_cfg: Mapping[str, Any], wanted: list[str], a: date, b: date, adjusted: bool
) -> SourceScanner:
    """What each symbol's rows depend on now, from the provider's ``bars_source`` hook."""
    request = BarsRequest(symbols=tuple(wanted), start=a, end=b, adjusted=adjusted, settings=provider_cfg)
    answer = host.bars_source(provider, request=request)
    if answer is None:
        return SourceScanner(provider, adjusted, provider_cfg, None)
    return SourceScanner(provider, adjusted, answer.get("settings", provider_cfg), answer.get("files"))


def _changed_sources(
    manifest: Mapping[str, Coverage],
    sources: Mapping[str, Mapping[str, Any]],
    wanted: list[str],
    provider: str,
    refresh: bool,
    report: DataReport,
) -> set[str]:
    """Symbols whose cached rows came from a source that has changed since; one INFO line per reason."""
    if refresh:
        return set()
    by_reason: dict[str, list[str]] = {}
    for sym in wanted:
        cov = manifest.get(sym)
        if cov is None or (cov.source or {}).get("import"):
            continue  # imported rows are the user's own: `data import` keeps them (imported_changes re-imports)
        reason = describe_change(cov.source, sources[sym], provider=provider)
        if reason:
            by_reason.setdefault(reason, []).append(sym)
    for reason, syms in by_reason.items():
        log.info("%s: re-importing %s: %s", provider, ", ".join(syms), reason)
        for sym in syms:
            report.symbols[sym].reimported = reason
    return {s for syms in by_reason.values() for s in syms}


def _reimport_changed_imports(
    settings: Settings,
    manifest: Mapping[str, Coverage],
    wanted: list[str],
    provider: str,
    now: datetime,
    report: DataReport,
) -> None:
    """Symbols put in the cache by ``data import`` whose file changed since: import that file again."""
    again: dict[str, list[str]] = {}
    for sym in wanted:
        src = manifest[sym].source if sym in manifest else None
        if not src or not src.get("import"):
            continue
        paths = [f["path"] for f in src.get("files", [])]
        current = SourceScanner("import", src.get("adjusted", True), src.get("settings", {}), {sym: paths})
        new = {**current.record(sym, src), "import": True}
        reason = describe_change(src, new, provider="import")
        if reason and any(Path(p).exists() for p in paths):
            for p in paths:
                if Path(p).exists():
                    again.setdefault(p, []).append(sym)
            log.info("%s: re-importing %s: %s", provider, sym, reason)
            report.symbols[sym].reimported = reason
    for path, syms in sorted(again.items()):
        _stored, found = import_source(settings, Path(path), provider=provider, now=now, symbols=syms)
        report.validation.extend(found)


def _damaged_event(
    provider: str, damaged: Mapping[str, str], still: Mapping[str, str], failed: Mapping[str, str]
) -> Event:
    held = sorted(set(still) | (set(damaged) & set(failed)))
    fixed = sorted(set(damaged) - set(held))
    lines = [f"{sym}: {damaged[sym]}" for sym in sorted(damaged)]
    if fixed:
        lines.append(f"Fetched again from {provider}: {', '.join(fixed)}.")
    if held:
        lines.append(f"Held (no bars used, not traded): {', '.join(held)}; fix the provider and rerun with --refresh.")
    return Event(
        kind="data.damaged",
        level=Level.RISK,
        title=f"Damaged cache file(s) for {len(damaged)} symbol(s): never used",
        body="\n".join(lines),
        data={"provider": provider, "damaged": dict(damaged), "held": held, "refetched": fixed},
    )


def _finding_counts(
    findings: Iterable[Any], symbol: str, previous: Mapping[str, Mapping[str, int]] | None = None
) -> dict[str, dict[str, int]]:
    """{"rejected": {rule: n}, "warned": {rule: n}} of ``symbol``, added to ``previous`` counts."""
    out: dict[str, dict[str, int]] = {k: dict(v) for k, v in (previous or {}).items()}
    for f in findings:
        if f.symbol == symbol and f.action in ("rejected", "warned"):
            bucket = out.setdefault(f.action, {})
            bucket[f.rule] = bucket.get(f.rule, 0) + 1
    return out


def _rows_of(raw: Bars, provider: str, group: Iterable[str], a: date, b: date) -> tuple[pd.DataFrame, list[Any]]:
    """The provider's rows for ``group`` in ``[a, b]`` as a long frame, and the reader's findings.

    A provider that read rows the Bars panel cannot hold (two rows for one session) hands them over in
    ``bars.attrs["rows"]`` (and rows it could not read in ``bars.attrs["findings"]``), so a run validates
    exactly what ``data import`` validates.
    """
    from regimeflex.data.validate import Finding

    names = set(group)
    rows = raw.attrs.get("rows") if isinstance(raw, pd.DataFrame) else None
    if isinstance(rows, pd.DataFrame) and set(LONG_COLUMNS) <= set(rows.columns):
        long = rows.loc[:, list(LONG_COLUMNS)].copy()
        long["symbol"] = long["symbol"].astype(str).str.strip().str.upper().astype(object)
        long["date"] = pd.DatetimeIndex(long["date"]).normalize().astype("datetime64[ns]")
    else:
        long = bars_to_long(normalize_bars(raw, where=f"{provider} provide_bars"))
    long = long[long["symbol"].isin(names)]
    long = long[(long["date"] >= pd.Timestamp(a)) & (long["date"] <= pd.Timestamp(b))].reset_index(drop=True)
    found = raw.attrs.get("findings", []) if isinstance(raw, pd.DataFrame) else []
    findings = [f for f in found if isinstance(f, Finding) and (f.symbol in names or f.symbol == "?")]
    return long, findings


def _readjusted(
    cache: BarCache, fetched: pd.DataFrame, group: list[str], overlap: date, manifest: Mapping[str, Coverage]
) -> list[str]:
    out = []
    day = pd.Timestamp(overlap)
    new_close = fetched[fetched["date"] == day].set_index("symbol")["close"]
    for sym in group:
        if sym not in manifest or sym not in new_close.index or manifest[sym].end != overlap:
            continue
        cached = cache.read_symbol(sym)
        old = cached.loc[cached["date"] == day, "close"]
        if len(old) and np.isfinite(old.iloc[0]) and old.iloc[0] != 0:
            if abs(float(new_close[sym]) / float(old.iloc[0]) - 1.0) > ADJUSTMENT_TOLERANCE:
                out.append(sym)
    return out


def _fallback_event(report: DataReport, provider: str, failed: Mapping[str, str], last_day: date) -> None:
    served = {s: report.symbols[s] for s in failed if report.symbols[s].last_bar}
    empty = sorted(s for s in failed if not report.symbols[s].last_bar)
    error = next(iter(failed.values()))
    if not served and empty and all(not st.last_bar for st in report.symbols.values()):
        raise DataError(
            f"data provider {provider} failed ({error}) and the cache has no bars for "
            f"{', '.join(empty)}; nothing to run on. Fix the provider (keys, network) and rerun."
        )
    worst = max((st.stale_sessions or 0 for st in served.values()), default=0)
    oldest = min((st.last_bar for st in served.values() if st.last_bar), default=None)
    lines = [
        f"{provider} failed: {error}",
        f"Using cached bars for {len(served)} symbol(s); the oldest last bar is {oldest}, "
        f"{worst} session(s) stale (wanted {last_day}).",
    ]
    if empty:
        lines.append(f"No cached bars at all for: {', '.join(empty)}.")
    report.events.append(
        Event(
            kind="data.stale",
            level=Level.RISK,
            title=f"Data provider {provider} failed; using the cache",
            body="\n".join(lines),
            data={
                "provider": provider,
                "error": error,
                "stale_sessions": {s: st.stale_sessions for s, st in served.items()},
                "no_data": empty,
            },
        )
    )


def _findings_event(provider: str, validation: ValidationReport) -> Event:
    counts = validation.counts()
    rejected = len(validation.rejected)
    summary = ", ".join(f"{rule} {n}" for rule, n in counts.items())
    return Event(
        kind="data.validation",
        level=Level.RISK if rejected else Level.INFO,
        title=f"Data validation: {rejected} row(s) rejected, {len(validation.findings) - rejected} other finding(s)",
        body=f"{provider}: {summary}. `regimeflex data validate` lists them.",
        data={"counts": counts},
    )


# --------------------------------------------------------------- import


def import_source(
    settings: Settings,
    path: Path,
    *,
    provider: str | None = None,
    now: datetime | None = None,
    symbols: Iterable[str] | None = None,
    prices: str | None = None,
    progress: Callable[[int, Path], None] | None = None,
) -> tuple[list[str], ValidationReport]:
    """Read user CSV files (a file or a folder), validate them and store them in a provider's cache.

    The cache of ``provider`` (default: ``data.yaml: provider``) then serves
    those sessions without asking the vendor. Rows the policy rejects stay
    out; warnings are kept and reported. Returns the symbols stored and the report.
    ``prices`` ("adjusted"/"raw") declares the files' basis, overriding ``providers.csv.prices``;
    ``progress(n_files, file)`` is called before each file is read.
    """
    from regimeflex.data.csvread import read_source, source_files

    now = now or datetime.now(UTC)
    options = csv_options(settings, prices)
    long = read_source(
        Path(path),
        adjusted=settings.data.adjusted,
        settings=options,
        symbols=tuple(symbols) if symbols else None,
        progress=progress,
    )
    if long.empty:
        raise DataError(f"{path}: no rows to import" + (f" for {', '.join(symbols)}" if symbols else ""))
    clean, report = _validate(settings, long, _day(long["date"].min()), _day(long["date"].max()), now)
    cache = open_cache(settings, provider)
    coverage: dict[str, Coverage] = {}
    if not clean.empty:
        spans = clean.groupby("symbol")["date"].agg(["min", "max"])
        files = source_files(Path(path).resolve(), settings=options, symbols=tuple(str(s) for s in spans.index))
        reader = options.model_dump(mode="json", exclude={"path", "actions_path"})
        scanner = SourceScanner("import", settings.data.adjusted, reader, files)
        coverage = {
            str(s): Coverage(
                _day(r["min"]),
                _day(r["max"]),
                settings.data.adjusted,
                now,
                {**scanner.record(str(s)), "import": True},
                findings=_finding_counts(report.findings, str(s)),
            )
            for s, r in spans.iterrows()
        }
    with cache.lock():
        cache.store(clean, coverage, replace={s: (c.start, c.end) for s, c in coverage.items()})
    return sorted(coverage), report


def validate_cache(
    settings: Settings,
    symbols: Iterable[str] | None = None,
    *,
    provider: str | None = None,
    now: datetime | None = None,
) -> ValidationReport:
    """Re-run every rule over what the cache holds (``regimeflex data validate``)."""
    cache = open_cache(settings, provider)
    names = sorted({s.upper() for s in symbols}) if symbols else cache.symbols()
    parts = [cache.read_symbol(s) for s in names]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return ValidationReport()
    long = pd.concat(parts, ignore_index=True)
    _, report = _validate(settings, long, _day(long["date"].min()), _day(long["date"].max()), now)
    return report


def validate_files(
    settings: Settings,
    path: Path,
    *,
    symbols: Iterable[str] | None = None,
    now: datetime | None = None,
    prices: str | None = None,
) -> ValidationReport:
    """Run every rule over user CSV files without storing anything (``data validate --path``)."""
    from regimeflex.data.csvread import read_source

    long = read_source(
        Path(path),
        adjusted=settings.data.adjusted,
        settings=csv_options(settings, prices),
        symbols=tuple(symbols) if symbols else None,
    )
    if long.empty:
        return ValidationReport()
    _, report = _validate(settings, long, _day(long["date"].min()), _day(long["date"].max()), now)
    return report


__all__ = ["DataReport", "SymbolStatus", "import_source", "load_bars", "open_cache", "validate_cache", "validate_files"]
