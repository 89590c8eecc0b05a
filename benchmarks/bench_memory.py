#!/usr/bin/env python3
"""Whole-market backtests in bounded memory (issue 17 part 1): peak RSS / raw bytes of the bars needed.

Builds once (reused) an Arrow cache of 10,000 synthetic symbols × 6,300 sessions (2000-01-04 ..
2024-12-31, the built-in ``synthetic`` provider's own prices, written straight into the cache with
the manifest the provider would record; ~3.0 GB of disk under benchmarks/.cache/memory, ~3 min),
then backtests the first 2,000 and all 10,000 symbols, each in a fresh process (``regimeflex.backtest.run``
on a research config: built-in ``trend`` (close > SMA 200) + ``sleeve`` sizer, ``sleeves: true``,
``rebalance: on_change``, ``chunk_symbols: CHUNK``), and reads the child's peak RSS with os.wait4.
The raw bytes the backtest needs are close (the strategy) and open (next-open fills), float64:
N × 6,300 × 2 × 8. Each figure is reported through targets.record (≤ 2.0×) with its time.
vectorbt runs the same regime-trend on wide parquet panels of the same prices (peers/peer_vectorbt.py)
at each size of VBT_NS (default 2,000 and 10,000) upwards, stopping at the first that fails or whose peak
RSS passes a 12 GB cap (checked after the run; the figure is printed with the note). On the 2-core 24 GB
box it held all 10,000 symbols (9.0 GB, 61 s on 2026-12-02).
Expected duration: ~2 min to build the cache the first time (plus ~2 min for vectorbt's 10,000-symbol panels),
then ~3 min (2,000: ~10 s; 10,000: ~50 s; vectorbt 2,000: ~20 s, 10,000: ~60 s). Knobs: NS ("2000 10000"),
CHUNK (100), VBT (1), VBT_NS ("2000 10000").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from targets import load_average, record  # noqa: E402

CACHE = HERE / ".cache" / "memory"
PY = sys.executable
SESSIONS = 6300
NMAX = 10_000
END = "2024-12-31"
VBT_CAP_MB = 12 * 1024


def symbols(n: int) -> list[str]:
    return [f"S{i:05d}" for i in range(n)]


def build_cache() -> Path:
    """The 10,000-symbol Arrow cache (once): synthetic prices written with the manifest the provider records."""
    root = CACHE / "project"
    if (root / ".ready").exists():
        return root
    import pandas as pd

    from regimeflex.builtins.synthetic import SyntheticSettings, generate
    from regimeflex.data import calendar
    from regimeflex.data.cache import BarCache, Coverage, checksum

    days = calendar.sessions(pd.Timestamp("1999-01-01"), pd.Timestamp(END))[-SESSIONS:]
    start = days[0].date()
    cache = BarCache(root / "data" / "cache", "synthetic", fmt="arrow")
    cache.dir.mkdir(parents=True, exist_ok=True)
    source = {"provider": "synthetic", "adjusted": True, "settings": {"origin": "1990-01-02", "seed": 42}}
    manifest = {}
    names = symbols(NMAX)
    wide: dict[str, list] = {f: [] for f in ("open", "high", "low", "close", "volume")}
    t0 = time.perf_counter()
    for i in range(0, NMAX, 500):
        batch = tuple(names[i : i + 500])
        bars = generate(batch, start, days[-1].date(), SyntheticSettings()).loc[days]
        for s in batch:
            frame = pd.DataFrame({f: bars[f][s].to_numpy() for f in ("open", "high", "low", "close", "volume")})
            frame.insert(0, "date", days.to_numpy())
            data = cache._encode(frame)
            cache.file(s).write_bytes(data)
            manifest[s] = Coverage(start, days[-1].date(), True, None, source, checksum(data), len(frame))
        if i < 2000:  # vectorbt's panels: the first 2,000 symbols
            for f in wide:
                wide[f].append(bars[f])
        print(f"  cache: {i + len(batch)}/{NMAX} symbols ({time.perf_counter() - t0:.0f} s)", flush=True)
    cache._write_manifest(manifest)
    out = CACHE / "peer" / "N2000"
    out.mkdir(parents=True, exist_ok=True)
    for f, parts in wide.items():
        pd.concat(parts, axis=1).rename_axis("date").to_parquet(out / f"{f}.parquet")
    (root / ".ready").write_text("ok\n")
    return root


def peer_panels(root: Path, n: int) -> None:
    """vectorbt's wide parquet panels of the first ``n`` symbols (once), read from the Arrow cache."""
    out = CACHE / "peer" / f"N{n}"
    if (out / "volume.parquet").exists():
        return
    import pandas as pd
    import pyarrow as pa

    fields = ("open", "high", "low", "close", "volume")
    wide: dict[str, dict[str, object]] = {f: {} for f in fields}
    index = None
    for s in symbols(n):
        with pa.memory_map(str(root / "data" / "cache" / "synthetic" / f"{s}.arrow")) as source:
            table = pa.ipc.open_file(source).read_all()
        if index is None:
            index = pd.DatetimeIndex(table.column("date").to_numpy(), name="date")
        for f in fields:
            wide[f][s] = table.column(f).to_numpy()
    out.mkdir(parents=True, exist_ok=True)
    for f in fields:
        pd.DataFrame(wide[f], index=index).to_parquet(out / f"{f}.parquet")
        wide[f].clear()


def write_config(root: Path, n: int, chunk: int) -> Path:
    import pandas as pd

    from regimeflex.data import calendar

    first = calendar.sessions(pd.Timestamp("1999-01-01"), pd.Timestamp(END))[-SESSIONS]
    cfg = CACHE / f"config_{n}"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "run.yaml").write_text(
        f"universe: [{', '.join(symbols(n))}]\nbenchmark: S00000\ninitial_equity: 100000\n"
        f"paths: {{cache_dir: {root / 'data' / 'cache'}}}\n"
        f"backtest:\n  start: {first:%Y-%m-%d}\n  end: {END}\n  warmup_sessions: 0\n  mode: research\n"
        f"  rebalance: on_change\n  sleeves: true\n  breakers: false\n  chunk_symbols: {chunk}\n"
    )
    (cfg / "data.yaml").write_text("provider: synthetic\ncache:\n  format: arrow\n")
    (cfg / "strategies.yaml").write_text(
        "strategies:\n  trend:\n    plugin: trend\n    budget: 1.0\n    params: {rule: price_above_sma, slow: 200}\n"
    )
    (cfg / "risk.yaml").write_text("sizer:\n  plugin: sleeve\nregime:\n  detect: {benchmark: S00000}\n")
    (cfg / "broker.yaml").write_text("broker: paper\nmode: dry_run\n")
    return cfg


CHILD = """
import json, sys, time
t0 = time.perf_counter()
from regimeflex.backtest import run
from regimeflex.config import load_settings
r = run(load_settings(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - t0, "final_equity": r.final_equity, "trades": len(r.trades)}))
"""


def run_child(cmd: list[str], env: dict | None = None) -> tuple[dict, float, float]:
    """Like :func:`measure`, waiting with os.wait4 so the child's own peak RSS is read."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError(f"{' '.join(cmd[-2:])} failed (status {status}): {err.decode()[-1500:]}")
    return json.loads(out.decode().strip().splitlines()[-1]), wall, ru.ru_maxrss / 1024


def main() -> int:
    ns = [int(x) for x in os.environ.get("NS", "2000 10000").split()]
    chunk = int(os.environ.get("CHUNK", "100"))
    print(f"bench_memory: load {load_average()}", flush=True)
    root = build_cache()
    ok = True
    for n in ns:
        cfg = write_config(root, n, chunk)
        rec, wall, peak = run_child([PY, "-c", CHILD, str(cfg)])
        raw_mb = n * SESSIONS * 2 * 8 / 2**20
        ratio = peak / raw_mb
        print(
            f"  regimeflex {n} x {SESSIONS}: {wall:.1f} s, peak RSS {peak:.0f} MB, raw close+open {raw_mb:.0f} MB "
            f"→ {ratio:.2f}x (final equity {rec['final_equity']:.2f}, {rec['trades']} fills)",
            flush=True,
        )
        ok &= record(
            f"backtest peak RSS / raw bars, {n} x {SESSIONS}",
            samples=[ratio],
            target=2.0,
            unit="x",
            detail=f"{peak:.0f} MB for {raw_mb:.0f} MB (close+open, float64); {wall:.0f} s; chunk_symbols {chunk}",
        )
    if os.environ.get("VBT", "1") == "1":
        # the largest size vectorbt holds: tried upwards (VBT_NS), stopping at the first that fails or
        # passes the cap (each size needs its wide parquet panels, built from the same Arrow cache)
        for n in [int(x) for x in os.environ.get("VBT_NS", "2000 10000").split()]:
            peer_panels(root, n)
            env = dict(os.environ, PEERBENCH_DATA=str(CACHE / "peer"))
            try:
                rec, wall, peak = run_child([PY, str(HERE / "peers" / "peer_vectorbt.py"), str(n)], env)
            except RuntimeError as exc:
                print(f"  vectorbt {n} x {SESSIONS}: failed ({exc})", flush=True)
                break
            raw_mb = n * SESSIONS * 2 * 8 / 2**20
            fits = peak <= VBT_CAP_MB
            print(
                f"  vectorbt {n} x {SESSIONS}: {wall:.1f} s whole process (warm call {rec['seconds']:.1f} s), "
                f"peak RSS {peak:.0f} MB → {peak / raw_mb:.2f}x of close+open"
                f"{'' if fits else f' (over the {VBT_CAP_MB} MB cap)'}; final equity {rec['final_equity']:.2f}",
                flush=True,
            )
            if not fits:
                break
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
