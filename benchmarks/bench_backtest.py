#!/usr/bin/env python3
"""Backtest speed and agreement: RegimeFlex vs a numpy reference, vectorbt, backtrader, backtesting.py.

The common "regime-trend" strategy (peers/STRATEGY.md) on 1, 10, 100, 500 synthetic symbols
× 2,520 sessions (fixed seed) and, when the file is found, the real all_stocks_5yr.csv panel.
Every (library, case) runs REPS times as a fresh process, the libraries interleaved within
each repetition so a noisy shared host slows them alike. Each script times its own core
(indicators + signals + simulation + final equity; no imports, no data loading); this driver
adds the whole process's wall time and peak RSS (os.wait4). The ``regimeflex_cli`` row is the
whole ``regimeflex backtest`` process on 500 cached symbols (interpreter start, imports, cache
load, backtest, report files) with the cache in the format documented for backtests
(``cache.format: arrow``), compared with vectorbt's whole process; ``regimeflex_cli_parquet``
is the same with a parquet cache, for information. The host's load average is recorded at the
start and end of the run.

Prints the table, the agreement check (final equity vs the reference, trade counts) and the
goal ratios, and writes them to benchmarks/results/backtest.md (+ raw JSON lines in
benchmarks/.cache/). Knobs (environment): REPS (3), NS ("1 10 100 500"), LIBS, REAL (1),
REAL_CSV (path of all_stocks_5yr.csv), BACKTRADER_REPS_500 (1; backtrader takes ~2 min there).
Run through ``make bench`` (installs the ``bench`` extra) or directly with the venv's python.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "peers"
CACHE = HERE / ".cache"
DATA = CACHE / "peer_data"
RESULTS = HERE / "results"
PY = sys.executable

SCRIPTS = {
    "ref_numpy": "ref_numpy.py",
    "regimeflex": "peer_regimeflex.py",
    "vectorbt": "peer_vectorbt.py",
    "backtesting.py": "peer_backtesting.py",
    "backtrader": "peer_backtrader.py",
}
ORDER = [
    "ref_numpy",
    "regimeflex",
    "regimeflex_cli",
    "regimeflex_cli_parquet",
    "vectorbt",
    "backtesting.py",
    "backtrader",
]
#: the whole-process rows: library name → cache format of the project they run
CLI_ROWS = {"regimeflex_cli": "arrow", "regimeflex_cli_parquet": "parquet"}


def real_csv() -> Path | None:
    env = os.environ.get("REAL_CSV")
    candidates = (
        [Path(env)]
        if env
        else [
            ROOT.parent / "shared" / "data" / "all_stocks_5yr.csv",
            ROOT.parent.parent / "shared" / "data" / "all_stocks_5yr.csv",
        ]
    )
    return next((p for p in candidates if p.is_file()), None)


def prepare_data(ns: list, real: Path | None) -> None:
    env = dict(os.environ, PEERBENCH_DATA=str(DATA))
    if not all((DATA / f"N{n}" / "close.parquet").exists() for n in ns if isinstance(n, int)):
        subprocess.run([PY, str(PEERS / "gen_data.py")], check=True, env=env)
    if real is not None and not (DATA / "real" / "close.parquet").exists():
        subprocess.run([PY, str(PEERS / "gen_real.py")], check=True, env=dict(env, REAL_CSV=str(real)))


def run_peer(lib: str, case, env: dict) -> dict:
    cmd = [PY, str(PEERS / SCRIPTS[lib]), str(case)]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=str(PEERS))
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError(f"{lib} {case} failed with status {status}")
    rec = json.loads(out.decode().strip().splitlines()[-1])
    rec.update(lib=lib, n=case, total_seconds=round(wall, 4), peak_rss_mb=round(ru.ru_maxrss / 1024, 1))
    return rec


def run_cli(case, env: dict, lib: str = "regimeflex_cli") -> dict:
    """The whole ``regimeflex backtest`` process on the case's symbols, from a warm cache."""
    fmt = CLI_ROWS[lib]
    project = CACHE / f"cli_{case}_{fmt}"
    setup = [
        PY,
        str(HERE / "cli_project.py"),
        str(DATA / (f"N{case}" if isinstance(case, int) else str(case))),
        str(project),
        fmt,
    ]
    subprocess.run(setup, check=True, env=env, stdout=subprocess.DEVNULL)
    exe = str(Path(PY).parent / "regimeflex")
    cmd = [exe, "--config", str(project / "config"), "backtest", "--out", str(project / "out"), "--json"]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(project))
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"regimeflex backtest failed ({p.returncode}): {err.decode()[-2000:]}")
    # resource usage of the finished child (RUSAGE_CHILDREN is cumulative; take this child's own)
    summary = json.loads(out.decode())
    return {
        "lib": lib,
        "n": case,
        "seconds": summary.get("seconds_backtest", float("nan")),
        "final_equity": summary["final_equity"],
        "trades": summary["entries"],
        "total_seconds": round(wall, 4),
        "peak_rss_mb": summary.get("peak_rss_mb", float("nan")),
    }


def median(recs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in recs)


def report(rows: list[dict], versions: dict, load: str = "") -> str:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["lib"], r["n"]), []).append(r)
    ref = {n: median(v, "final_equity") for (lib, n), v in groups.items() if lib == "ref_numpy"}
    ref_tr = {n: v[0]["trades"] for (lib, n), v in groups.items() if lib == "ref_numpy"}
    lines = [
        f"Host: {os.cpu_count()} CPUs, Python {platform.python_version()}{load}; medians over reps; "
        f"core = backtest only (no import, no data load); total = whole process; peak = max RSS.",
        "",
        "| lib | N | reps | core s | total s | peak MB | final equity | rel. diff vs ref | trades (ref) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def key(k):
        return (isinstance(k[1], str), str(k[1]).zfill(8), ORDER.index(k[0]) if k[0] in ORDER else 99)

    for k in sorted(groups, key=key):
        lib, n = k
        v = groups[k]
        fe = median(v, "final_equity")
        rd = (fe - ref[n]) / ref[n] if n in ref else float("nan")
        lines.append(
            f"| {lib} | {n} | {len(v)} | {median(v, 'seconds'):.4f} | {median(v, 'total_seconds'):.2f} | "
            f"{median(v, 'peak_rss_mb'):.0f} | {fe:,.4f} | {rd:.1e} | {v[0]['trades']} ({ref_tr.get(n, '?')}) |"
        )
    lines += ["", "Goals (ratios from this run):", ""]

    def get(lib, n, k):
        v = groups.get((lib, n))
        return median(v, k) if v else None

    for n in sorted({n for _, n in groups}, key=lambda x: (isinstance(x, str), str(x).zfill(8))):
        rf, vb, bt = get("regimeflex", n, "seconds"), get("vectorbt", n, "seconds"), get("backtrader", n, "seconds")
        parts = []
        if rf and vb:
            parts.append(f"vectorbt warm / RegimeFlex core = {vb / rf:.2f}x")
        if rf and bt:
            parts.append(f"backtrader / RegimeFlex core = {bt / rf:.0f}x")
        eng = get("regimeflex", n, "seconds_engine")
        if eng and vb:
            parts.append(f"engine alone {eng:.4f} s")
        cli, vbt_total = get("regimeflex_cli", n, "total_seconds"), get("vectorbt", n, "total_seconds")
        if cli and vbt_total:
            parts.append(
                f"`regimeflex backtest` process (arrow cache) / vectorbt process = {cli / vbt_total:.2f} "
                f"({cli:.2f} s vs {vbt_total:.2f} s)"
            )
        cli_pq = get("regimeflex_cli_parquet", n, "total_seconds")
        if cli_pq and vbt_total:
            parts.append(f"with a parquet cache {cli_pq / vbt_total:.2f} ({cli_pq:.2f} s)")
        pr, pv = get("regimeflex", n, "peak_rss_mb"), get("vectorbt", n, "peak_rss_mb")
        if pr and pv:
            parts.append(f"peak RSS {pr:.0f} MB vs vectorbt {pv:.0f} MB")
        if parts:
            lines.append(f"* N={n}: " + "; ".join(parts))
    lines += ["", "Targets (issue 7), 500 symbols:", ""]
    checks = goals(groups, ref)
    lines += [f"* {'met' if ok else 'MISSED'}: {text}" for text, ok in checks]
    lines += ["", "Agreement with ref_numpy (max |rel. diff| of final equity; trade counts equal?):", ""]
    for lib in [x for x in ORDER[1:] if x not in CLI_ROWS]:  # the CLI rows run another configuration
        ds, same = [], True
        for (l, n), v in groups.items():
            if l == lib and n in ref:
                ds.append(abs(median(v, "final_equity") - ref[n]) / ref[n])
                same &= all(x["trades"] == ref_tr[n] for x in v)
        if ds:
            lines.append(f"* {lib}: max |rel diff| = {max(ds):.1e}; trade counts identical: {same}")
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))]
    return "\n".join(lines) + "\n"


def goals(groups: dict, ref: dict) -> list[tuple[str, bool]]:
    """The issue's targets as (description with figures, met?) from this run's medians."""

    def get(lib, n, k):
        v = groups.get((lib, n))
        return median(v, k) if v else None

    out = []
    rf, vb, bt = get("regimeflex", 500, "seconds"), get("vectorbt", 500, "seconds"), get("backtrader", 500, "seconds")
    if rf and vb:
        out.append((f"core faster than warm vectorbt: {rf:.3f} s vs {vb:.3f} s ({vb / rf:.2f}x)", rf < vb))
    cli, vbt_total = get("regimeflex_cli", 500, "total_seconds"), get("vectorbt", 500, "total_seconds")
    if cli and vbt_total:
        out.append(
            (
                f"`regimeflex backtest` process under 1/4 of vectorbt's process: {cli:.2f} s vs "
                f"{vbt_total:.2f} s ({cli / vbt_total:.2f})",
                cli < vbt_total / 4,
            )
        )
    if rf and bt:
        out.append((f"≥ 100x faster than backtrader: {bt / rf:.0f}x", bt / rf >= 100))
    pr, pv = get("regimeflex", 500, "peak_rss_mb"), get("vectorbt", 500, "peak_rss_mb")
    if pr and pv:
        out.append((f"peak RSS below vectorbt's: {pr:.0f} MB vs {pv:.0f} MB", pr < pv))
    diffs = [
        abs(median(v, "final_equity") - ref[n]) / ref[n]
        for (lib, n), v in groups.items()
        if lib == "regimeflex" and n in ref
    ]
    if diffs:
        out.append((f"final equity within 1e-6 of the reference: max {max(diffs):.1e}", max(diffs) <= 1e-6))
    return out


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in (
        "regimeflex",
        "numpy",
        "pandas",
        "pyarrow",
        "bottleneck",
        "numba",
        "vectorbt",
        "backtrader",
        "backtesting",
    ):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def main() -> int:
    reps = int(os.environ.get("REPS", "3"))
    ns = [int(x) if x.isdigit() else x for x in os.environ.get("NS", "1 10 100 500").split()]
    libs = os.environ.get(
        "LIBS", "ref_numpy regimeflex regimeflex_cli regimeflex_cli_parquet vectorbt backtesting.py backtrader"
    ).split()
    real = real_csv() if os.environ.get("REAL", "1") == "1" else None
    prepare_data(ns, real)
    load_start = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cases = ns + (["real"] if real is not None else [])
    env = dict(os.environ, PEERBENCH_DATA=str(DATA), TQDM_DISABLE="1")
    if "vectorbt" in libs:  # populate numba's on-disk cache once, untimed (as the peer harness does)
        subprocess.run(
            [PY, str(PEERS / "peer_vectorbt.py"), "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(PEERS),
        )
    CACHE.mkdir(exist_ok=True)
    raw = CACHE / f"backtest-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    rows = []
    for case in cases:
        for rep in range(reps):
            for lib in libs:
                if (
                    lib == "backtrader"
                    and case in (500, "real")
                    and rep >= int(os.environ.get("BACKTRADER_REPS_500", "1"))
                ):
                    continue
                if (
                    lib == "backtesting.py"
                    and case in (500, "real")
                    and rep >= int(os.environ.get("BACKTESTING_REPS_500", "1"))
                ):
                    continue
                if lib in CLI_ROWS and case != 500:
                    continue
                rec = run_cli(case, env, lib) if lib in CLI_ROWS else run_peer(lib, case, env)
                rec["rep"] = rep
                rows.append(rec)
                print(json.dumps(rec), flush=True)
                with raw.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
    load_end = os.getloadavg()
    load = (
        f", run {started} → {time.strftime('%H:%M UTC', time.gmtime())}, load average (1/5/15 min) "
        f"{'/'.join(f'{x:.1f}' for x in load_start)} at start, {'/'.join(f'{x:.1f}' for x in load_end)} at end"
    )
    text = report(rows, versions(), load)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "backtest.md").write_text("# Backtest benchmark (generated by bench_backtest.py)\n\n" + text)
    print(text)
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["lib"], r["n"]), []).append(r)
    ref = {n: median(v, "final_equity") for (lib, n), v in groups.items() if lib == "ref_numpy"}
    return 0 if all(ok for _, ok in goals(groups, ref)) else 1


def report_from(jsonl: Path) -> str:
    """Rebuild the table from a raw results file (e.g. of an interrupted run)."""
    rows = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    return report(rows, versions())


if __name__ == "__main__":
    sys.exit(main())
