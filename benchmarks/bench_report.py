#!/usr/bin/env python3
"""Render time of the reports at full size: the tear sheet and the symbol pages of a 500-symbol, ten-year backtest.

The tear sheet grew (benchmark-relative metrics, drawdown periods, yearly bars, rolling beta, round trips
and the per-symbol summary, grouped fills); ``regimeflex backtest --out`` also writes a trades-on-prices
page for each of the top five contributors. This script builds the book `bench_backtest.py`'s CLI rows
trade (trend: close above its 200-session mean, 1/N of equity per symbol, traded on target change, one
shared account, 1 bp commission so the date loop runs) on 500 synthetic symbols × 2,520 sessions, then
times ``REPEATS`` (default 5) repetitions of each, verdict on the median (``targets.record``):

* ``render_tearsheet`` (every section, against a benchmark);
* five ``render_symbol_page`` calls (closes, SMA 200 line, fills, shares held).

Budget (benchmarks/README.md): the whole ``regimeflex backtest --out`` process must stay under 0.25× of
vectorbt's (3.91 s of its 15.63 s; measured 3.11 s with a 0.22–0.25 s tear sheet written concurrently
with the 0.42–0.54 s of parquet/CSV files), so the tear sheet and the five pages together get the
0.80 s the process has left. Exit 1 when the median takes longer.

Run: ``.venv/bin/python benchmarks/bench_report.py`` (or ``make bench``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from regimeflex.backtest.api import assemble
from regimeflex.backtest.engine import Costs, SimConfig
from regimeflex.builtins.synthetic import SyntheticSettings, generate
from regimeflex.report.symbol import SymbolPageData, render_symbol_page
from regimeflex.report.tearsheet import TearSheetData, render_tearsheet, top_contributors

N_SYMBOLS, SESSIONS = 500, 2520
BUDGET_SECONDS = 0.80
REPEATS = int(os.environ.get("REPEATS", "5"))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import record  # noqa: E402


def timed(fn):
    """Every repetition's time (seconds) and the last result."""
    times, result = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def main() -> int:
    symbols = tuple(f"S{i:03d}" for i in range(N_SYMBOLS))
    bars = generate(symbols, date(2009, 1, 2), date(2020, 12, 31), SyntheticSettings(seed=7)).iloc[-(SESSIONS + 200) :]
    close = bars["close"]
    weights = (close > close.rolling(200, min_periods=200).mean()).astype("float64") / N_SYMBOLS
    config = SimConfig(costs=Costs(commission_bps=1.0), rebalance="on_change")
    t0 = time.perf_counter()
    result = assemble(weights, bars, config, start=bars.index[200])
    backtest = time.perf_counter() - t0
    equity = result.equity["equity"]
    data = TearSheetData(
        equity=equity,
        benchmark=close["S000"],
        benchmark_name="S000",
        weights=result.weights,
        trades=result.trades,
        title="bench_report: trend 200, 500 synthetic symbols",
        rules=("research mode", "1 bp commission"),
        data_info={"source": "synthetic", "synthetic": True},
    )
    sheet_t, html = timed(lambda: render_tearsheet(data))
    top = top_contributors(data)
    sma = close.rolling(200, min_periods=200).mean()

    def pages() -> list[str]:
        return [
            render_symbol_page(
                SymbolPageData(
                    symbol=s,
                    close=close[s][close.index >= equity.index[0]],
                    lines={"SMA 200": sma[s]},
                    fills=result.trades[result.trades["symbol"] == s],
                    position=result.positions[s],
                )
            )
            for s in top
        ]

    pages_t, rendered = timed(pages)
    import tempfile

    from regimeflex.backtest.results import write_outputs

    with tempfile.TemporaryDirectory() as tmp:
        files_t, _ = timed(lambda: write_outputs(result, Path(tmp)))
    med = statistics.median
    sheet_s, pages_s, files_s = med(sheet_t), med(pages_t), med(files_t)
    totals = [a + b for a, b in zip(sheet_t, pages_t)]
    total = med(totals)
    print(
        f"{N_SYMBOLS} symbols × {len(equity)} sessions, {len(result.trades):,} fills (backtest {backtest:.2f} s)\n"
        f"tear sheet {sheet_s:.3f} s ({len(html) / 1e6:.2f} MB), 5 symbol pages {pages_s:.3f} s "
        f"({sum(len(p) for p in rendered) / 1e6:.2f} MB); total {total:.3f} s, budget {BUDGET_SECONDS:.2f} s "
        f"(medians of {REPEATS})\n"
        f"reference in the same run: write_outputs (parquet/CSV files) {files_s:.3f} s; "
        f"tear sheet / files {sheet_s / files_s:.2f}×, (tear sheet + pages) / files {total / files_s:.2f}×"
    )
    ok = record(
        f"tear sheet + 5 symbol pages of a {N_SYMBOLS}-symbol backtest",
        samples=totals,
        target=BUDGET_SECONDS,
        unit="s",
        detail=f"tear sheet {sheet_s:.3f} s + pages {pages_s:.3f} s, {len(result.trades):,} fills; "
        f"write_outputs (parquet/CSV) {files_s:.3f} s in the same run",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
