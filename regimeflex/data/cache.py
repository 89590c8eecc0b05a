"""The bar cache: ``<cache_dir>/<provider>/<SYMBOL>.csv`` (or ``.parquet``, ``.arrow``) plus a manifest.

Owns storing validated bars on disk and reading them back fast. One folder
per provider, so one provider failing can never touch another's files; one
file per symbol (columns ``date,open,high,low,close,volume``) that a user
can open; and ``_manifest.json`` recording, per symbol, the session range
that was *asked of the provider* (so sessions it had no bar for are not
asked again), whether prices are adjusted, where the rows came from (the
provider settings that change values and, for files, each source file's
path, size, mtime and SHA-256, so a changed source is noticed), the
checksum of the cache file itself (xxh3-128, recorded with its algorithm
name; checked on every read, so a damaged or edited cache file is never
used), and when the symbol was last used (for
cleanup). Every write goes to a temp file in the same folder that
is fsynced and renamed over the old one, under an exclusive lock file, so a
crash or a second process never leaves a half-written file. Readers need no
lock: a rename is atomic.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.data.normalize import LONG_COLUMNS
from regimeflex.errors import DataError
from regimeflex.fsio import LockHeld, atomic_write_bytes, exclusive_lock, writing
from regimeflex.log import get_logger
from regimeflex.types import BAR_FIELDS, Bars, empty_bars

log = get_logger("data.cache")

MANIFEST = "_manifest.json"
LOCK = ".lock"
SUFFIX = {"csv": ".csv", "parquet": ".parquet", "arrow": ".arrow"}


@dataclass(frozen=True)
class Coverage:
    """The sessions of one symbol the provider has been asked for, on what price basis, from what source.

    ``source`` is what the rows depend on (``{"provider", "adjusted", "settings", "files": [{"path",
    "size", "mtime_ns", "sha256"}]}``, see :mod:`regimeflex.data.provenance`); ``checksum`` is the
    checksum of the cache file as written (``"xxh3_128:<hex>"``, see :func:`checksum`; a bare hex is an
    older SHA-256) and ``rows`` its row count. Entries written before these were
    recorded have them as None.
    """

    start: date
    end: date
    adjusted: bool
    used: datetime | None = None
    source: Mapping[str, Any] | None = None
    checksum: str | None = None
    rows: int | None = None
    findings: Mapping[str, Mapping[str, int]] | None = None  # {"rejected": {rule: n}, "warned": {rule: n}}

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "adjusted": self.adjusted,
            "used": self.used.isoformat() if self.used else None,
            "source": dict(self.source) if self.source is not None else None,
            "checksum": self.checksum,
            "rows": self.rows,
            "findings": {k: dict(v) for k, v in self.findings.items()} if self.findings else None,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Coverage:
        used = raw.get("used")
        return cls(
            date.fromisoformat(raw["start"]),
            date.fromisoformat(raw["end"]),
            bool(raw["adjusted"]),
            datetime.fromisoformat(used) if used else None,
            raw.get("source"),
            raw.get("checksum"),
            raw.get("rows"),
            raw.get("findings"),
        )

    def replace(self, **changes: Any) -> Coverage:
        return dataclasses.replace(self, **changes)


class DamagedCacheFile(DataError):
    """A cache file that cannot be parsed or whose bytes differ from the checksum in the manifest."""

    def __init__(self, symbol: str, path: Path, reason: str) -> None:
        super().__init__(
            f"cache file {path} is damaged ({reason}); it is not used. "
            f"`regimeflex backtest --refresh` / `run --refresh` / `data fetch --refresh` re-fetches it"
        )
        self.symbol = symbol
        self.path = path
        self.reason = reason


#: The checksum of new manifest entries, written as ``"xxh3_128:<32 hex>"``. Every read checks it, so it must
#: cost little next to the read: xxh3-128 hashes at memory speed (~3 ms for the 50 MB of a 500-symbol ×
#: 10-year Arrow cache, where SHA-256 took ~100 ms, twice the read itself). It catches damage and edits (a
#: close ×10) as surely; like SHA-256 next to the file, it is no defence against someone who can also
#: rewrite the manifest.
HASH = "xxh3_128"


def _xxh3_128(data: bytes) -> str:
    try:
        import xxhash
    except ImportError:  # an environment installed before this dependency was added
        raise DataError(
            "the cache checksum needs the Python package `xxhash` (a regimeflex dependency); "
            "run `make install` or `pip install xxhash`"
        ) from None
    return str(xxhash.xxh3_128_hexdigest(data))


def checksum(data: bytes) -> str:
    """The checksum the manifest records for a cache file's bytes: ``"xxh3_128:<hex>"``."""
    return f"{HASH}:{_xxh3_128(data)}"


def verify(data: bytes, recorded: str) -> bool | None:
    """Whether ``data`` matches a checksum the manifest recorded; None for an algorithm this version does
    not know. A bare 64-hex value is the SHA-256 written before the algorithm was recorded (still checked
    as SHA-256; the next manifest write re-records it, see :meth:`BarCache._upgrade`)."""
    algorithm, sep, digest = recorded.partition(":")
    if not sep:
        algorithm, digest = "sha256", recorded
    if algorithm == HASH:
        return _xxh3_128(data) == digest
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest() == digest
    return None


def _day(ts: Any) -> date:
    return pd.Timestamp(ts).date()


def _panel(cube: np.ndarray, symbols: list[str], index: np.ndarray) -> Bars:
    """The Bars frame over a fields × symbols × dates array, without a copy."""
    columns = pd.MultiIndex.from_product([list(BAR_FIELDS), symbols], names=["field", "symbol"])
    # (fields·symbols, dates) C-order transposed is the (dates, columns) F-order block pandas stores
    return pd.DataFrame(
        cube.reshape(len(columns), len(index)).T,
        index=pd.DatetimeIndex(index, name="date"),
        columns=columns,
        copy=False,
    )


class BarCache:
    """One provider's cache folder."""

    def __init__(self, root: Path, provider: str, *, fmt: str = "csv", lock_timeout: float = 30.0) -> None:
        if fmt not in SUFFIX:
            raise DataError(f"cache format {fmt!r} is not supported; use {', '.join(SUFFIX)}")
        self.dir = Path(root) / provider
        self.provider = provider
        self.fmt = fmt
        self.lock_timeout = lock_timeout
        self._parsed: tuple[tuple[int, int, int], dict[str, Coverage]] | None = None
        # symbol -> (its old SHA-256 entry, the new checksum) for files read and verified by this process
        self._verified: dict[str, tuple[str, str]] = {}

    # ------------------------------------------------------------ paths

    def file(self, symbol: str) -> Path:
        return self.dir / f"{symbol.upper()}{SUFFIX[self.fmt]}"

    def symbols(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.stem for p in self.dir.glob(f"*{SUFFIX[self.fmt]}") if not p.name.startswith("."))

    # --------------------------------------------------------- manifest

    def manifest(self) -> dict[str, Coverage]:
        """Per symbol, what the cache holds (a fresh dict; the entries are immutable).

        Parsed once per version of the file: a run asks several times, and at 5,000 symbols each
        parse costs ~0.1 s. The version is the file's inode, size and mtime — every write is an
        atomic rename, so a changed manifest is a new inode.
        """
        path = self.dir / MANIFEST
        try:
            st = path.stat()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("cache manifest %s is unreadable (%s); treating the cache as empty", path, exc)
            return {}
        version = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._parsed is not None and self._parsed[0] == version:
            return dict(self._parsed[1])
        try:
            raw = json.loads(path.read_bytes())
            parsed = {sym: Coverage.from_json(cov) for sym, cov in raw.get("symbols", {}).items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A damaged manifest only costs a re-fetch; the bar files themselves are intact.
            log.warning("cache manifest %s is unreadable (%s); treating the cache as empty", path, exc)
            return {}
        self._parsed = (version, parsed)
        return dict(parsed)

    def _upgrade(self, manifest: dict[str, Coverage]) -> None:
        """Re-record, in place, the checksums written with an older algorithm (bare SHA-256) as :data:`HASH`
        ones, each only after its file matched the old one (a damaged file keeps its old checksum, so the
        next read still refuses it). Files this process already read and verified are not read again."""
        for symbol, cov in manifest.items():
            old = cov.checksum
            if old is None or old.startswith(HASH + ":"):
                continue
            known = self._verified.get(symbol)
            if known is not None and known[0] == old:
                manifest[symbol] = cov.replace(checksum=known[1])
                continue
            try:
                data = self.file(symbol).read_bytes()
            except OSError:
                continue
            if verify(data, old):
                manifest[symbol] = cov.replace(checksum=checksum(data))
        self._verified.clear()

    def _write_manifest(self, manifest: Mapping[str, Coverage]) -> None:
        manifest = dict(manifest)
        self._upgrade(manifest)
        # one line per symbol, each encoded by json's C encoder (``indent`` would switch to the pure-Python
        # one: 0.6 s for 5,000 symbols); still one JSON document a person can read and diff
        head = json.dumps({"version": 2, "provider": self.provider})[:-1]
        lines = [f"{json.dumps(s)}: {json.dumps(c.as_json())}" for s, c in sorted(manifest.items())]
        text = head + ', "symbols": {\n' + ",\n".join(lines) + "\n}}\n"
        with writing(self.dir, "cache"):
            atomic_write_bytes(self.dir / MANIFEST, text.encode())

    # ------------------------------------------------------------- lock

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock on the provider folder (waits up to ``lock_timeout`` seconds)."""
        lock = exclusive_lock(self.dir / LOCK, timeout=self.lock_timeout)
        try:
            with writing(self.dir, "cache"):  # a full or read-only disk names the cache, not a bug
                self.dir.mkdir(parents=True, exist_ok=True)
                lock.__enter__()
        except LockHeld as held:
            raise DataError(
                f"cache {self.dir} is locked by {held.holder} for more than {self.lock_timeout:g}s; "
                f"wait for it to finish or raise data.yaml cache.lock_timeout"
            ) from None
        try:
            for stale in self.dir.glob(".*.tmp"):  # left by a crashed writer; we hold the lock
                with contextlib.suppress(OSError):
                    stale.unlink()
            yield
        finally:
            lock.__exit__(None, None, None)

    # ------------------------------------------------------------- read

    def read_symbol(self, symbol: str, manifest: Mapping[str, Coverage] | None = None) -> pd.DataFrame:
        """One symbol's cached rows as a long frame (empty when not cached).

        :raises DamagedCacheFile: the file cannot be parsed or differs from its manifest checksum.
        """
        manifest = self.manifest() if manifest is None else manifest
        cov = manifest.get(symbol.upper())
        dates, values = self._read_arrays(self.file(symbol), symbol.upper(), cov.checksum if cov else None)
        if dates is None or values is None:
            return pd.DataFrame(
                {
                    c: pd.Series(dtype="datetime64[ns]" if c == "date" else object if c == "symbol" else "float64")
                    for c in LONG_COLUMNS
                }
            )
        frame = pd.DataFrame(values.T, columns=list(BAR_FIELDS))
        frame.insert(0, "symbol", symbol.upper())
        frame.insert(0, "date", dates)
        frame["symbol"] = frame["symbol"].astype(object)
        return frame

    def _read_arrays(
        self, path: Path, symbol: str = "", expected: str | None = None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(dates as datetime64[ns], 5×n float64 values, one row per field) of one file, or (None, None).

        The file is read once; its checksum is compared with ``expected`` (the manifest's) before anything
        is parsed. A mismatch or a parse failure raises :class:`DamagedCacheFile`.
        """
        got = self._read_columns(path, symbol or path.stem, expected)
        if got is None:
            return None, None
        dates, columns = got
        return dates.copy(), np.array(columns, dtype=np.float64)

    def _read_columns(
        self, path: Path, symbol: str, expected: str | None
    ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """(dates as datetime64[ns], [open, high, low, close, volume] as float64) of one file, or None when
        there is no file. One open and one read of the file: its bytes are checked against ``expected``
        (:func:`verify`) and parsed from that same buffer; for Arrow files the arrays are views into it.

        :raises DamagedCacheFile: the bytes differ from the manifest's checksum or cannot be parsed.
        """
        try:
            with open(path, "rb", buffering=0) as handle:  # unbuffered: one read of the whole file
                data = handle.readall()
        except FileNotFoundError:
            return None
        if expected is not None:
            match = verify(data, expected)
            if match is None:
                algorithm = expected.partition(":")[0]
                raise DamagedCacheFile(symbol, path, f"its checksum algorithm {algorithm!r} is unknown")
            if not match:
                raise DamagedCacheFile(symbol, path, "its bytes differ from the checksum in the manifest")
            if not expected.startswith(HASH + ":"):
                self._verified[symbol] = (expected, checksum(data))  # re-recorded by the next manifest write
        try:
            return self._parse(data)
        except Exception as exc:  # pyarrow raises its own error types for damaged files
            raise DamagedCacheFile(symbol, path, f"{type(exc).__name__}: {exc}") from None

    def _parse(self, data: bytes) -> tuple[np.ndarray, list[np.ndarray]]:
        import pyarrow as pa

        if self.fmt == "arrow":
            # Arrow IPC from memory: no decoding at all, the arrays are views into ``data``
            reader = pa.ipc.open_file(pa.py_buffer(data))
            batch = reader.get_batch(0) if reader.num_record_batches == 1 else reader.read_all()
        elif self.fmt == "parquet":
            import pyarrow.parquet as pq

            # ParquetFile.read, not read_table: read_table goes through the dataset API,
            # which costs more than the read itself on a 2,500-row file (bench_cache_load.py)
            batch = pq.ParquetFile(pa.BufferReader(data)).read(columns=["date", *BAR_FIELDS], use_threads=False)
        else:
            import pyarrow.csv as pacsv

            types = {"date": pa.timestamp("ns"), **{f: pa.float64() for f in BAR_FIELDS}}
            batch = pacsv.read_csv(pa.BufferReader(data), convert_options=pacsv.ConvertOptions(column_types=types))
        dates = batch.column("date").to_numpy().astype("datetime64[ns]", copy=False)
        columns = []
        for f in BAR_FIELDS:
            column = batch.column(f)
            if column.type != pa.float64():
                column = column.cast(pa.float64())
            columns.append(column.to_numpy(zero_copy_only=False))  # nulls become NaN
        return dates, columns

    def load_bars(
        self,
        symbols: Iterable[str],
        start: date | None = None,
        end: date | None = None,
        *,
        damaged: dict[str, str] | None = None,
    ) -> Bars:
        """The cached Bars of ``symbols`` between ``start`` and ``end`` (all NaN columns for uncached ones).

        This is the hot path of every run and backtest: each file is opened and
        read once, its bytes checked against the manifest's checksum and parsed
        from that same buffer, and its values written straight into a fields ×
        symbols × dates array laid out as pandas keeps a float block (so the frame
        wraps it without a copy). No file is held next to the panel: the
        sessions of the file with the most rows (the manifest's count) are read
        first and become the index; a file with sessions that index lacks (rare:
        a symbol trading on a day the longest history has no bar for) is held
        until the end, when the index grows to the union once.

        :param damaged: when given, a damaged file leaves its symbol all-NaN and is
            recorded here (symbol → reason) instead of raising :class:`DamagedCacheFile`.
        """
        wanted = sorted({s.upper() for s in symbols})
        manifest = self.manifest()
        lo = np.datetime64(pd.Timestamp(start), "ns") if start else None
        hi = np.datetime64(pd.Timestamp(end), "ns") if end else None
        rows = [(c.rows or 0) if (c := manifest.get(s)) is not None else 0 for s in wanted]
        order = sorted(range(len(wanted)), key=rows.__getitem__, reverse=True)  # stable: ties keep their order
        n_fields = len(BAR_FIELDS)
        cube: np.ndarray | None = None
        index = np.empty(0, dtype="datetime64[ns]")
        filled = np.zeros(len(wanted), dtype=bool)
        held: list[tuple[int, np.ndarray, np.ndarray]] = []  # files with sessions the index lacks
        for j in order:
            symbol = wanted[j]
            cov = manifest.get(symbol)
            try:
                got = self._read_columns(self.file(symbol), symbol, cov.checksum if cov else None)
            except DamagedCacheFile as exc:
                if damaged is None:
                    raise
                damaged[symbol] = exc.reason
                continue
            if got is None:
                continue
            dates, columns = got
            if not len(dates):
                continue
            if (lo is not None and dates[0] < lo) or (hi is not None and dates[-1] > hi):
                a = 0 if lo is None else int(np.searchsorted(dates, lo, side="left"))
                b = len(dates) if hi is None else int(np.searchsorted(dates, hi, side="right"))
                if b <= a:
                    continue
                dates, columns = dates[a:b], [c[a:b] for c in columns]
            if cube is None:
                # np.empty, not np.full: each symbol's slice is written once (values, or NaN then values)
                index = dates.copy()
                cube = np.empty((n_fields, len(wanted), len(index)))
            if len(dates) == len(index) and np.array_equal(dates, index):  # the common case: the same sessions
                for i, column in enumerate(columns):
                    cube[i, j] = column
            else:
                pos = np.searchsorted(index, dates)
                if pos[-1] >= len(index) or not np.array_equal(index[pos], dates):
                    held.append((j, dates.copy(), np.array(columns, dtype=np.float64)))
                    continue
                cube[:, j] = np.nan
                for i, column in enumerate(columns):
                    cube[i, j, pos] = column
            filled[j] = True
            del dates, columns
        if cube is None:
            return empty_bars(tuple(wanted))
        cube[:, ~filled] = np.nan
        if held:
            union = np.unique(np.concatenate([index, *(d for _, d, _ in held)]))
            grown = np.empty((n_fields, len(wanted), len(union)))
            at = np.searchsorted(union, index)
            missing = np.ones(len(union), dtype=bool)
            missing[at] = False
            grown[:, :, missing] = np.nan
            grown[:, :, at] = cube
            del cube
            for j, dates, values in held:
                grown[:, j, np.searchsorted(union, dates)] = values
            cube, index = grown, union
        return _panel(cube, wanted, index)

    # ------------------------------------------------------------ write

    def _encode(self, frame: pd.DataFrame) -> bytes:
        table = frame.loc[:, ["date", *BAR_FIELDS]].reset_index(drop=True)
        if self.fmt == "parquet":
            import io

            buffer = io.BytesIO()
            table.to_parquet(buffer, index=False)
            return buffer.getvalue()
        if self.fmt == "arrow":
            import pyarrow as pa

            arrow = pa.Table.from_pandas(table, preserve_index=False).replace_schema_metadata(None)
            sink = pa.BufferOutputStream()
            with pa.ipc.new_file(sink, arrow.schema) as writer:
                writer.write_table(arrow)
            return sink.getvalue().to_pybytes()
        table = table.assign(date=pd.DatetimeIndex(table["date"]).strftime("%Y-%m-%d"))
        return table.to_csv(index=False, lineterminator="\n").encode()

    def store(
        self,
        long: pd.DataFrame,
        coverage: Mapping[str, Coverage],
        *,
        replace: Mapping[str, tuple[date, date] | None] | None = None,
    ) -> list[str]:
        """Merge validated rows into the cache and record coverage and checksums; call inside :meth:`lock`.

        ``replace[symbol] = (start, end)`` drops the symbol's cached rows in that
        range before merging (a re-fetch is the new truth for it); ``None``
        replaces the whole file. A cached file that is damaged (unparseable or
        not matching its checksum) is never merged: its rows are dropped, the
        symbol's coverage shrinks to the new rows, and the symbol is returned
        so the caller can fetch its whole history again.
        """
        with writing(self.dir, "cache"):
            self.dir.mkdir(parents=True, exist_ok=True)
        replace = replace or {}
        manifest = self.manifest()
        dropped: list[str] = []
        groups = {str(s): g for s, g in long.groupby("symbol", sort=True)} if not long.empty else {}
        for symbol in sorted(set(groups) | set(coverage)):
            new = groups.get(symbol)
            cov = coverage.get(symbol)
            if symbol in replace and replace[symbol] is None:
                old = None
            else:
                try:
                    old = self.read_symbol(symbol, manifest)
                except DamagedCacheFile as exc:
                    log.warning("%s; dropping its rows", exc)
                    dropped.append(symbol)
                    old = None
                    if cov is not None:
                        if new is None or new.empty:
                            cov = None
                        else:
                            cov = cov.replace(start=_day(new["date"].min()), end=max(cov.end, _day(new["date"].max())))
                    manifest.pop(symbol, None)
                if old is not None and symbol in replace:
                    span = replace[symbol]
                    assert span is not None
                    lo, hi = (pd.Timestamp(d) for d in span)
                    old = old[(old["date"] < lo) | (old["date"] > hi)]
            frames = [f for f in (old, new) if f is not None and not f.empty]
            written: tuple[str, int] | None = None
            if frames:
                merged = pd.concat(frames, ignore_index=True)
                merged = merged.drop_duplicates(subset=["date"], keep="last").sort_values("date")
                data = self._encode(merged)
                with writing(self.dir, "cache"):
                    atomic_write_bytes(self.file(symbol), data)
                written = (checksum(data), len(merged))
            elif symbol in replace and replace[symbol] is None or symbol in dropped:
                with contextlib.suppress(FileNotFoundError):
                    self.file(symbol).unlink()
            entry = cov if cov is not None else (manifest.get(symbol) if symbol not in dropped else None)
            if entry is not None and written is not None:
                entry = entry.replace(checksum=written[0], rows=written[1])
            elif entry is not None and not frames:
                entry = None  # never claim a range covered with zero rows
            if entry is not None:
                manifest[symbol] = entry
            elif symbol in coverage or symbol in dropped:
                manifest.pop(symbol, None)
        self._write_manifest(manifest)
        return dropped

    def touch(
        self, symbols: Iterable[str], when: datetime, *, sources: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        """Record that ``symbols`` were used (for ``max_unused_days`` cleanup) and, for those in
        ``sources``, their source's current file stats; call inside :meth:`lock`."""
        manifest = self.manifest()
        changed = False
        sources = sources or {}
        for s in symbols:
            if s in manifest:
                manifest[s] = manifest[s].replace(used=when)
                if s in sources and manifest[s].source is not None:
                    manifest[s] = manifest[s].replace(source=dict(sources[s]))
                changed = True
        if changed:
            self._write_manifest(manifest)

    def cleanup(
        self, *, max_symbols: int | None, max_unused_days: int | None, now: datetime, keep: Iterable[str] = ()
    ) -> list[str]:
        """Remove symbols unused for too long, then the least recently used beyond ``max_symbols``.

        Symbols in ``keep`` (the current request) are never removed. Call inside :meth:`lock`.
        """
        manifest = self.manifest()
        keep_set = {k.upper() for k in keep}
        on_disk = set(self.symbols()) | set(manifest)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)

        def used(sym: str) -> datetime:
            cov = manifest.get(sym)
            stamp = cov.used if cov and cov.used else epoch
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)

        doomed: set[str] = set()
        if max_unused_days is not None:
            doomed |= {s for s in on_disk - keep_set if (now - used(s)).days >= max_unused_days}
        if max_symbols is not None:
            survivors = sorted(on_disk - doomed, key=lambda s: (s in keep_set, used(s), s))
            excess = len(survivors) - max_symbols
            doomed |= {s for s in survivors[: max(excess, 0)] if s not in keep_set}
        for sym in sorted(doomed):
            with contextlib.suppress(FileNotFoundError):
                self.file(sym).unlink()
            manifest.pop(sym, None)
        if doomed:
            self._write_manifest(manifest)
            log.info(
                "cache %s: removed %d symbol(s) by the configured limits: %s",
                self.dir,
                len(doomed),
                ", ".join(sorted(doomed)),
            )
        return sorted(doomed)

    # ------------------------------------------------------------- info

    def info(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Per cached symbol: first/last date, rows, covered range, staleness in sessions."""
        from regimeflex.data import calendar

        manifest = self.manifest()
        last_done = calendar.last_completed_session(now)
        rows = []
        for sym in sorted(set(self.symbols()) | set(manifest)):
            cov = manifest.get(sym)
            try:
                dates, _ = self._read_arrays(self.file(sym), sym, cov.checksum if cov else None)
                damage = None
            except DamagedCacheFile as exc:
                dates, damage = None, exc.reason
            first = pd.Timestamp(dates[0]).date() if dates is not None and len(dates) else None
            last = pd.Timestamp(dates[-1]).date() if dates is not None and len(dates) else None
            rows.append(
                {
                    "symbol": sym,
                    "first": first,
                    "last": last,
                    "rows": int(len(dates)) if dates is not None else 0,
                    "covered_to": cov.end if cov else None,
                    "adjusted": cov.adjusted if cov else None,
                    "stale_sessions": calendar.sessions_after(last, last_done) if last else None,
                    "damaged": damage,
                }
            )
        return rows
