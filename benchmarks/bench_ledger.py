#!/usr/bin/env python3
"""Ledger speed: verify 1,000,000 entries, append 10,000 with fsync batching.

Figures printed (README.md records them):

* ``verify``: :func:`regimeflex.ledger.verify_file` over a 1,000,000-entry
  ledger (hash, chain link, seq and height of every line) against the bare
  reference loop "read each line and SHA-256 it", both in this run, 5 interleaved
  repetitions. Target: verify within 3× of the reference (median of the per-repetition ratios,
  ``targets.record``).
* ``incremental``: what ``run`` pays before acting on that ledger with 1,000 entries appended
  since its verified prefix (:func:`regimeflex.ledger.verify_since_checkpoint`: CRC-32 read of
  the prefix, the prefix's last line and the new lines hashed), against the full verify above.
* ``append``: 10,000 entries through :class:`regimeflex.ledger.LedgerWriter`
  (canonical JSON, secret redaction, hash chain), made durable with one
  fsync per entry and with one fsync per batch of 100; entries per second,
  and the reference "write the same bytes, fsync each" for the per-entry case.

Usage: ``python benchmarks/bench_ledger.py [--entries N]`` (exit 1 when the verify target is missed).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from regimeflex.ledger import open_writer, verify_file, verify_since_checkpoint
from regimeflex.ledger.anchor import save_verified
from regimeflex.ledger.store import GENESIS, _encode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import record  # noqa: E402

TARGET_RATIO = 3.0


def sample_data(i: int) -> dict:
    """A fill-sized entry, like the ledger's most common lines."""
    return {
        "fill_id": f"20240305143001123::{i:08d}-722d-4ced-9beb-e2eeed3637dc",
        "client_order_id": f"rf-20240305-{i:032x}",
        "symbol": "SPY",
        "side": "buy" if i % 2 else "sell",
        "qty": float(i % 500 + 1),
        "price": 512.34,
        "commission": 0.0,
        "ts": "2024-03-05T14:30:01.123456Z",
    }


def build(path: Path, n: int) -> None:
    prev = GENESIS
    with path.open("wb") as fh:
        buf = []
        for i in range(n):
            line, prev = _encode(1 + i // 1000, i, "2024-03-05T14:30:01.123456Z", "fill", sample_data(i), prev)
            buf.append(line)
            if len(buf) == 10_000:
                fh.write(b"".join(buf))
                buf.clear()
        fh.write(b"".join(buf))


def reference_loop(path: Path) -> int:
    sha256 = hashlib.sha256
    n = 0
    with path.open("rb") as fh:
        for line in fh:
            sha256(line).hexdigest()
            n += 1
    return n


def interleaved(fns: list, repeat: int = 5) -> list[tuple[list[float], object]]:
    """Every repetition's time of each function, runs alternating (a, b, a, b, ...) so load on a
    shared machine affects both alike; with the last result of each."""
    times: list[list[float]] = [[] for _ in fns]
    results: list[object] = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - t0)
    return list(zip(times, results))


def append(path: Path, n: int, batch: int) -> float:
    t0 = time.perf_counter()
    with open_writer(path) as writer:
        for i in range(n):
            writer.append("fill", sample_data(i), height=1)
            if (i + 1) % batch == 0:
                writer.commit()
    return time.perf_counter() - t0


def reference_fsync_each(path: Path, lines: list[bytes]) -> float:
    t0 = time.perf_counter()
    with path.open("ab") as fh:
        for line in lines:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
    return time.perf_counter() - t0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=10_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "ledger.jsonl"
        build(big, args.entries)
        size_mb = big.stat().st_size / 1e6
        (verify_t, result), (ref_t, count) = interleaved([lambda: verify_file(big), lambda: reference_loop(big)])
        assert result.ok and result.entries == args.entries, result
        assert count == args.entries
        verify_s, ref_s = statistics.median(verify_t), statistics.median(ref_t)
        ratio = verify_s / ref_s
        print(
            f"verify   {args.entries:,} entries ({size_mb:.0f} MB): {verify_s:.2f} s "
            f"({args.entries / verify_s / 1e6:.2f} M entries/s); reference read+sha256 loop {ref_s:.2f} s; "
            f"ratio {ratio:.2f}x (medians of 5)"
        )
        ok = record(
            f"ledger verify of {args.entries:,} entries vs read + SHA-256 loop",
            samples=[a / b for a, b in zip(verify_t, ref_t)],
            target=TARGET_RATIO,
            detail=f"{verify_s:.2f} s vs {ref_s:.2f} s, {size_mb:.0f} MB, hash + chain link + seq + height of every line",
        )

        save_verified(big, result.prefix)  # what a run leaves behind
        with open_writer(big) as writer:
            for i in range(1_000):
                writer.append("fill", sample_data(i), height=args.entries // 1000 + 2)
        ((inc_t, inc),) = interleaved([lambda: verify_since_checkpoint(big)])
        inc_s = statistics.median(inc_t)
        assert inc.ok and inc.hashed == 1_001, inc
        print(
            f"incremental verify, 1,000 new entries on {args.entries:,}: {inc_s * 1000:.0f} ms "
            f"({inc.hashed:,} lines hashed; {verify_s / inc_s:.0f}x faster than the full verify)"
        )

        each = append(Path(tmp) / "a1.jsonl", args.appends, batch=1)
        batched = append(Path(tmp) / "a100.jsonl", args.appends, batch=100)
        assert verify_file(Path(tmp) / "a1.jsonl").ok and verify_file(Path(tmp) / "a100.jsonl").ok
        lines = (Path(tmp) / "a1.jsonl").read_bytes().splitlines(keepends=True)
        raw = reference_fsync_each(Path(tmp) / "raw.jsonl", lines)
        print(
            f"append   {args.appends:,} entries, fsync each: {each:.2f} s ({args.appends / each:,.0f} entries/s); "
            f"reference write+fsync of the same bytes: {raw:.2f} s ({args.appends / raw:,.0f}/s)"
        )
        print(
            f"append   {args.appends:,} entries, fsync per 100: {batched:.2f} s "
            f"({args.appends / batched:,.0f} entries/s, {each / batched:.1f}x faster than fsync each)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
