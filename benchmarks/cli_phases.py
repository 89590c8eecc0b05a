#!/usr/bin/env python3
"""Where a `regimeflex backtest --out` process spends its time, phase by phase (one run, wall clock).

Usage: ``.venv/bin/python benchmarks/cli_phases.py PROJECT_DIR`` — PROJECT_DIR holds ``config/``
(e.g. ``benchmarks/.cache/cli_500_arrow``, built by ``bench_backtest.py`` through ``cli_project.py``).
Runs the same steps as the CLI command in the same order (imports, settings, plugin host, bars from
the cache, strategy + sizer hooks, simulation and result frames, parquet/CSV files, tear sheet —
the CLI writes the last two concurrently, this script one after the other) and prints the seconds
of each. Figures only: the goal ratio is bench_backtest.py's.
"""

import sys
import time

T0 = time.perf_counter()
MARKS = []


def mark(label: str) -> None:
    MARKS.append((label, time.perf_counter()))


def main(project: str) -> None:
    import pandas  # noqa: F401

    mark("import pandas")
    from pathlib import Path

    from regimeflex.backtest import api
    from regimeflex.backtest.results import write_outputs, write_tearsheet
    from regimeflex.config import load_settings
    from regimeflex.pipeline import compute_targets
    from regimeflex.plugins import PluginHost

    mark("import regimeflex")
    settings = load_settings(Path(project) / "config")
    mark("settings")
    host = PluginHost.load()
    selection = api.resolve_for_backtest(settings, host)
    mark("plugin host + resolve")
    lo, hi = api.period(settings)
    bars = api.load_bars(settings, host, lo, hi)
    mark("bars from the cache")
    weights = compute_targets(bars, selection, host, settings).weights
    mark("strategy + sizer hooks")
    result = api.assemble(weights, bars, api.sim_config(settings), start=lo, end=hi, benchmark=settings.run.benchmark)
    mark("simulation + frames")
    out = Path(project) / "out-phases"
    write_outputs(result, out)
    mark("parquet/CSV files")
    write_tearsheet(result, out / "tearsheet.html", benchmark=settings.run.benchmark)
    mark("tear sheet")
    prev = T0
    for label, t in MARKS:
        print(f"{label:24s} {t - prev:6.3f} s")
        prev = t
    print(f"{'total (after start-up)':24s} {prev - T0:6.3f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
