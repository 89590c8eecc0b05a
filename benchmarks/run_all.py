"""Run every ``benchmarks/bench_*.py`` script in turn (what ``make bench`` runs).

Each script prints its own figures (ratios against a reference measured in the
same run) and exits non-zero when it misses its target; this runner reports
which ones did and exits non-zero if any did.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = []
    for script in sorted(here.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"missed target: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
