"""benchmarks/peers is a byte-identical copy of the shared peer harness (benchmarks/peers/SOURCES.md):
a file edited here (or reformatted by a tool) would make the project's figures drift from the
harness everyone else measures with. bench_backtest.py also compares the copy with the live harness."""

from __future__ import annotations

import hashlib
from pathlib import Path

PEERS = Path(__file__).resolve().parent.parent / "benchmarks" / "peers"


def listed() -> dict[str, str]:
    rows = [line.split("|") for line in (PEERS / "SOURCES.md").read_text(encoding="utf-8").splitlines()]
    return {r[1].strip(): r[2].strip() for r in rows if len(r) == 4 and r[1].strip() not in ("file", "---")}


def test_every_copied_harness_file_has_its_recorded_sha256():
    sums = listed()
    assert {"common.py", "ref_numpy.py", "peer_vectorbt.py", "STRATEGY.md", "run_all.sh"} <= set(sums)
    changed = [f for f, digest in sums.items() if hashlib.sha256((PEERS / f).read_bytes()).hexdigest() != digest]
    assert not changed, f"benchmarks/peers differs from the shared harness copy: {changed}"
