#!/usr/bin/env python3
"""Sweep throughput: serial vs a 1-worker and a 2-worker Dask LocalCluster (issue 17 part 2).

A 64-set grid (trend crossover fast × slow, 8 × 8) over 500 synthetic symbols × 2,516 sessions
(2015-01-02..2024-12-31, the built-in ``synthetic`` provider, ``backtest.mode: research``,
``equal_weight`` sizer) through :func:`regimeflex.backtest.sweep.run_sweep` — the same
``evaluate`` per set in every mode. Every process runs with one BLAS/OpenMP thread
(``OMP_NUM_THREADS=MKL_NUM_THREADS=OPENBLAS_NUM_THREADS=1``, set here before numpy loads; the
LocalCluster's nannies set the same for the workers), the same malloc settings
(``sweep.tune_process``) and one thread per worker.

* serial: ``run_sweep`` in this process (``--scheduler serial``);
* 1 worker / 2 workers: ``run_sweep`` on a running LocalCluster of that many worker processes.
  Each cluster is started once (its start-up and worker warm-up are printed, not in the ratio: a
  running cluster is what ``--scheduler tcp://…`` uses); each timed sweep still registers the
  warm-up plugin, scatters the bars to every worker and gathers every result.
* One untimed 2-set sweep in each mode first (imports and first calls warm everywhere), then
  ``REPS`` repetitions, the three modes interleaved in each; the results of every mode are checked
  equal to the serial table first (exit 1 if not).

Figures: sets/s per mode (median and range), throughput ratios cluster / serial and efficiency
(ratio / workers). Targets (``targets.record``): ``sweep 2 workers / serial`` ≥ 1.6 and
``sweep 1 worker / serial`` ≥ 0.9. The machine's load average is printed at start and end: with
other work on the two cores the 2-worker figure cannot be reached.

Expected duration: about 4-5 minutes on a quiet 2-core machine (REPS=3: 3 × (~30 s serial + ~30 s
1 worker + ~16 s 2 workers) plus data generation and cluster start), at most ~10 minutes under load.
Knobs: ``REPS`` (default 3), ``N_SYMBOLS`` (default 500).
Run: ``.venv/bin/python benchmarks/bench_sweep.py`` or ``.venv/bin/python benchmarks/run_all.py sweep``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from targets import load_average, record  # noqa: E402

REPS = int(os.environ.get("REPS", "3"))
N_SYMBOLS = int(os.environ.get("N_SYMBOLS", "500"))
FAST = [5, 10, 20, 30, 40, 50, 60, 80]
SLOW = [100, 120, 150, 180, 200, 220, 250, 300]


def project(root: Path) -> Path:
    symbols = [f"S{i:03d}" for i in range(N_SYMBOLS)]
    config = root / "config"
    config.mkdir(parents=True)
    (config / "run.yaml").write_text(
        f"universe: [{', '.join(symbols)}]\nbenchmark: S000\ninitial_equity: 100000\n"
        "backtest:\n  start: 2015-01-02\n  end: 2024-12-31\n  warmup_sessions: 0\n  mode: research\n"
        "  rebalance: on_change\n"
    )
    (config / "data.yaml").write_text("provider: synthetic\ncache:\n  format: arrow\n")
    (config / "strategies.yaml").write_text(
        "strategies:\n  trend:\n    plugin: trend\n    budget: 1.0\n    params: {rule: crossover, fast: 20, slow: 100}\n"
    )
    (config / "risk.yaml").write_text(
        "sizer:\n  plugin: equal_weight\n  params: {max_weight: 0.05}\nregime:\n  detect: {benchmark: S000}\n"
    )
    (config / "broker.yaml").write_text("broker: paper\nmode: dry_run\n")
    return config


def main() -> int:
    import pandas as pd

    from regimeflex.backtest.sweep import SweepSpec, load_sweep_bars, open_client, parameter_sets, run_sweep
    from regimeflex.config import load_settings

    print(f"load average at start: {load_average()}", flush=True)
    tmp = tempfile.TemporaryDirectory(prefix="bench_sweep-")
    settings = load_settings(project(Path(tmp.name)))
    spec = SweepSpec.model_validate(
        {"params": {"strategies.trend.params.fast": FAST, "strategies.trend.params.slow": SLOW}}
    )
    warm = SweepSpec.model_validate(
        {"params": {"strategies.trend.params.fast": [5, 10], "strategies.trend.params.slow": [100]}}
    )
    n_sets = len(parameter_sets(spec))
    t0 = time.perf_counter()
    bars, _, _ = load_sweep_bars(settings, parameter_sets(spec), None, None)
    print(
        f"bars: {bars['close'].shape[1]} symbols × {len(bars)} sessions ({time.perf_counter() - t0:.1f} s to generate and load)"
    )

    modes: dict[str, object] = {"serial": None}
    clusters = []
    for workers in (1, 2):
        t0 = time.perf_counter()
        client, cluster = open_client(None, workers)
        started = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_sweep(settings, warm, client=client, bars=bars)
        print(
            f"{workers}-worker LocalCluster: start {started:.1f} s, first (2-set, warming) sweep {time.perf_counter() - t0:.1f} s"
        )
        modes[f"{workers}w"] = client
        clusters.append((client, cluster))
    run_sweep(settings, warm, bars=bars)

    seconds: dict[str, list[float]] = {m: [] for m in modes}
    reference = None
    try:
        for rep in range(REPS):
            for mode, client in modes.items():
                t0 = time.perf_counter()
                result = run_sweep(settings, spec, client=client, bars=bars)
                dt = time.perf_counter() - t0
                seconds[mode].append(dt)
                if reference is None:
                    reference = result.table
                else:
                    pd.testing.assert_frame_equal(result.table, reference)
                print(
                    f"rep {rep + 1} {mode:>6}: {dt:6.2f} s, {n_sets / dt:.2f} sets/s (load {load_average()})",
                    flush=True,
                )
    finally:
        for client, cluster in clusters:
            client.close()
            cluster.close()
        tmp.cleanup()
    failed = int(reference["error"].notna().sum()) if reference is not None else 0
    if failed:
        print(f"{failed} parameter sets failed; the benchmark needs every set to run", file=sys.stderr)
        return 1
    print(f"results: the {n_sets} rows of every mode and repetition equal the serial table")
    for mode, ts in seconds.items():
        rates = [n_sets / t for t in ts]
        print(
            f"{mode:>6}: {statistics.median(rates):.2f} sets/s (range {min(rates):.2f}–{max(rates):.2f}), median {statistics.median(ts):.1f} s"
        )
    ok = True
    for workers, name, target in ((2, "sweep 2 workers / serial", 1.6), (1, "sweep 1 worker / serial", 0.9)):
        ratios = [s / c for s, c in zip(seconds["serial"], seconds[f"{workers}w"])]
        eff = [r / workers for r in ratios]
        print(
            f"{workers} worker(s): throughput {statistics.median(ratios):.2f}× serial, efficiency {statistics.median(eff):.0%}"
        )
        ok &= record(
            name,
            samples=ratios,
            target=target,
            unit="x",
            better="higher",
            detail=f"64 sets, {N_SYMBOLS} symbols × {len(bars)} sessions, interleaved reps; efficiency {statistics.median(eff):.0%}",
        )
    print(f"load average at end: {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
