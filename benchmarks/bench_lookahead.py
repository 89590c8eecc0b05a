#!/usr/bin/env python3
"""The lookahead guard's cost, as a ratio to the strategy and sizer calls it re-runs.

Every ``regimeflex backtest`` runs :func:`regimeflex.backtest.lookahead.guard` before simulating: each
selected strategy and the sizer are called again on the history cut at 10 %, 25 % and three seeded
random points (shrunk so that all cuts' lengths add up to at most 0.6 of the panel), and the outputs
are compared with the full-history ones. The budget (issue #14) is that the guard adds at most the
cost of the strategy calls themselves: guard ≤ 1.0 × (full strategy call + full sizer call). This
script measures, on 500 synthetic symbols × 2,520 sessions with the built-in ``trend`` strategy
(SMA 50/200 crossover) and ``inverse_vol`` sizer called through the plugin host exactly as a
backtest calls them, REPS times in turn:

* the full-history strategy call and sizer call (the reference: what a backtest pays anyway);
* the guard (its re-runs and comparisons);
* the ratio guard / (strategy + sizer) of each rep: the samples given to ``targets.record``
  (target ≤ 1.0, verdict on their median).

The breakdown lines (best of REPS) show where the guard's time goes: the re-runs alone, strategy and
sizer apart, and the rest (slicing, comparisons).

Run: ``.venv/bin/python benchmarks/bench_lookahead.py`` (or ``make bench``); about 15 s on a quiet
2-core box (30-40 s under load). Exit 1 when the target is missed. Knobs: ``REPS`` (default 7),
``N_SYMBOLS`` (default 500).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from types import SimpleNamespace

from targets import record

from regimeflex.backtest.lookahead import guard, guard_cuts
from regimeflex.builtins.synthetic import SyntheticSettings, generate
from regimeflex.pipeline import TargetPanel
from regimeflex.plugins import PluginHost
from regimeflex.risk.budgets import combine_signals

REPS = int(os.environ.get("REPS", "7"))
N_SYMBOLS = int(os.environ.get("N_SYMBOLS", "500"))
SESSIONS = 2520
TARGET = 1.0


def timed(fn):
    """(wall time of one call, its result)."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> int:
    symbols = tuple(f"S{i:03d}" for i in range(N_SYMBOLS))
    bars = generate(symbols, date(2010, 1, 4), date(2020, 12, 31), SyntheticSettings(seed=7)).iloc[-SESSIONS:]
    host = PluginHost.load()
    strategy = SimpleNamespace(name="trend", settings={"rule": "crossover", "fast": 50, "slow": 200}, budget=1.0)
    sizer = SimpleNamespace(name="inverse_vol", settings={})
    selection = SimpleNamespace(strategies={"trend": strategy}, sizer=sizer)
    cuts = guard_cuts(len(bars.index))

    def call_strategy():
        return host.generate_signal("trend", bars=bars, params=strategy.settings)

    signal = call_strategy()
    combined = combine_signals({"trend": signal}, {"trend": 1.0})

    def call_sizer():
        return host.size_position("inverse_vol", signals=combined, bars=bars, params=sizer.settings)

    weights = call_sizer()
    panel = TargetPanel(
        signals={"trend": signal}, combined=combined, raw_weights=weights, weights=weights, sizer_bars=bars
    )

    def strategy_reruns():
        return [host.generate_signal("trend", bars=bars.iloc[: p + 1], params=strategy.settings) for p in cuts]

    def sizer_reruns():
        return [
            host.size_position("inverse_vol", signals=combined.iloc[: p + 1], bars=bars.iloc[: p + 1], params={})
            for p in cuts
        ]

    guard(bars, panel, selection, host)  # type: ignore[arg-type]  # warm-up (imports, caches)
    ratios: list[float] = []
    best: dict[str, float] = {}
    report = None
    for _ in range(REPS):
        t_strategy, _ = timed(call_strategy)
        t_sizer, _ = timed(call_sizer)
        t_guard, report = timed(lambda: guard(bars, panel, selection, host))  # type: ignore[arg-type]
        t_s_cuts, _ = timed(strategy_reruns)
        t_z_cuts, _ = timed(sizer_reruns)
        ratios.append(t_guard / (t_strategy + t_sizer))
        for key, t in (("strategy", t_strategy), ("sizer", t_sizer), ("guard", t_guard)):
            best[key] = min(best.get(key, t), t)
        for key, t in (("s_cuts", t_s_cuts), ("z_cuts", t_z_cuts)):
            best[key] = min(best.get(key, t), t)
    assert report is not None
    ms = {k: v * 1000 for k, v in best.items()}
    print(f"bench_lookahead: {N_SYMBOLS} synthetic symbols × {SESSIONS} sessions, trend + inverse_vol, {REPS} reps")
    print(f"  cuts at rows {cuts} (sum {sum(cuts) / len(bars.index):.3f} of the panel); guard {report.status}")
    print(f"  strategy call {ms['strategy']:8.1f} ms   sizer call {ms['sizer']:8.1f} ms   (best of {REPS})")
    print(f"  guard         {ms['guard']:8.1f} ms   ({report.calls} re-runs and their comparisons)")
    print(
        f"  re-runs alone: strategy {ms['s_cuts']:.1f} ms ({best['s_cuts'] / best['strategy']:.2f}x its full call), "
        f"sizer {ms['z_cuts']:.1f} ms ({best['z_cuts'] / best['sizer']:.2f}x its full call); "
        f"the rest (slicing, comparisons) {ms['guard'] - ms['s_cuts'] - ms['z_cuts']:.1f} ms"
    )
    ok = record(
        "lookahead guard / (strategy + sizer call)",
        samples=ratios,
        target=TARGET,
        unit="x",
        better="lower",
        detail=f"{N_SYMBOLS} symbols × {SESSIONS} sessions, trend + inverse_vol, {len(cuts)} cuts",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
