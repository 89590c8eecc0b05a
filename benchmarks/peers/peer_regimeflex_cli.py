#!/usr/bin/env python3
"""The whole ``regimeflex backtest`` process in the shared peer harness (contract: its README.md).

``argv[1]`` is N or a case name. Not timed: the data from the harness's ``common.load`` is written
once into a RegimeFlex project (``benchmarks/cli_project.py``: CSV files imported into an Arrow
cache, the peers' regime-trend in YAML — ``trend`` ``price_above_both``, ``backtest.sleeves``),
kept under ``$PEERBENCH_ROOT/regimeflex_cli/`` for the next runs. Timed (``seconds``): the wall
time of one ``regimeflex --config … backtest --out … --json`` process — interpreter start,
imports, cache load, the lookahead guard, strategy and sizer hooks, simulation, parquet/CSV
files and the HTML tear sheet. Its final equity and entries come from the CLI's own ``--json``,
so the harness checks the command itself against ``ref_numpy``. That check differs by design
where the data layer reads other bars than the harness's parquet: the synthetic sets are on
``pd.bdate_range`` (88 weekday holidays that are no XNYS session, which the data layer drops) and
the real panel has 7 defective bars (high < low, close outside high–low) that the data layer
rejects. So, untimed after the run, the harness's own ``ref_numpy.run`` is applied to the bars the
CLI read (``ref_same_bars_*``; omitted when a rejected bar leaves a gap the reference cannot price).
"""

import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peer_regimeflex import ensure_regimeflex, harness_common  # noqa: E402


def same_bars_reference(config, n, common) -> dict:
    """``ref_numpy.run`` (the harness's reference) on the bars the CLI read from its cache."""
    import ref_numpy

    from regimeflex.backtest.api import load_bars, period
    from regimeflex.config import load_settings
    from regimeflex.plugins import PluginHost

    settings = load_settings(config)
    bars = load_bars(settings, PluginHost.load(), *period(settings))
    w = {f: bars[f] for f in ("open", "close")}
    harness_rows = len(common.load(n)["close"].index)
    out = {"sessions_dropped": harness_rows - len(bars.index), "bars_rejected": int(w["close"].isna().sum().sum())}
    if not (w["open"].isna().any().any() or w["close"].isna().any().any()):
        final, trades = ref_numpy.run(w)
        out.update(ref_same_bars_final_equity=float(final), ref_same_bars_trades=int(trades))
    return out


if __name__ == "__main__":
    ensure_regimeflex()
    common = harness_common()
    sys.path.insert(0, os.path.join(HERE, ".."))
    from pathlib import Path

    from cli_project import build

    n = common.nargs()
    root = Path(os.environ.get("PEERBENCH_ROOT", "/tmp/peerbench")) / "regimeflex_cli" / str(n)
    if not (root / ".ready").exists():
        build(common.load(n), root)
    config = root / "config"
    out = root / f"out-{os.getpid()}"
    exe = os.path.join(os.path.dirname(sys.executable), "regimeflex")
    cmd = [exe, "--config", str(config), "backtest", "--out", str(out), "--json"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, cwd=str(root))
    wall = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode()[-2000:])
        sys.exit(p.returncode)
    summary = json.loads(p.stdout.decode())
    extra = same_bars_reference(config, n, common)
    common.emit(
        os.environ.get("PEERBENCH_LIBNAME", "regimeflex_cli"),
        n,
        wall,
        summary["final_equity"],
        summary["entries"],
        seconds_backtest=summary.get("seconds_backtest"),
        peak_rss_mb_cli=summary.get("peak_rss_mb"),
        **extra,
    )
