#!/usr/bin/env python3
"""Start-up cost of a command that needs no price data: `regimeflex ledger verify` on 10,000 entries.

Times the whole process (interpreter start, imports, settings, verifying every hash of a
10,000-entry ledger, exit) against `python -c pass` on the same interpreter, runs alternated,
and prints the ratio of the medians of 5 with each side's min–max and the load average before
and after. For scale it also times `python -c "import pandas"`, the cost the command no longer
pays. Target (``targets.record``): the whole verify process costs less than `import pandas` alone
(median of the per-repetition ratios ≤ 1); exits 1 if the command fails, its process imports pandas or
the target is missed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from regimeflex.ledger import open_writer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import record  # noqa: E402

ENTRIES = 10_000
REPEAT = 5


def build(path: Path, n: int) -> None:
    with open_writer(path) as writer:
        for i in range(n):
            writer.append(
                "fill",
                {"client_order_id": f"rf-{i}", "symbol": "SPY", "side": "buy", "qty": 1 + i % 50, "price": 470.25},
                height=i // 100,
            )
            if i % 1000 == 999:
                writer.commit()
        writer.commit()


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def fmt(runs: list[float]) -> str:
    return f"median {statistics.median(runs) * 1000:.0f} ms (min–max {min(runs) * 1000:.0f}–{max(runs) * 1000:.0f} ms)"


def main() -> int:
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ledger = root / "ledger.jsonl"
        build(ledger, ENTRIES)
        verify = [str(Path(py).with_name("regimeflex")), "ledger", "verify", "--ledger", str(ledger)]
        probe = (
            "import sys\nfrom regimeflex.cli import main\ntry:\n"
            f"    main(['ledger', 'verify', '--ledger', {str(ledger)!r}])\n"
            "except SystemExit as exc:\n    print(exc.code or 0, 'pandas' in sys.modules)\n"
        )
        code, imported = subprocess.run([py, "-c", probe], cwd=root, capture_output=True, text=True).stdout.split()[-2:]
        if code != "0" or imported != "False":
            print(f"ledger verify: exit {code}, pandas imported: {imported}", file=sys.stderr)
            return 1
        load_before = os.getloadavg()
        runs: dict[str, list[float]] = {"verify": [], "pass": [], "pandas": []}
        for _ in range(REPEAT):
            runs["verify"].append(timed(verify, root))
            runs["pass"].append(timed([py, "-c", "pass"], root))
            runs["pandas"].append(timed([py, "-c", "import pandas"], root))
        load_after = os.getloadavg()
    ratio = statistics.median(runs["verify"]) / statistics.median(runs["pass"])
    print(f"regimeflex ledger verify, {ENTRIES:,} entries: {fmt(runs['verify'])}")
    print(f"python -c pass:                          {fmt(runs['pass'])}")
    print(f"python -c 'import pandas' (for scale):   {fmt(runs['pandas'])}")
    print(f"ratio verify / bare interpreter: {ratio:.1f}× (medians of {REPEAT}, runs alternated); pandas imported: no")
    print(
        "load average (1/5/15 min) before "
        + "/".join(f"{x:.1f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.1f}" for x in load_after)
        + f" on {os.cpu_count()} cores"
    )
    # the command that needs no price data must cost less than importing pandas alone (issue 17 part 3)
    ok = record(
        f"`regimeflex ledger verify` process ({ENTRIES:,} entries) vs `python -c 'import pandas'`",
        samples=[v / p for v, p in zip(runs["verify"], runs["pandas"])],
        target=1.0,
        detail=f"{statistics.median(runs['verify']) * 1000:.0f} ms vs {statistics.median(runs['pandas']) * 1000:.0f} ms; "
        f"bare interpreter {statistics.median(runs['pass']) * 1000:.0f} ms; pandas not imported",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
