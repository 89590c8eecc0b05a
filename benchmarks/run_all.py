#!/usr/bin/env python3
"""`make bench`: run every benchmark script under benchmarks/ (``bench_*.py``), one after another.

Each script prints its own figures (ratios against a reference measured in the same run),
exits non-zero when it misses its target, and records each target through ``targets.record``.
At the end one table lists every target measured in this run with its figure and PASS/MISS; the
exit code is 1 when any target was missed or any script failed. ``python benchmarks/run_all.py
NAME ...`` runs only the scripts whose name contains one of the NAMEs; ``--table`` prints the
last stored records as a markdown table, and ``--readme`` writes that table into
benchmarks/README.md between its ``<!-- targets:begin -->`` and ``<!-- targets:end -->`` lines.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from targets import format_row, load_average, markdown, records

HERE = Path(__file__).resolve().parent


BEGIN, END = "<!-- targets:begin -->", "<!-- targets:end -->"


def write_readme(readme: Path) -> None:
    """Replace the generated targets table of ``readme`` (between the BEGIN and END lines)."""
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: no {BEGIN} … {END} lines to put the targets table between")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{markdown(records())}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--table"]:
        print(markdown(records()))
        return 0
    if argv[:1] == ["--readme"]:
        write_readme(HERE / "README.md")
        print(f"wrote the targets table into {HERE / 'README.md'}")
        return 0
    started = time.time()
    print(f"load average at start: {load_average()}", flush=True)
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
    measured = records(since=started)
    print(f"\n== targets ({len(measured)} measured; load average at end: {load_average()})")
    for rec in measured:
        print(("PASS " if rec["pass"] else "MISS ") + format_row(rec))
    missed = [r["name"] for r in measured if not r["pass"]]
    if failed:
        print(f"failed scripts: {', '.join(failed)}", file=sys.stderr)
    if missed:
        print(f"missed targets: {', '.join(missed)}", file=sys.stderr)
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
