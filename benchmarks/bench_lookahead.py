#!/usr/bin/env python3
"""The lookahead guard's cost, as a ratio to the strategy and sizer calls it re-runs.

Every ``regimeflex backtest`` runs :func:`regimeflex.backtest.lookahead.guard` before simulating: each
selected strategy and the sizer are called again on the history cut at 10 %, 25 % and three seeded
random points below 35 % of the panel (their lengths add up to about one panel), and the outputs are
compared with the full-history ones. The budget (issue #14) is that the guard adds at most the cost
of the strategy calls themselves. This script measures, on 500 synthetic symbols × 2,520 sessions
with the built-in ``trend`` strategy (SMA 50/200 crossover) and ``inverse_vol`` sizer called through
the plugin host exactly as a backtest calls them:

* the full-history strategy call and sizer call (the reference: what a backtest pays anyway);
* the guard (its re-runs and comparisons);
* the ratio guard / (strategy + sizer), target ≤ 1.25 (the cuts' lengths sum to ~1.0 panel; the
  comparisons and the per-call overhead of shorter panels are the rest).

Run: ``.venv/bin/python benchmarks/bench_lookahead.py`` (or ``make bench``). Exit 1 when the target
is missed. Knobs: ``REPS`` (best of, default 3), ``N_SYMBOLS`` (default 500).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from types import SimpleNamespace

from regimeflex.backtest.lookahead import guard, guard_cuts
from regimeflex.builtins.synthetic import SyntheticSettings, generate
from regimeflex.pipeline import TargetPanel
from regimeflex.plugins import PluginHost
from regimeflex.risk.budgets import combine_signals

REPS = int(os.environ.get("REPS", "3"))
N_SYMBOLS = int(os.environ.get("N_SYMBOLS", "500"))
SESSIONS = 2520
TARGET = 1.25


def best(fn):
    """(best wall time over REPS calls, the last result)."""
    out, t_best = None, float("inf")
    for _ in range(REPS):
        t0 = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out


def main() -> int:
    symbols = tuple(f"S{i:03d}" for i in range(N_SYMBOLS))
    bars = generate(symbols, date(2010, 1, 4), date(2020, 12, 31), SyntheticSettings(seed=7)).iloc[-SESSIONS:]
    host = PluginHost.load()
    strategy = SimpleNamespace(name="trend", settings={"rule": "crossover", "fast": 50, "slow": 200}, budget=1.0)
    sizer = SimpleNamespace(name="inverse_vol", settings={})
    selection = SimpleNamespace(strategies={"trend": strategy}, sizer=sizer)

    t_strategy, signal = best(lambda: host.generate_signal("trend", bars=bars, params=strategy.settings))
    combined = combine_signals({"trend": signal}, {"trend": 1.0})
    t_sizer, weights = best(
        lambda: host.size_position("inverse_vol", signals=combined, bars=bars, params=sizer.settings)
    )
    panel = TargetPanel(signals={"trend": signal}, combined=combined, raw_weights=weights, weights=weights)
    t_guard, report = best(lambda: guard(bars, panel, selection, host))  # type: ignore[arg-type]
    cuts = guard_cuts(len(bars.index))
    ratio = t_guard / (t_strategy + t_sizer)
    # where it goes: the same re-runs, strategy and sizer apart, without the comparisons
    t_s_cuts, _ = best(
        lambda: [host.generate_signal("trend", bars=bars.iloc[: p + 1], params=strategy.settings) for p in cuts]
    )
    t_z_cuts, _ = best(
        lambda: [
            host.size_position("inverse_vol", signals=combined.iloc[: p + 1], bars=bars.iloc[: p + 1], params={})
            for p in cuts
        ]
    )
    print(f"bench_lookahead: {N_SYMBOLS} synthetic symbols × {SESSIONS} sessions, trend + inverse_vol, best of {REPS}")
    print(f"  cuts at rows {cuts} (sum {sum(cuts) / len(bars.index):.3f} of the panel); guard {report.status}")
    print(f"  strategy call {t_strategy * 1000:8.1f} ms   sizer call {t_sizer * 1000:8.1f} ms")
    print(f"  guard         {t_guard * 1000:8.1f} ms   ({report.calls} re-runs and their comparisons)")
    print(
        f"  re-runs alone: strategy {t_s_cuts * 1000:.1f} ms ({t_s_cuts / t_strategy:.2f}x its full call), "
        f"sizer {t_z_cuts * 1000:.1f} ms ({t_z_cuts / t_sizer:.2f}x its full call)"
    )
    verdict = "OK" if ratio <= TARGET else "MISSED"
    print(f"  guard / (strategy + sizer) = {ratio:.2f}x; target ≤ {TARGET:.2f}x → {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
