#!/usr/bin/env python3
"""RegimeFlex in the shared peer harness (../shared/peer_bench, contract in its README.md).

``argv[1]`` is N or a case name (``real``); the data comes from the harness's ``common.load``
(not timed), the result goes out through ``common.emit``. Core time = the built-in ``trend``
strategy (``rule: price_above_both``) and ``sleeve`` sizer (weight = signal, the whole sleeve
while long) called through ``PluginHost`` with its return checks, and ``simulate`` with
``SimConfig(sleeves=True, rebalance="on_change")`` (``backtest.sleeves``), plus the final equity — the configuration ``regimeflex backtest`` runs
from YAML (``peer_regimeflex_cli.py`` times that whole process). No benchmark-only plugin.
Also reports the engine alone (``seconds_engine``) and the date-loop formulation
(``seconds_loop``) on the same weights.

The harness runs every script with its own venv's python, which has no RegimeFlex: this
script then re-executes itself with ``REGIMEFLEX_PY`` (default: the repository's
``.venv/bin/python``), so the process's wall time includes one extra interpreter start.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def harness_common():
    """Import the harness's ``common``: $PEERBENCH_HOME, else the working directory (the harness's
    bench.py starts every script in its own folder), else this folder (the repository's copy)."""
    for d in (os.environ.get("PEERBENCH_HOME"), os.getcwd(), HERE):
        if d and os.path.isfile(os.path.join(d, "common.py")):
            sys.path.insert(0, d)
            break
    import common

    return common


def ensure_regimeflex():
    try:
        import regimeflex  # noqa: F401
    except ImportError:
        py = os.environ.get("REGIMEFLEX_PY") or os.path.join(HERE, "..", "..", ".venv", "bin", "python")
        # the script that was started (peer_regimeflex_cli.py imports this function): sys.argv[0], not __file__
        os.execv(py, [py, os.path.abspath(sys.argv[0]), *sys.argv[1:]])


def run(host, bars, simulate, cfg, fast, slow):
    sig = host.generate_signal("trend", bars=bars, params={"rule": "price_above_both", "fast": fast, "slow": slow})
    weights = host.size_position("sleeve", signals=sig, bars=bars, params={})
    res = simulate(weights, bars, cfg)
    return res.final_equity, int((res.trade_qty > 0).sum()), weights


if __name__ == "__main__":
    ensure_regimeflex()
    common = harness_common()
    n = common.nargs()
    t_imp = time.perf_counter()
    import regimeflex.builtins.sleeve  # noqa: F401  (imported here, not inside the timed hooks)
    import regimeflex.builtins.trend  # noqa: F401
    from regimeflex.backtest.engine import SimConfig, simulate
    from regimeflex.plugins import PluginHost
    from regimeflex.types import make_bars

    host = PluginHost.load()
    import_s = time.perf_counter() - t_imp
    w = common.load(n)
    bars = make_bars(w)
    cfg = SimConfig(initial_cash=common.CASH, sleeves=True, rebalance="on_change")
    t0 = time.perf_counter()
    final, trades, weights = run(host, bars, simulate, cfg, common.FAST, common.SLOW)
    dt = time.perf_counter() - t0
    t0 = time.perf_counter()
    simulate(weights, bars, cfg)
    engine = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = simulate(weights, bars, cfg, method="loop")
    loop_s = time.perf_counter() - t0
    assert abs(loop.final_equity - final) <= 1e-9 * abs(final)
    common.emit(
        os.environ.get("PEERBENCH_LIBNAME", "regimeflex"),
        n,
        dt,
        final,
        trades,
        seconds_engine=round(engine, 6),
        seconds_loop=round(loop_s, 6),
        import_seconds=round(import_s, 3),
    )
