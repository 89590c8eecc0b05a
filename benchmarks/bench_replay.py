#!/usr/bin/env python3
"""The daily rules' replay (``backtest.mode: daily``, the default) is a loop over sessions: show it stays linear.

``regimeflex.backtest.replay.replay`` plans every session's orders with the daily run's planner
and fills them in the paper broker's book, one session at a time (the price of replaying the live
order path exactly). A loop over rows needs a benchmark showing it is fine: this one replays a
trend book of 100 synthetic symbols over 630 and over 2,520 sessions and reports

* the cost per session, against the engine's date loop (``simulate(method="loop")``) on the same
  weights, measured in the same run;
* (the two books differ: the planner re-plans every session against broker.yaml's order rules,
  whole shares by default, while the engine here trades fractional shares on target changes; the
  parity test, not this script, holds the planner replay and the daily runner together);
* the growth from 630 to 2,520 sessions: 4× the sessions should cost ~4× the time (the target is
  ≤ 5×; the paper book used to re-derive every position from all past fills each session, which
  made long replays quadratic: 315 → 630 → 1,260 sessions took 13 → 33 → 95 s on the dev box).

Run: ``.venv/bin/python benchmarks/bench_replay.py`` (or ``make bench``). The verdict is on the
median of the per-repetition growth ratios (``targets.record``); exit 1 when it is missed.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

from regimeflex.backtest.engine import SimConfig, simulate
from regimeflex.backtest.replay import ReplayConfig, replay
from regimeflex.builtins.synthetic import SyntheticSettings, generate

N_SYMBOLS = 100
LONG, SHORT = 2520, 630
GROWTH_TARGET = 5.0
# one replay of 2,520 sessions takes about 10 s; five repetitions give the growth a range
REPEATS = int(os.environ.get("REPEATS", "5"))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import record  # noqa: E402


def trend_weights(bars: pd.DataFrame) -> pd.DataFrame:
    """1/N of equity in every symbol whose close is above its 200-session mean."""
    close = bars["close"]
    above = (close > close.rolling(200, min_periods=200).mean()).astype("float64")
    return above / close.shape[1]


def timed(fn):
    """(wall time, result) of one call."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main() -> int:
    symbols = tuple(f"S{i:03d}" for i in range(N_SYMBOLS))
    bars = generate(symbols, date(2010, 1, 4), date(2020, 12, 31), SyntheticSettings(seed=7)).iloc[-LONG:]
    weights = trend_weights(bars)
    config = ReplayConfig(initial_cash=100_000.0)
    sizes = (SHORT, LONG)
    replay_t: dict[int, list[float]] = {n: [] for n in sizes}
    last = {}
    # repetitions interleave the two lengths, so each growth ratio pairs runs made under the same load
    for _ in range(REPEATS):
        for n in sizes:
            b, w = bars.iloc[-n:], weights.iloc[-n:]
            rep_s, (sim, orders) = timed(lambda: replay(w, b, config))
            replay_t[n].append(rep_s)
            last[n] = (b, w, sim, orders)
    print(f"bench_replay: {N_SYMBOLS} synthetic symbols, trend 1/N book, {REPEATS} repetitions (medians)")
    for n in sizes:
        b, w, sim, orders = last[n]
        eng, engine = timed(
            lambda: simulate(w, b, SimConfig(initial_cash=100_000.0, rebalance="on_change"), method="loop")
        )
        rep = statistics.median(replay_t[n])
        print(
            f"  {n:5d} sessions: replay {rep:6.2f} s ({rep / n * 1000:.2f} ms/session, {len(orders)} orders); "
            f"engine date loop {eng:6.3f} s; replay/engine {rep / eng:5.1f}x; "
            f"final equity {sim.equity[-1]:,.2f} (engine {engine.equity[-1]:,.2f}: another book, see the docstring)"
        )
    growth = [long_s / short_s for short_s, long_s in zip(replay_t[SHORT], replay_t[LONG])]
    ok = record(
        f"daily-rules replay time growth, {SHORT} → {LONG} sessions (4x the sessions)",
        samples=growth,
        target=GROWTH_TARGET,
        detail=f"{statistics.median(replay_t[SHORT]):.1f} s → {statistics.median(replay_t[LONG]):.1f} s, "
        f"{N_SYMBOLS} symbols; linear growth is 4x",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
