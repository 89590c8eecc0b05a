#!/usr/bin/env python3
"""Cache load speed: 500 symbols × 10 years of daily bars from the cache into one Bars panel.

Target (issue 3, issue 17 part 4): RegimeFlex's cache read (``BarCache.load_bars``: one file per
symbol, each file's bytes checked against the manifest's checksum — xxh3-128, printed in the output —
then written into one dates × (field, symbol) float64 panel) takes at most 3× the *fastest*
plain read of the same files, measured in the same run:

* ``pandas.read_csv`` (C engine) of every file,
* ``pandas.read_csv(engine="pyarrow")`` of every file,
* ``pyarrow.csv.read_csv`` of every file (Arrow tables, no pandas at all),

and, for the parquet cache format, ``pyarrow.parquet.read_table`` /
``pyarrow.parquet.ParquetFile.read`` / ``pandas.read_parquet`` of every file, and for
the arrow format ``pyarrow.ipc.open_file(...).read_all()`` on each file's bytes read from disk /
``pyarrow.feather.read_table(memory_map=False)`` (read, not only memory-mapped: a memory map defers
the reading to whoever touches the data, so it is no reference for a load that uses every value).
The references only *read*; ours also aligns every symbol on one date index and builds the panel. The files are
written once by the cache itself (synthetic prices, 2015-01-02 → 2024-12-31,
2,516 sessions) under ``benchmarks/.cache/`` and reused (a manifest written before the checksum algorithm
changed is re-recorded once, through the cache's own next write). References and ours alternate, 5 repetitions;
the figure is the median of the per-repetition ratios (through ``benchmarks/targets.py: record``). About
1–2 minutes on a quiet 2-core machine.

Run: ``.venv/bin/python benchmarks/bench_cache_load.py`` (or ``make bench``).
Exits 1 when a ratio misses the target.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from regimeflex.builtins.synthetic import generate
from regimeflex.data.cache import HASH, BarCache, Coverage
from regimeflex.data.normalize import bars_to_long

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import load_average, record  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE / ".cache" / "bench_cache_load"
N_SYMBOLS, START, END = 500, date(2015, 1, 2), date(2024, 12, 31)
TARGET = 3.0
REPEATS = 5
SYMBOLS = [f"S{i:03d}" for i in range(N_SYMBOLS)]


def build(fmt: str) -> BarCache:
    cache = BarCache(ROOT, f"synthetic-{fmt}", fmt=fmt)
    if len(cache.symbols()) == N_SYMBOLS:
        if any(not (c.checksum or "").startswith(HASH + ":") for c in cache.manifest().values()):
            print(f"re-recording the {fmt} manifest's checksums as {HASH} (once) ...", flush=True)
            with cache.lock():
                cache.touch(SYMBOLS, datetime.now(UTC))  # a manifest write re-records old checksums
        return cache
    print(f"writing {N_SYMBOLS} {fmt} files under {cache.dir} (once) ...", flush=True)
    long = bars_to_long(generate(tuple(SYMBOLS), START, END))
    coverage = {s: Coverage(START, END, True) for s in SYMBOLS}
    with cache.lock():
        cache.store(long, coverage)
    return cache


def csv_references(files: list[Path]) -> dict[str, Callable[[], object]]:
    types = {"date": pa.timestamp("ns"), **{f: pa.float64() for f in ("open", "high", "low", "close", "volume")}}
    opts = pacsv.ConvertOptions(column_types=types)
    return {
        "pandas.read_csv (C engine)": lambda: [pd.read_csv(f) for f in files],
        "pandas.read_csv (pyarrow engine)": lambda: [pd.read_csv(f, engine="pyarrow") for f in files],
        "pyarrow.csv.read_csv": lambda: [pacsv.read_csv(f, convert_options=opts) for f in files],
    }


def parquet_references(files: list[Path]) -> dict[str, Callable[[], object]]:
    return {
        "pandas.read_parquet": lambda: [pd.read_parquet(f) for f in files],
        "pyarrow.parquet.read_table": lambda: [pq.read_table(f) for f in files],
        "pyarrow.parquet.ParquetFile.read": lambda: [pq.ParquetFile(f).read() for f in files],
    }


def arrow_references(files: list[Path]) -> dict[str, Callable[[], object]]:
    # read, not only memory-mapped: a memory map defers the reading to whoever touches the pages, so
    # `open_file(memory_map).read_all()` costs almost nothing and is no reference for a load that uses the data
    return {
        "pyarrow.ipc.open_file(file bytes).read_all": lambda: [
            pa.ipc.open_file(pa.BufferReader(f.read_bytes())).read_all() for f in files
        ],
        "pyarrow.feather.read_table(memory_map=False)": lambda: [
            feather.read_table(f, memory_map=False) for f in files
        ],
    }


REFERENCES = {"csv": csv_references, "parquet": parquet_references, "arrow": arrow_references}


def run(fmt: str) -> bool:
    """Reference reads and ours alternated, ``REPEATS`` times; each repetition's ratio is ours over the
    fastest reference of that repetition. The verdict is on the median ratio."""
    cache = build(fmt)
    files = [cache.file(s) for s in SYMBOLS]
    refs = REFERENCES[fmt](files)
    algorithms = {(c.checksum or "none").partition(":")[0] for c in cache.manifest().values()}
    assert algorithms == {HASH}, algorithms
    panel = cache.load_bars(SYMBOLS, START, END)
    assert panel.shape == (2516, 5 * N_SYMBOLS) and not panel.isna().any().any(), panel.shape
    ref_times: dict[str, list[float]] = {name: [] for name in refs}
    ours: list[float] = []
    ratios: list[float] = []
    for _ in range(REPEATS):
        for name, fn in refs.items():
            ref_times[name].append(timed(fn))
        ours.append(timed(lambda: cache.load_bars(SYMBOLS, START, END)))
        ratios.append(ours[-1] / min(times[-1] for times in ref_times.values()))
    for name, times in sorted(ref_times.items(), key=lambda kv: statistics.median(kv[1])):
        print(
            f"  {fmt:7s} reference {name:44s} median {statistics.median(times) * 1000:6.0f} ms "
            f"({min(times) * 1000:.0f}–{max(times) * 1000:.0f})"
        )
    print(
        f"  {fmt:7s} RegimeFlex BarCache.load_bars -> Bars{'':17s} median {statistics.median(ours) * 1000:6.0f} ms "
        f"({min(ours) * 1000:.0f}–{max(ours) * 1000:.0f})"
    )
    fastest = min(ref_times, key=lambda k: statistics.median(ref_times[k]))
    return record(
        f"cache load ({fmt}) vs plain read",
        samples=ratios,
        target=TARGET,
        detail=f"ours {statistics.median(ours) * 1000:.0f} ms vs {fastest} "
        f"{statistics.median(ref_times[fastest]) * 1000:.0f} ms, {N_SYMBOLS} files, checksum {HASH}",
    )


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    print(
        f"bench_cache_load: {N_SYMBOLS} symbols × {START} → {END}, {REPEATS} alternated repetitions; "
        f"every file checked against its {HASH} checksum; load {load_average()}"
    )
    ok = True
    for fmt in REFERENCES:
        ok &= run(fmt)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
