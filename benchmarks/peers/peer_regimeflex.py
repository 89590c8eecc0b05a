#!/usr/bin/env python3
"""RegimeFlex implementation of regime-trend (same contract as the other peer scripts).

Core time = strategy hook + sizer hook (both through ``PluginHost``, with its return checks)
+ ``regimeflex.backtest.simulate`` + final equity, excluding data loading and imports, like the
peers. Also reports the engine alone (``seconds_engine``) and the date-loop formulation
(``seconds_loop``) on the same weights.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CASH, FAST, SLOW, emit, load, nargs  # noqa: E402


def run(host, bars, simulate, cfg):
    sig = host.generate_signal("regime_trend", bars=bars, params={"fast": FAST, "slow": SLOW})
    weights = host.size_position("sleeve", signals=sig, bars=bars, params={})
    res = simulate(weights, bars, cfg)
    return res.final_equity, int((res.trade_qty > 0).sum()), weights


if __name__ == "__main__":
    n = nargs()
    t_imp = time.perf_counter()
    import regime_trend_plugin

    from regimeflex.backtest.engine import SimConfig, simulate
    from regimeflex.plugins import PluginHost
    from regimeflex.types import make_bars

    import_s = time.perf_counter() - t_imp
    w = load(n)
    bars = make_bars(w)
    host = PluginHost.from_plugins(
        {"regime_trend": regime_trend_plugin.RegimeTrend(), "sleeve": regime_trend_plugin.Sleeve()}
    )
    cfg = SimConfig(initial_cash=CASH, sleeves=True, rebalance="on_change")
    t0 = time.perf_counter()
    final, trades, weights = run(host, bars, simulate, cfg)
    dt = time.perf_counter() - t0
    t0 = time.perf_counter()
    simulate(weights, bars, cfg)
    engine = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = simulate(weights, bars, cfg, method="loop")
    loop_s = time.perf_counter() - t0
    assert abs(loop.final_equity - final) <= 1e-9 * abs(final)
    emit(
        os.environ.get("PEERBENCH_LIBNAME", "regimeflex"),
        n,
        dt,
        final,
        trades,
        seconds_engine=round(engine, 6),
        seconds_loop=round(loop_s, 6),
        import_seconds=round(import_s, 3),
    )
