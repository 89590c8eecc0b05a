"""The peer benchmark's "regime-trend" from YAML: the ``price_above_both`` trend rule and
``backtest.sleeves`` (one account of initial_cash / N per symbol), checked against the peer
harness's reference recursion (benchmarks/peers/STRATEGY.md) on real SPY/GLD/TLT 2019 bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.backtest import run
from regimeflex.backtest.api import load_bars, period
from regimeflex.backtest.results import entries, rules_line
from regimeflex.builtins.trend import trend_signal
from regimeflex.config import load_settings
from regimeflex.errors import ConfigError
from regimeflex.plugins import PluginHost
from regimeflex.signals.indicators import sma

BOTH = "strategies:\n  trend:\n    plugin: trend\n    budget: 1.0\n    params: {rule: price_above_both, fast: 10, slow: 40}\n"
#: like for like with the peers: no regime scaling, no calendar rule, no breakers, no warm-up cut
NEUTRAL_RISK = (
    "sizer:\n  plugin: sleeve\n"
    "regime:\n  scaling: {bull: 1.0, neutral: 1.0, bear: 1.0, unknown: 1.0}\n"
    "calendar:\n  fomc: {rule: allow}\n"
)


def reference(bars: dict[str, pd.DataFrame], fast: int, slow: int, cash: float) -> tuple[float, int]:
    """STRATEGY.md's equity recursion (what the harness's ref_numpy.py computes): decide at the
    close, fill at the next open, each symbol an independent sleeve of cash / N."""
    close, open_ = bars["close"], bars["open"]
    c, o = close.to_numpy(), open_.to_numpy()
    with np.errstate(invalid="ignore"):
        sig = (c > sma(close, fast).to_numpy()) & (c > sma(close, slow).to_numpy())
    pos = np.zeros_like(sig)
    pos[1:] = sig[:-1]
    prev = np.zeros_like(pos)
    prev[1:] = pos[:-1]
    c_prev = np.vstack([c[:1], c[:-1]])
    growth = np.ones_like(c)
    cont, ent, ext = pos & prev, pos & ~prev, ~pos & prev
    growth[cont] = c[cont] / c_prev[cont]
    growth[ent] = c[ent] / o[ent]
    growth[ext] = o[ext] / c_prev[ext]
    final = (cash / c.shape[1] * np.cumprod(growth, axis=0))[-1].sum()
    return float(final), int(ent.sum())


def test_price_above_both_is_long_only_while_the_close_is_above_both_averages(etf_bars):
    close = etf_bars["close"]
    signal = trend_signal(etf_bars, {"rule": "price_above_both", "fast": 10, "slow": 40})
    above = (close > sma(close, 10)) & (close > sma(close, 40))
    assert signal.iloc[:39].isna().all().all()  # warm-up: the slow average does not exist yet
    assert (signal.iloc[39:] == above.iloc[39:].astype(float)).all().all()
    assert 0 < signal.iloc[39:].to_numpy().mean() < 1  # both states occur in the data


def test_price_above_both_shorts_only_below_both_averages_when_allowed(etf_bars):
    close = etf_bars["close"]
    signal = trend_signal(etf_bars, {"rule": "price_above_both", "fast": 10, "slow": 40, "allow_short": True})
    below = (close < sma(close, 10)) & (close < sma(close, 40))
    assert ((signal.iloc[39:] == -1.0) == below.iloc[39:]).all().all()
    assert below.iloc[39:].to_numpy().any()


def test_price_above_both_needs_fast_below_slow(etf_bars):
    with pytest.raises(ConfigError, match="fast must be below slow, got fast=50 slow=50"):
        trend_signal(etf_bars, {"rule": "price_above_both", "fast": 50, "slow": 50})


def test_sleeves_in_daily_mode_is_a_config_error_naming_the_key(make_project):
    config = make_project(run_extra="backtest:\n  sleeves: true\n")
    with pytest.raises(ConfigError, match=r"sleeves apply to mode: research only.*set mode: research or remove it"):
        load_settings(config)


def test_yaml_sleeves_backtest_equals_the_peer_reference_and_gives_the_benchmark_no_sleeve(make_project):
    """universe GLD, TLT with benchmark SPY: two sleeves of 50,000 (SPY is read for the regime only)."""
    config = make_project(
        run_extra=(
            "backtest:\n  start: 2019-01-02\n  end: 2019-12-31\n  warmup_sessions: 0\n  mode: research\n"
            "  sleeves: true\n  rebalance: on_change\n  breakers: false\n"
        ),
        strategies=BOTH,
    )
    (config / "run.yaml").write_text(
        (config / "run.yaml").read_text().replace("universe: [SPY, GLD, TLT]", "universe: [GLD, TLT]")
    )
    (config / "risk.yaml").write_text(NEUTRAL_RISK)
    settings = load_settings(config)
    bars = load_bars(settings, PluginHost.load(), *period(settings))  # the bars the backtest reads
    result = run(settings)
    final, trades = reference({f: bars[f][["GLD", "TLT"]] for f in ("open", "close")}, 10, 40, 100_000.0)
    assert entries(result.positions) == trades > 0
    assert result.metrics["final_equity"] == pytest.approx(final, rel=1e-12)
    assert list(result.positions.columns) == ["GLD", "TLT"]
    assert rules_line(result.rules).endswith("independent sleeves (one per symbol, initial cash / N each)")
