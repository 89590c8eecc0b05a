#!/usr/bin/env python3
"""The daily run at scale: a whole dry-run ``regimeflex run`` process over 6, 500 and 5,000 symbols.

Targets (issue #17 part 3), each a median over ``REPS`` runs of a fresh process on a warm Arrow cache:

* 5,000 symbols: wall time ≤ 3 s and peak RSS ≤ 1.5 GB (1,536 MB);
* 500 symbols: wall time ≤ 1.2 s;
* figures only: each size's wall time as a ratio to the 6-symbol run of the same repetition (runs interleaved).

Each project (``benchmarks/.cache/daily_run/N<n>/``, built once and reused) is the shape a user with a
data vendor has after the first day: ``data.yaml`` with ``cache.format: arrow`` whose cache already holds
every symbol's bars up to the session (synthetic random walks stored through ``BarCache.store``, so they
carry the manifest, checksums and coverage a fetch writes), the built-in ``trend`` strategy (close above
SMA 200) with ``equal_weight`` sizing (``max_weight`` 1/N·2), ``history_sessions: 300``, broker ``paper`` in
``mode: dry_run`` with ``orders.min_weight_change: 0.0001`` (so every held name gets its order: about half the universe) (the default: plans, records intents, sends nothing), and the ledger, state and reports of
one earlier run (the session before) so that day two is measured: ledger verified before acting, positions
from the ledger, breakers with the previous close, stale checks, orders planned against the book, the daily
HTML report. Before each repetition those three folders are put back as they were, so every repetition is the
same run. The user's XNYS session table and compiled report templates (``~/.cache/regimeflex``) are built by the warm-up
run, and the package's bytecode is compiled first (``compileall``), as a pip install leaves it.

Timed as a whole process: ``os.wait4`` gives the child's peak RSS (``ru_maxrss``) and the wall time is
``perf_counter`` around spawn → exit. The machine is shared: medians with min–max and the load average.

Run: ``.venv/bin/python benchmarks/bench_daily_run.py`` (about 2 minutes on a quiet 2-core machine the first
time, building the 5,000-symbol cache; about 1 minute after). Knobs: ``REPS`` (default 5), ``NS`` (default
``6,500,5000``). Exits 1 when a target is missed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from targets import load_average, record  # noqa: E402

ROOT = HERE / ".cache" / "daily_run"
PY = sys.executable
CLI = [str(Path(PY).parent / "regimeflex")]  # the console script a user (or cron) runs
#: The session measured and the one before it (the warm-up run that leaves day one's ledger and book).
SESSION, PREVIOUS = "2024-06-28", "2024-06-27"
CACHE_START, CACHE_END = date(2023, 1, 3), date(2024, 6, 28)
REPS = int(os.environ.get("REPS", "5"))
NS = [int(n) for n in os.environ.get("NS", "6,500,5000").split(",")]
OUTPUTS = ("logs", "state", "reports")


def symbols(n: int) -> list[str]:
    """``n`` distinct ticker-like names: AAA, AAB, ... (letters only, like real US tickers)."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = []
    for i in range(n):
        a, rest = divmod(i, 26 * 26)
        b, c = divmod(rest, 26)
        out.append(letters[a] + letters[b] + letters[c])
    return out


def synthetic_long(names: list[str], seed: int = 17):  # -> pandas.DataFrame (the cache's long frame)
    """Random-walk OHLCV for ``names`` on every XNYS session of the cache range, as the canonical long frame."""
    import numpy as np
    import pandas as pd

    from regimeflex.data.calendar import sessions

    days = sessions(CACHE_START, CACHE_END)
    rng = np.random.default_rng(seed)
    n, m = len(days), len(names)
    drift = rng.normal(0.0003, 0.0004, m)
    vol = rng.uniform(0.008, 0.025, m)
    close = rng.uniform(20, 300, m) * np.exp(np.cumsum(drift + vol * rng.standard_normal((n, m)), axis=0))
    open_ = close * np.exp(0.3 * vol * rng.standard_normal((n, m)))
    high = np.maximum(open_, close) * (1 + vol * np.abs(rng.standard_normal((n, m))) * 0.5)
    low = np.minimum(open_, close) * (1 - vol * np.abs(rng.standard_normal((n, m))) * 0.5)
    volume = np.round(rng.uniform(5e5, 2e7, m) * np.exp(0.3 * rng.standard_normal((n, m))))
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return pd.DataFrame(
        {
            "date": np.repeat(days.to_numpy(), m),
            "symbol": np.tile(np.array(names, dtype=object), n),
            **{f: np.round(v, 4).ravel() if f != "volume" else v.ravel() for f, v in fields.items()},
        }
    )


def build(n: int) -> Path:
    """The project for ``n`` symbols (once), with the warm-up run's outputs saved under ``day1/``."""
    project = ROOT / f"N{n}"
    if (project / ".ready").exists():
        return project
    shutil.rmtree(project, ignore_errors=True)
    config = project / "config"
    config.mkdir(parents=True)
    names = symbols(n)
    (config / "run.yaml").write_text(
        f"universe: [{', '.join(names)}]\nbenchmark: {names[0]}\nhistory_sessions: 300\ninitial_equity: 1000000\n"
    )
    (config / "data.yaml").write_text("provider: synthetic\nadjusted: true\ncache:\n  format: arrow\n")
    (config / "strategies.yaml").write_text(
        "strategies:\n  trend:\n    plugin: trend\n    budget: 1.0\n    params: {rule: price_above_sma, slow: 200}\n"
    )
    (config / "risk.yaml").write_text(
        f"sizer:\n  plugin: equal_weight\n  params: {{max_weight: {min(1.0, 2 / n)!r}}}\n"
        f"regime:\n  detect: {{benchmark: {names[0]}}}\n"
    )
    # a book of thousands of names holds each at well under the default no-churn step (0.5 % of equity)
    (config / "broker.yaml").write_text("broker: paper\nmode: dry_run\norders:\n  min_weight_change: 0.0001\n")
    print(f"  building N={n}: {n} symbols × {CACHE_START} → {CACHE_END} into the arrow cache ...", flush=True)
    from regimeflex.config import load_settings
    from regimeflex.data.cache import Coverage
    from regimeflex.data.service import open_cache

    settings = load_settings(config)
    cache = open_cache(settings)
    source = {"provider": "synthetic", "adjusted": True, "settings": {"seed": 42, "origin": "1990-01-02"}}
    with cache.lock():
        cache.store(synthetic_long(names), {s: Coverage(CACHE_START, CACHE_END, True, source=source) for s in names})
    warm = subprocess.run(
        [*CLI, "--config", str(config), "--now", PREVIOUS, "run"], cwd=project, capture_output=True, text=True
    )
    if warm.returncode != 0:
        raise SystemExit(
            f"warm-up run for N={n} failed ({warm.returncode}):\n{warm.stdout[-3000:]}{warm.stderr[-3000:]}"
        )
    day1 = project / "day1"
    for name in OUTPUTS:
        if (project / name).exists():
            shutil.copytree(project / name, day1 / name)
    (project / ".ready").write_text("ok\n")
    return project


def restore(project: Path) -> None:
    for name in OUTPUTS:
        shutil.rmtree(project / name, ignore_errors=True)
        if (project / "day1" / name).exists():
            shutil.copytree(project / "day1" / name, project / name)


def timed_run(project: Path) -> tuple[float, float, str]:
    """One whole ``regimeflex run`` process: wall seconds, peak RSS in MB, its stdout+stderr."""
    restore(project)
    args = [*CLI, "--config", str(project / "config"), "--now", SESSION, "run", "--json"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"regimeflex run failed ({proc.returncode}) in {project}:\n{text[-4000:]}")
    return wall, usage.ru_maxrss / 1024, text


def main() -> int:
    print(f"bench_daily_run: dry-run `regimeflex run` for {SESSION}, sizes {NS}, {REPS} reps; load {load_average()}")
    # each project is built by a child process: this one stays small, since a child forked from a big
    # parent would report the parent's RSS as its own peak (Linux carries the high-water mark across exec)
    for n in NS:
        subprocess.run([PY, __file__, "--build", str(n)], check=True)
    projects = {n: ROOT / f"N{n}" for n in NS}
    # the package's bytecode is compiled, as a pip install leaves it: with PYTHONDONTWRITEBYTECODE set (this
    # machine's shells) an editable checkout would otherwise recompile every module in every timed run (~0.2 s)
    # (found without importing it: this process stays small)
    package = Path(str(importlib.util.find_spec("regimeflex").origin)).parent  # type: ignore[union-attr]
    subprocess.run([PY, "-m", "compileall", "-q", str(package)], check=True, stdout=subprocess.DEVNULL)
    for n, project in projects.items():  # one untimed run each: the session table and the page cache are warm
        _, _, text = timed_run(project)
        if '"status": "completed"' not in text:
            raise SystemExit(f"N={n}: the run did not complete:\n{text[-3000:]}")
    walls: dict[int, list[float]] = {n: [] for n in NS}
    rss: dict[int, list[float]] = {n: [] for n in NS}
    ratio: dict[int, list[float]] = {n: [] for n in NS}
    for _ in range(REPS):
        for n in NS:  # interleaved: each size sees the same load within a repetition
            wall, peak, _ = timed_run(projects[n])
            walls[n].append(wall)
            rss[n].append(peak)
        if 6 in walls:
            for n in NS:
                ratio[n].append(walls[n][-1] / walls[6][-1])
    for n in NS:
        w, r = walls[n], rss[n]
        line = (
            f"  N={n:5d}: wall median {statistics.median(w):.3f} s ({min(w):.3f}–{max(w):.3f}), "
            f"peak RSS median {statistics.median(r):.0f} MB ({min(r):.0f}–{max(r):.0f})"
        )
        if ratio[n]:
            line += f", {statistics.median(ratio[n]):.2f}× the 6-symbol run ({min(ratio[n]):.2f}–{max(ratio[n]):.2f})"
        print(line)
    ok = True
    if 5000 in walls:
        ok &= record("daily run 5,000 symbols: wall", samples=walls[5000], target=3.0, unit="s")
        ok &= record("daily run 5,000 symbols: peak RSS", samples=rss[5000], target=1536.0, unit="MB")
        if ratio[5000]:
            print(f"  5,000-symbol run / 6-symbol run: {statistics.median(ratio[5000]):.2f}×")
    if 500 in walls:
        ok &= record("daily run 500 symbols: wall", samples=walls[500], target=1.2, unit="s")
        if ratio[500]:
            print(f"  500-symbol run / 6-symbol run: {statistics.median(ratio[500]):.2f}×")
    print(f"load average at the end: {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
