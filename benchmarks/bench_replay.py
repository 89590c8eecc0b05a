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

Run: ``.venv/bin/python benchmarks/bench_replay.py`` (or ``make bench``). Exit 1 when the
growth target is missed.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date

import pandas as pd

from regimeflex.backtest.engine import SimConfig, simulate
from regimeflex.backtest.replay import ReplayConfig, replay
from regimeflex.builtins.synthetic import SyntheticSettings, generate

N_SYMBOLS = 100
LONG, SHORT = 2520, 630
GROWTH_TARGET = 5.0
REPEATS = int(os.environ.get("REPEATS", "1"))  # one replay of 2,520 sessions takes about a minute


def trend_weights(bars: pd.DataFrame) -> pd.DataFrame:
    """1/N of equity in every symbol whose close is above its 200-session mean."""
    close = bars["close"]
    above = (close > close.rolling(200, min_periods=200).mean()).astype("float64")
    return above / close.shape[1]


def timed(fn):
    """(best wall time over REPEATS calls, the last call's result): the timed call is the one reported."""
    best, result = float("inf"), None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> int:
    symbols = tuple(f"S{i:03d}" for i in range(N_SYMBOLS))
    bars = generate(symbols, date(2010, 1, 4), date(2020, 12, 31), SyntheticSettings(seed=7)).iloc[-LONG:]
    weights = trend_weights(bars)
    config = ReplayConfig(initial_cash=100_000.0)
    rows = {}
    for n in (SHORT, LONG):
        b, w = bars.iloc[-n:], weights.iloc[-n:]
        rep_s, (sim, orders) = timed(lambda: replay(w, b, config))
        eng_s, engine = timed(
            lambda: simulate(w, b, SimConfig(initial_cash=100_000.0, rebalance="on_change"), method="loop")
        )
        rows[n] = (rep_s, eng_s, len(orders), sim.equity[-1], engine.equity[-1])
    print(f"bench_replay: {N_SYMBOLS} synthetic symbols, trend 1/N book, best of {REPEATS}")
    for n, (rep, eng, n_orders, eq_rep, eq_eng) in rows.items():
        print(
            f"  {n:5d} sessions: replay {rep:6.2f} s ({rep / n * 1000:.2f} ms/session, {n_orders} orders); "
            f"engine date loop {eng:6.3f} s; replay/engine {rep / eng:5.1f}x; "
            f"final equity {eq_rep:,.2f} (engine {eq_eng:,.2f}: another book, see the docstring)"
        )
    growth = rows[LONG][0] / rows[SHORT][0]
    verdict = "OK" if growth <= GROWTH_TARGET else "MISSED"
    print(f"growth {SHORT} → {LONG} sessions (4x): {growth:.2f}x the time; target ≤ {GROWTH_TARGET:.1f}x → {verdict}")
    return 0 if growth <= GROWTH_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
