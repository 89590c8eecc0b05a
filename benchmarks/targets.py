"""One way for every benchmark script to state a target, its measured figure and PASS/MISS.

A script calls :func:`record` once per target it measures. Each call prints one line and writes
``benchmarks/results/targets/<slug>.json`` (date, load average, median, min–max of the samples, the
budget and the verdict). ``benchmarks/run_all.py`` (``make bench``) collects the records written during
its run into one PASS/MISS table and exits 1 when any target is missed; ``run_all.py --table`` prints
the last recorded rows as the markdown table kept in benchmarks/README.md.
"""

from __future__ import annotations

import json
import os
import re
import statistics
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "targets"


def load_average() -> str:
    """The 1/5/15-minute load averages as one string (the machine is shared: every figure carries it)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def record(
    name: str,
    *,
    samples: list[float],
    target: float,
    unit: str = "x",
    better: str = "lower",
    detail: str = "",
) -> bool:
    """Print and store one target: ``samples`` are the repeated measurements of the figure (ratios,
    seconds, MB ...); the verdict is on their median. ``better`` is ``lower`` (figure ≤ target) or
    ``higher`` (figure ≥ target). Returns True when the target is met."""
    if not samples:
        raise ValueError(f"{name}: no samples")
    if better not in ("lower", "higher"):
        raise ValueError(f"{name}: better must be 'lower' or 'higher'")
    median = statistics.median(samples)
    ok = median <= target if better == "lower" else median >= target
    rec = {
        "name": name,
        "median": median,
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
        "target": target,
        "better": better,
        "unit": unit,
        "pass": ok,
        "detail": detail,
        "load": load_average(),
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "at": datetime.now(UTC).timestamp(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS / f".{slug(name)}.json.tmp"
    tmp.write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS / f"{slug(name)}.json")
    print(f"TARGET {format_row(rec)}", flush=True)
    return ok


def _fmt(x: float, unit: str) -> str:
    return f"{x:.3g}{unit}" if unit in ("x", "×") else f"{x:.3g} {unit}"


def format_row(rec: dict) -> str:
    sign = "≤" if rec["better"] == "lower" else "≥"
    rng = f"{_fmt(rec['min'], rec['unit'])}–{_fmt(rec['max'], rec['unit'])}" if rec["n"] > 1 else "one run"
    verdict = "PASS" if rec["pass"] else "MISS"
    return (
        f"{rec['name']}: {_fmt(rec['median'], rec['unit'])} (median of {rec['n']}, range {rng}) "
        f"vs {sign} {_fmt(rec['target'], rec['unit'])} → {verdict}"
    )


def records(since: float = 0.0) -> list[dict]:
    """Every stored target record written at or after ``since`` (a UNIX time), by name."""
    out = []
    for path in sorted(RESULTS.glob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        if rec.get("at", 0) >= since:
            out.append(rec)
    return out


def markdown(recs: list[dict]) -> str:
    lines = [
        "| target | measured (median) | range | budget | verdict | when | load avg 1/5/15 | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in recs:
        sign = "≤" if r["better"] == "lower" else "≥"
        rng = f"{_fmt(r['min'], r['unit'])}–{_fmt(r['max'], r['unit'])} (n={r['n']})"
        verdict = "PASS" if r["pass"] else "**MISS**"
        name, detail = (str(x).replace("|", "\\|") for x in (r["name"], r["detail"]))  # a | would end the cell
        lines.append(
            f"| {name} | {_fmt(r['median'], r['unit'])} | {rng} | {sign} {_fmt(r['target'], r['unit'])} "
            f"| {verdict} | {r['when']} | {r['load']} | {detail} |"
        )
    return "\n".join(lines)
