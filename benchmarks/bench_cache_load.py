#!/usr/bin/env python3
"""Cache load speed: 500 symbols × 10 years of daily bars from the cache into one Bars panel.

Target (issue 3): RegimeFlex's cache read (``BarCache.load_bars``: one file per
symbol → dates × (field, symbol) float64 panel) takes at most 3× the *fastest*
plain read of the same files, measured in the same run:

* ``pandas.read_csv`` (C engine) of every file,
* ``pandas.read_csv(engine="pyarrow")`` of every file,
* ``pyarrow.csv.read_csv`` of every file (Arrow tables, no pandas at all),

and, for the parquet cache format, ``pyarrow.parquet.read_table`` /
``pyarrow.parquet.ParquetFile.read`` / ``pandas.read_parquet`` of every file, and for
the arrow format ``pyarrow.ipc`` (memory-mapped) / ``pyarrow.feather.read_table``.
The references only *read*; ours also aligns every symbol on one date index and builds the panel. The files are
written once by the cache itself (synthetic prices, 2015-01-02 → 2024-12-31,
2,516 sessions) under ``benchmarks/.cache/`` and reused. Best of 5 runs each.

Run: ``.venv/bin/python benchmarks/bench_cache_load.py`` (or ``make bench``).
Exits 1 when a ratio misses the target.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from regimeflex.builtins.synthetic import generate
from regimeflex.data.cache import BarCache, Coverage
from regimeflex.data.normalize import bars_to_long

HERE = Path(__file__).resolve().parent
ROOT = HERE / ".cache" / "bench_cache_load"
N_SYMBOLS, START, END = 500, date(2015, 1, 2), date(2024, 12, 31)
TARGET = 3.0
REPEATS = 5
SYMBOLS = [f"S{i:03d}" for i in range(N_SYMBOLS)]


def build(fmt: str) -> BarCache:
    cache = BarCache(ROOT, f"synthetic-{fmt}", fmt=fmt)
    if len(cache.symbols()) == N_SYMBOLS:
        return cache
    print(f"writing {N_SYMBOLS} {fmt} files under {cache.dir} (once) ...", flush=True)
    long = bars_to_long(generate(tuple(SYMBOLS), START, END))
    coverage = {s: Coverage(START, END, True) for s in SYMBOLS}
    with cache.lock():
        cache.store(long, coverage)
    return cache


def best(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


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
    def read_all(f: Path) -> pa.Table:
        with pa.memory_map(str(f)) as source:
            return pa.ipc.open_file(source).read_all()

    return {
        "pyarrow.ipc.open_file(memory_map).read_all": lambda: [read_all(f) for f in files],
        "pyarrow.feather.read_table": lambda: [feather.read_table(f) for f in files],
    }


REFERENCES = {"csv": csv_references, "parquet": parquet_references, "arrow": arrow_references}


def run(fmt: str) -> tuple[float, float, str, float]:
    cache = build(fmt)
    files = [cache.file(s) for s in SYMBOLS]
    refs = REFERENCES[fmt](files)
    ref_times = {name: best(fn) for name, fn in refs.items()}
    panel = cache.load_bars(SYMBOLS, START, END)
    assert panel.shape == (2516, 5 * N_SYMBOLS) and not panel.isna().any().any(), panel.shape
    ours = best(lambda: cache.load_bars(SYMBOLS, START, END))
    fastest_name = min(ref_times, key=ref_times.get)
    fastest = ref_times[fastest_name]
    for name, seconds in sorted(ref_times.items(), key=lambda kv: kv[1]):
        print(f"  {fmt:7s} reference {name:34s} {seconds * 1000:8.0f} ms")
    print(f"  {fmt:7s} RegimeFlex BarCache.load_bars -> Bars     {ours * 1000:8.0f} ms")
    return ours, fastest, fastest_name, ours / fastest


def main() -> int:
    print(f"bench_cache_load: {N_SYMBOLS} symbols × {START} → {END}, best of {REPEATS}")
    failed = False
    for fmt in REFERENCES:
        ours, fastest, name, ratio = run(fmt)
        verdict = "OK" if ratio <= TARGET else "MISSED"
        failed |= ratio > TARGET
        print(
            f"{fmt}: {ratio:.2f}× the fastest plain read ({name}: {fastest * 1000:.0f} ms; "
            f"ours {ours * 1000:.0f} ms); target ≤ {TARGET:.1f}× → {verdict}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
