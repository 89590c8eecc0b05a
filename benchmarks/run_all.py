#!/usr/bin/env python3
"""`make bench`: run every benchmark script under benchmarks/ (``bench_*.py``), one after another.

Each script prints its own figures (ratios against a reference measured in the same run),
exits non-zero when it misses its target, and may write a table under benchmarks/results/;
benchmarks/README.md records them. A failing script is reported and the others still run;
the exit code is non-zero when any failed. ``python benchmarks/run_all.py NAME ...`` runs
only the scripts whose name contains one of the NAMEs.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)], cwd=str(HERE.parent))
        print(f"== {script.name}: exit {rc} in {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
