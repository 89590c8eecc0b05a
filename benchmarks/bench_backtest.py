#!/usr/bin/env python3
"""Backtest speed and agreement: RegimeFlex vs vectorbt, backtrader, backtesting.py and a numpy
reference, measured by the project's shared peer harness (../shared/peer_bench, STRATEGY.md there).

Expected duration: ~15 minutes on a quiet 2-core machine (REPS=3; backtrader at 500 symbols takes
~2 minutes a rep); first run also builds the harness venv under /tmp/peerbench (pip installs
vectorbt, backtrader, backtesting: a few minutes more). Quick smoke: ``REPS=1 NS="1 10" REAL=0``.

What it does: copies the shared harness (byte-identical to benchmarks/peers, checked first) into
benchmarks/.cache/peer_harness, beside a link to its data folder, and runs its ``run_all.sh``
unchanged with ``EXTRA_SCRIPTS`` adding ``peers/peer_regimeflex.py`` (core: built-in ``trend``
``price_above_both`` + ``sleeve`` sizer through the plugin host + the sleeves engine) and
``peers/peer_regimeflex_cli.py`` (the whole ``regimeflex backtest`` process from YAML), as the
harness's README says. (Run in place, run_all.sh would write its RESULTS.md into the read-only
shared folder.) Then it records the targets through ``targets.record`` and writes
benchmarks/results/backtest.md (the harness's RESULTS.md with the load average and the targets).
``bench_backtest.py --from results.jsonl`` re-derives the targets from an earlier run's raw file.
Knobs: REPS, NS, REAL (as the harness), PEER_BENCH (path of the shared harness).
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from targets import load_average, record

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "peers"
CACHE = HERE / ".cache"
RESULTS = HERE / "results"
COPIED = [
    line.split("|")[1].strip() for line in (PEERS / "SOURCES.md").read_text().splitlines() if line.startswith("| ")
]
COPIED = [f for f in COPIED if f != "file"]
LIBS = "ref_numpy regimeflex regimeflex_cli vectorbt backtesting.py backtrader"


def harness() -> Path:
    env = os.environ.get("PEER_BENCH")
    for p in (
        [Path(env)] if env else [ROOT.parent / "shared" / "peer_bench", ROOT.parent.parent / "shared" / "peer_bench"]
    ):
        if (p / "run_all.sh").is_file():
            return p
    return PEERS  # the repository's copy (no shared folder beside the repository)


def differing_copies(shared: Path) -> list[str]:
    return [f for f in COPIED if not filecmp.cmp(shared / f, PEERS / f, shallow=False)]


def run_harness(shared: Path) -> Path:
    work = CACHE / "peer_harness"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(
        shared, work / "peer_bench", ignore=shutil.ignore_patterns("RESULTS.md", "SOURCES.md", "peer_regimeflex*")
    )
    for p in (work / "peer_bench").iterdir():
        p.chmod(0o755 if p.suffix in (".py", ".sh") else 0o644)
    data = shared.parent / "data"
    if data.is_dir():
        (work / "data").symlink_to(data)
    out = CACHE / f"peers-{time.strftime('%Y%m%d-%H%M%S')}"
    env = dict(
        os.environ,
        OUT=str(out),
        LIBS=os.environ.get("LIBS", LIBS),
        REGIMEFLEX_PY=sys.executable,
        TQDM_DISABLE="1",
        EXTRA_SCRIPTS=f"regimeflex={PEERS / 'peer_regimeflex.py'},regimeflex_cli={PEERS / 'peer_regimeflex_cli.py'}",
    )
    subprocess.run(["bash", str(work / "peer_bench" / "run_all.sh")], check=True, env=env)
    shutil.copy(work / "peer_bench" / "RESULTS.md", out / "RESULTS.md")
    return out


def by(rows: list[dict], lib: str, n) -> list[dict]:
    return sorted(
        (r for r in rows if r.get("lib") == lib and r.get("n") == n and not r.get("skipped")),
        key=lambda r: r.get("rep", 0),
    )


def paired(a: list[dict], ka: str, b: list[dict], kb: str) -> list[float]:
    """Per-repetition ratios a/b (the harness runs each lib's reps back to back, so rep i of one
    library is paired with rep i of the other)."""
    return [x[ka] / y[kb] for x, y in zip(a, b)]


def evaluate(rows: list[dict]) -> list[str]:
    """Record every target from the harness's raw rows; returns the lines for the results file."""
    lines = []
    both = [
        r["n"]
        for r in rows
        if r.get("lib") == "regimeflex" and isinstance(r.get("n"), int) and by(rows, "vectorbt", r["n"])
    ]
    n = max(both, default=None)  # the largest synthetic case both ran (500 in a full run)
    rf, vb, bt = by(rows, "regimeflex", n), by(rows, "vectorbt", n), by(rows, "backtrader", n)
    cli, bp = by(rows, "regimeflex_cli", n), by(rows, "backtesting.py", n)
    label = f"{n} symbols" if n is not None else "no case"
    if rf and vb:
        r = paired(vb, "seconds", rf, "seconds")
        record(
            f"backtest core vs warm vectorbt, {label} (vectorbt s / RegimeFlex s)",
            samples=r,
            target=1.0,
            better="higher",
            detail=f"RegimeFlex {statistics.median(x['seconds'] for x in rf):.3f} s, vectorbt {statistics.median(x['seconds'] for x in vb):.3f} s; built-in trend price_above_both + sleeve sizer + engine, no benchmark-only plugin",
        )
        r = paired(rf, "peak_rss_mb", vb, "peak_rss_mb")
        record(
            f"backtest process peak RSS vs vectorbt's, {label}",
            samples=r,
            target=1.0,
            better="lower",
            detail=f"{statistics.median(x['peak_rss_mb'] for x in rf):.0f} MB vs {statistics.median(x['peak_rss_mb'] for x in vb):.0f} MB",
        )
    if cli and vb:
        r = paired(cli, "seconds", vb, "total_seconds")
        record(
            f"`regimeflex backtest` process (YAML, arrow cache) vs vectorbt process, {label}",
            samples=r,
            target=0.25,
            detail=f"{statistics.median(x['seconds'] for x in cli):.2f} s vs {statistics.median(x['total_seconds'] for x in vb):.2f} s",
        )
    if rf and bt:
        record(
            f"backtrader / RegimeFlex core, {label}",
            samples=paired(bt, "seconds", rf, "seconds"),
            target=100.0,
            better="higher",
            detail=f"backtrader {statistics.median(x['seconds'] for x in bt):.1f} s; backtesting.py "
            + (
                f"{statistics.median(x['seconds'] for x in bp):.1f} s ({statistics.median(x['seconds'] for x in bp) / statistics.median(x['seconds'] for x in rf):.0f}x)"
                if bp
                else "not run"
            ),
        )
    ref = {r["n"]: r for r in rows if r.get("lib") == "ref_numpy" and not r.get("skipped")}
    diffs, mismatched = [], []
    for r in rows:
        if r.get("lib") == "regimeflex" and r["n"] in ref:
            diffs.append(abs(r["final_equity"] - ref[r["n"]]["final_equity"]) / ref[r["n"]]["final_equity"])
            if r["trades"] != ref[r["n"]]["trades"]:
                mismatched.append(f"core {r['n']}")
        if r.get("lib") == "regimeflex_cli" and "ref_same_bars_final_equity" in r:
            diffs.append(abs(r["final_equity"] - r["ref_same_bars_final_equity"]) / r["ref_same_bars_final_equity"])
            if r["trades"] != r["ref_same_bars_trades"]:
                mismatched.append(f"cli {r['n']}")
    if diffs:
        cases = sorted({str(r["n"]) for r in rows if r.get("lib") == "regimeflex"})
        record(
            "final equity vs ref_numpy, max |rel. diff| (core every case; CLI on the bars it read)",
            samples=[max(diffs)],
            target=1e-9,
            unit="rel.",
            detail=f"cases {', '.join(cases)}; the CLI's --json rounds equity to 1e-6",
        )
        record(
            "entries differing from ref_numpy (core every case; CLI on the bars it read)",
            samples=[float(len(mismatched))],
            target=0.0,
            unit="entries",
            detail=", ".join(mismatched) or "identical trade counts everywhere",
        )
    for r in cli:
        if r.get("sessions_dropped") or r.get("bars_rejected"):
            lines.append(
                f"* regimeflex_cli {r['n']}: the data layer read {r['sessions_dropped']} fewer sessions "
                f"(non-XNYS weekdays of the synthetic calendar) and rejected {r['bars_rejected']} defective bars, "
                "so its equity is compared with ref_numpy on the bars it read."
            )
            break
    return lines


def main(argv: list[str]) -> int:
    started = time.time()
    load_start = load_average()
    if argv[:1] == ["--from"]:
        out = Path(argv[1]).parent
    else:
        shared = harness()
        if shared != PEERS and (bad := differing_copies(shared)):
            print(
                f"benchmarks/peers differs from {shared}: {', '.join(bad)} — copy them again and update "
                "benchmarks/peers/SOURCES.md",
                file=sys.stderr,
            )
            return 1
        out = run_harness(shared)
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines() if x.strip()]
    notes = evaluate(rows)
    from targets import format_row, records

    recs = [r for r in records(since=started)]
    text = (out / "RESULTS.md").read_text() if (out / "RESULTS.md").exists() else ""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "backtest.md").write_text(
        "# Backtest benchmark (generated by bench_backtest.py from the shared peer harness)\n\n"
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, load average (1/5/15 min) {load_start} at start, "
        f"{load_average()} at end. Targets:\n\n"
        + "\n".join(f"* {format_row(r)}" for r in recs)
        + "\n"
        + ("\n" + "\n".join(notes) + "\n" if notes else "")
        + "\n"
        + text
    )
    return 0 if all(r["pass"] for r in recs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
