"""Benchmark: signals + sizing for 500 symbols × 10 years vs a hand-written numpy/pandas reference.

What is timed, for both sides, on the same synthetic panel in the same run:
trend (SMA 50/200 crossover) + mean reversion (20-session z-score, entry 2,
exit 0.5, 10-session time stop) → budget-weighted combination (0.5/0.5) →
inverse-volatility sizing (20-session realised vol) with caps (max weight
0.1, max 20 names, 2 % cash buffer). The RegimeFlex side calls the public
functions the runner and backtest call; the reference writes the same
formulas directly with numpy cumulative sums and one state loop over dates.
Both results are checked equal before any timing is reported.

Target (issue 4): RegimeFlex ≤ 2× the reference. Run: ``make bench`` or
``.venv/bin/python benchmarks/bench_signals.py [--symbols 500 --years 10 --repeat 7]``;
the verdict is on the median of the per-repetition ratios (``targets.record``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from regimeflex.builtins.mean_reversion import MeanReversionParams, mean_reversion_signal
from regimeflex.builtins.trend import TrendParams, trend_signal
from regimeflex.risk.budgets import combine_signals
from regimeflex.risk.sizing import SizingCaps, inverse_vol_weights
from regimeflex.types import make_bars

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import record  # noqa: E402

TREND = TrendParams(rule="crossover", fast=50, slow=200)
MR = MeanReversionParams(window=20, entry_z=2.0, exit_z=0.5, max_hold_days=10)
CAPS = SizingCaps(max_weight=0.10, max_gross=1.0, cash_buffer=0.02, max_names=20)
VOL_WINDOW = 20


def synthetic_bars(n_symbols: int, years: int, seed: int = 7) -> pd.DataFrame:
    """A random-walk OHLCV panel (prices only matter for speed here)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2010-01-04", periods=252 * years)
    symbols = [f"S{i:03d}" for i in range(n_symbols)]
    rets = rng.normal(0.0003, 0.015, size=(len(dates), n_symbols))
    close = 50 * np.exp(np.cumsum(rets, axis=0))
    spread = np.abs(rng.normal(0, 0.01, size=close.shape)) * close
    frame = lambda values: pd.DataFrame(values, index=dates, columns=symbols)  # noqa: E731
    return make_bars(
        {
            "open": frame(close * (1 + rng.normal(0, 0.003, close.shape))),
            "high": frame(close + spread),
            "low": frame(close - spread),
            "close": frame(close),
            "volume": frame(rng.integers(1e5, 1e7, close.shape).astype(float)),
        }
    )


def regimeflex_pipeline(bars: pd.DataFrame) -> pd.DataFrame:
    signals = {"trend": trend_signal(bars, TREND), "mr": mean_reversion_signal(bars, MR)}
    combined = combine_signals(signals, {"trend": 0.5, "mr": 0.5})
    return inverse_vol_weights(combined, bars["close"], CAPS, window=VOL_WINDOW)


# ------------------------------------------------------------------ reference


def rolling_mean(x: np.ndarray, n: int) -> np.ndarray:
    c = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    out = np.full_like(x, np.nan)
    out[n - 1 :] = (c[n:] - c[:-n]) / n
    return out


def rolling_std(x: np.ndarray, n: int, ddof: int) -> np.ndarray:
    return pd.DataFrame(x).rolling(n).std(ddof=ddof).to_numpy()


def reference_pipeline(bars: pd.DataFrame) -> pd.DataFrame:
    close = bars["close"].to_numpy()
    # trend: SMA crossover, long only
    fast, slow = rolling_mean(close, TREND.fast), rolling_mean(close, TREND.slow)
    trend = np.where(fast > slow, 1.0, 0.0)
    trend[np.isnan(slow)] = np.nan
    # mean reversion: z-score and the state rules, one loop over dates
    z = (close - rolling_mean(close, MR.window)) / rolling_std(close, MR.window, 0)
    mr = np.full_like(z, np.nan)
    pos = np.zeros(z.shape[1])
    held = np.zeros(z.shape[1])
    armed = np.ones(z.shape[1], dtype=bool)
    for t in range(len(z)):
        zt = z[t]
        known = ~np.isnan(zt)
        held = np.where(pos != 0, held + 1, 0.0)
        exiting = (known & (pos > 0) & (zt > -MR.exit_z)) | ((pos != 0) & (held >= MR.max_hold_days))
        timed = (pos != 0) & (held >= MR.max_hold_days)
        armed = (armed & ~timed) | (known & (np.abs(zt) < MR.entry_z))
        enter = (pos == 0) & ~exiting & armed & known & (zt < -MR.entry_z)
        pos = np.where(exiting, 0.0, np.where(enter, 1.0, pos))
        held = np.where(enter | exiting, 0.0, held)
        mr[t] = pos
    mr[: MR.window - 1] = np.nan
    # budgets
    seen = ~np.isnan(trend) | ~np.isnan(mr)
    combined = np.clip(0.5 * np.nan_to_num(trend) + 0.5 * np.nan_to_num(mr), -1, 1)
    held_sig = np.where(seen, combined, 0.0)
    # max names: strongest |signal|, ties to the earlier column
    order = np.argsort(-np.abs(held_sig), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(held_sig.shape[1]), held_sig.shape), axis=1)
    held_sig = np.where(rank < CAPS.max_names, held_sig, 0.0)
    # inverse volatility
    logret = np.vstack([np.full((1, close.shape[1]), np.nan), np.log(close[1:] / close[:-1])])
    vol = rolling_std(logret, VOL_WINDOW, 1) * np.sqrt(252)
    ok = np.isfinite(vol) & (vol > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(ok, held_sig / vol, 0.0)
        total = np.abs(raw).sum(axis=1, keepdims=True)
        raw = np.where(total > 0, raw * (1 - CAPS.cash_buffer) / total, 0.0)
    w = np.clip(raw, -CAPS.max_weight, CAPS.max_weight)
    gross = np.abs(w).sum(axis=1)
    long = np.clip(w, 0, None).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.minimum.reduce(
            [
                np.ones_like(gross),
                np.where(gross > 0, CAPS.max_gross / gross, 1.0),
                np.where(long > 0, (1 - CAPS.cash_buffer) / long, 1.0),
            ]
        )
    return pd.DataFrame(w * scale[:, None], index=bars.index, columns=bars["close"].columns)


def timed(fn, bars: pd.DataFrame) -> float:
    start = time.perf_counter()
    fn(bars)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    bars = synthetic_bars(args.symbols, args.years)
    ours, ref = regimeflex_pipeline(bars), reference_pipeline(bars)
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-7, atol=1e-10)
    # interleaved repetitions, one ratio per repetition: a load spike hits both sides of a pair
    t_ours, t_ref = [], []
    for _ in range(args.repeat):
        t_ours.append(timed(regimeflex_pipeline, bars))
        t_ref.append(timed(reference_pipeline, bars))
    print(f"bench_signals: {args.symbols} symbols x {len(bars)} sessions, {args.repeat} interleaved repetitions")
    med = statistics.median
    print(f"  regimeflex (trend + mean_reversion + budgets + inverse_vol sizing): median {med(t_ours) * 1000:8.1f} ms")
    print(f"  hand-written numpy/pandas reference, same formulas:                 median {med(t_ref) * 1000:8.1f} ms")
    ok = record(
        f"signals + sizing vs hand-written numpy/pandas reference, {args.symbols} symbols",
        samples=[a / b for a, b in zip(t_ours, t_ref)],
        target=2.0,
        detail=f"ours {med(t_ours) * 1000:.0f} ms vs {med(t_ref) * 1000:.0f} ms, {len(bars)} sessions, results checked equal first",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
