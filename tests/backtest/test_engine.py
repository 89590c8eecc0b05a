"""The fill simulation: timing, costs, rebalancing, breakers, and the two formulations agreeing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regimeflex.backtest.engine import BreakerRule, Breakers, Costs, SimConfig, simulate


def _one_decision(bars, symbol, day, weight=1.0):
    w = pd.DataFrame(0.0, index=bars.index, columns=bars["close"].columns)
    w.loc[w.index[day] :, symbol] = weight
    return w


def _sleeve_reference(bars, signal):
    """STRATEGY.md's equity recursion for independent sleeves (hold = decision of the day before)."""
    c = bars["close"].to_numpy()
    o = bars["open"].to_numpy()
    pos = np.zeros(c.shape, dtype=bool)
    pos[1:] = signal.to_numpy()[:-1] > 0
    prev = np.zeros_like(pos)
    prev[1:] = pos[:-1]
    g = np.ones_like(c)
    c_prev = np.vstack([c[:1], c[:-1]])
    g[pos & prev] = (c / c_prev)[pos & prev]
    g[pos & ~prev] = (c / o)[pos & ~prev]
    g[~pos & prev] = (o / c_prev)[~pos & prev]
    return (100_000.0 / c.shape[1] * np.cumprod(g, axis=0)).sum(axis=1)


def test_decision_at_close_fills_at_next_open(etf_bars):
    res = simulate(_one_decision(etf_bars, "SPY", 10), etf_bars)
    day = int(res.trade_day[0])
    assert day == 11
    assert res.trade_price[0] == etf_bars["open"]["SPY"].iloc[11]
    assert res.shares[11, res.symbols.index("SPY")] == pytest.approx(100_000.0 / res.trade_price[0], rel=1e-12)


def test_next_close_fill_uses_the_next_sessions_close(etf_bars):
    res = simulate(_one_decision(etf_bars, "GLD", 10), etf_bars, SimConfig(fill="next_close"))
    assert res.trade_price[0] == etf_bars["close"]["GLD"].iloc[11]


def test_last_rows_decision_is_never_executed(etf_bars):
    res = simulate(_one_decision(etf_bars, "TLT", len(etf_bars) - 1), etf_bars)
    assert res.trade_day.size == 0
    assert res.final_equity == 100_000.0


def test_first_session_starts_flat_in_cash(etf_bars, trend_weights):
    res = simulate(trend_weights(etf_bars), etf_bars)
    assert res.equity[0] == res.cash[0] == 100_000.0
    assert not res.shares[0].any()


def test_sleeves_match_the_peer_benchmark_recursion_on_real_data(stock_bars):
    full = [s for s in stock_bars["close"].columns if stock_bars["open"][s].notna().all()]
    bars = stock_bars.loc[:, (slice(None), full)]
    c = bars["close"]
    signal = ((c > c.rolling(20).mean()) & (c > c.rolling(60).mean())).astype(float)
    res = simulate(signal, bars, SimConfig(sleeves=True, rebalance="on_change"))
    np.testing.assert_allclose(res.equity, _sleeve_reference(bars, signal), rtol=1e-12)


@pytest.mark.parametrize("rebalance", ["daily", "weekly", "monthly"])
def test_loop_free_and_loop_agree_for_a_shared_book(etf_bars, rebalance, trend_weights):
    w = trend_weights(etf_bars)
    cfg = SimConfig(rebalance=rebalance)
    vec = simulate(w, etf_bars, cfg, method="vectorised")
    loop = simulate(w, etf_bars, cfg, method="loop")
    np.testing.assert_allclose(vec.equity, loop.equity, rtol=1e-12)
    np.testing.assert_allclose(vec.shares, loop.shares, rtol=1e-9, atol=1e-9)
    assert (vec.trade_day.size, vec.trade_sym.tolist()) == (loop.trade_day.size, loop.trade_sym.tolist())


@pytest.mark.parametrize("rebalance", ["on_change", "daily"])
def test_loop_free_and_loop_agree_for_sleeves_with_missing_opens(stock_bars, rebalance, trend_weights):
    w = trend_weights(stock_bars) * 5
    cfg = SimConfig(sleeves=True, rebalance=rebalance)
    vec = simulate(w, stock_bars, cfg, method="vectorised")
    loop = simulate(w, stock_bars, cfg, method="loop")
    np.testing.assert_allclose(vec.equity, loop.equity, rtol=1e-12)
    np.testing.assert_allclose(vec.cash, loop.cash, rtol=1e-12)
    np.testing.assert_allclose(vec.shares, loop.shares, rtol=1e-9, atol=1e-12)
    assert vec.trade_day.tolist() == loop.trade_day.tolist()
    assert vec.trade_sym.tolist() == loop.trade_sym.tolist()
    np.testing.assert_allclose(vec.trade_qty, loop.trade_qty, rtol=1e-9)
    np.testing.assert_array_equal(vec.trade_price, loop.trade_price)


def test_shared_book_with_missing_open_falls_back_to_the_loop(stock_bars, trend_weights):
    w = trend_weights(stock_bars)
    auto = simulate(w, stock_bars)
    loop = simulate(w, stock_bars, method="loop")
    np.testing.assert_array_equal(auto.equity, loop.equity)


def test_missing_open_defers_an_entry_to_the_next_priced_session(stock_bars):
    # DHR has no open on 2015-07-17: a decision on 07-16 fills on 07-20
    day = stock_bars.index.get_loc(pd.Timestamp("2015-07-16"))
    res = simulate(_one_decision(stock_bars, "DHR", day, 0.5), stock_bars, SimConfig(rebalance="on_change"))
    assert stock_bars.index[res.trade_day[0]] == pd.Timestamp("2015-07-20")


def test_unpriced_position_is_valued_at_its_last_close(stock_bars):
    day = stock_bars.index.get_loc(pd.Timestamp("2016-01-05"))
    res = simulate(_one_decision(stock_bars, "O", day), stock_bars, SimConfig(rebalance="on_change"))
    t = stock_bars.index.get_loc(pd.Timestamp("2016-01-12"))  # O has a close but no open that day
    j = res.symbols.index("O")
    assert res.equity[t] == pytest.approx(res.cash[t] + res.shares[t, j] * stock_bars["close"]["O"].iloc[t])


def test_commission_per_share_and_bps_are_charged_on_each_fill(etf_bars):
    cfg = SimConfig(costs=Costs(commission_per_share=0.005, commission_bps=2.0))
    res = simulate(_one_decision(etf_bars, "SPY", 10), etf_bars, cfg)
    qty, price = res.trade_qty[0], res.trade_price[0]
    expected = qty * 0.005 + qty * price * 2e-4
    assert res.trade_commission[0] == pytest.approx(expected, rel=1e-12)
    assert res.cash[11] == pytest.approx(100_000.0 - qty * price - expected, rel=1e-12)


def test_slippage_moves_buys_up_and_sells_down(etf_bars):
    w = _one_decision(etf_bars, "SPY", 10)
    w.loc[w.index[20] :, "SPY"] = 0.0
    res = simulate(w, etf_bars, SimConfig(costs=Costs(slippage_bps=10.0), rebalance="on_change"))
    o = etf_bars["open"]["SPY"]
    assert res.trade_price.tolist() == pytest.approx([o.iloc[11] * 1.001, o.iloc[21] * 0.999], rel=1e-12)


def test_weekly_rebalance_trades_only_on_each_weeks_first_session(etf_bars, trend_weights):
    w = trend_weights(etf_bars)
    res = simulate(w, etf_bars, SimConfig(rebalance="weekly"))
    days = etf_bars.index[np.unique(res.trade_day)]
    prev = etf_bars.index[np.unique(res.trade_day) - 1]
    assert ((days.to_period("W") != prev.to_period("W")) | (days == etf_bars.index[1])).all()


def test_min_trade_weight_suppresses_drift_trades(etf_bars):
    w = pd.DataFrame(1 / 3, index=etf_bars.index, columns=etf_bars["close"].columns)
    busy = simulate(w, etf_bars, SimConfig(rebalance="daily"))
    calm = simulate(w, etf_bars, SimConfig(rebalance="daily", min_trade_weight=0.02))
    assert calm.trade_day.size < busy.trade_day.size / 10
    assert np.unique(calm.trade_day[:3]).tolist() == [1]


def test_whole_shares_are_truncated(etf_bars, trend_weights):
    res = simulate(trend_weights(etf_bars), etf_bars, SimConfig(fractional=False))
    assert np.array_equal(res.shares, np.trunc(res.shares))
    assert res.shares.any()


def test_sleeves_never_lend_cash_to_each_other(etf_bars):
    w = _one_decision(etf_bars, "SPY", 5)
    res = simulate(w, etf_bars, SimConfig(sleeves=True))
    j = res.symbols.index("SPY")
    assert res.trade_qty[0] * res.trade_price[0] == pytest.approx(100_000.0 / 3, rel=1e-12)
    assert res.shares[-1, j] == pytest.approx(res.trade_qty[0], rel=1e-12)


def _falling_bars(bars, symbol, day, drop):
    """Real bars with one symbol's prices cut by ``drop`` from ``day`` on (a crash)."""
    b = bars.copy()
    for f in ("open", "high", "low", "close"):
        b.loc[b.index[day] :, (f, symbol)] *= 1 - drop
    return b


def test_max_drawdown_breaker_flattens_from_the_next_session(etf_bars):
    bars = _falling_bars(etf_bars, "SPY", 100, 0.3)
    w = pd.DataFrame(0.0, index=bars.index, columns=bars["close"].columns)
    w["SPY"] = 1.0
    res = simulate(w, bars, SimConfig(breakers=Breakers((BreakerRule("max_drawdown", 0.2),))))
    assert res.shares[100].any() and not res.breaker[100]
    assert res.breaker[101] and not res.shares[101].any()
    assert not res.shares[101:].any()


def test_drawdown_below_threshold_does_not_trip(etf_bars):
    bars = _falling_bars(etf_bars, "SPY", 100, 0.1)
    w = pd.DataFrame(0.0, index=bars.index, columns=bars["close"].columns)
    w["SPY"] = 1.0
    res = simulate(w, bars, SimConfig(breakers=Breakers((BreakerRule("max_drawdown", 0.5),))))
    assert not res.breaker.any()


def test_daily_loss_breaker_with_next_session_reset_acts_once(etf_bars):
    bars = _falling_bars(etf_bars, "SPY", 100, 0.1)
    w = pd.DataFrame(0.0, index=bars.index, columns=bars["close"].columns)
    w["SPY"] = 1.0
    res = simulate(w, bars, SimConfig(breakers=Breakers((BreakerRule("daily_loss", 0.05, reset="next_session"),))))
    assert res.breaker[101] and not res.shares[101].any()
    assert not res.breaker[102] and res.shares[102].any()


def test_reduce_action_scales_targets(etf_bars):
    bars = _falling_bars(etf_bars, "SPY", 100, 0.3)
    w = pd.DataFrame(0.0, index=bars.index, columns=bars["close"].columns)
    w["SPY"] = 1.0
    res = simulate(w, bars, SimConfig(breakers=Breakers((BreakerRule("max_drawdown", 0.2, action="reduce:0.5"),))))
    j = res.symbols.index("SPY")
    value = res.shares[101, j] * bars["open"]["SPY"].iloc[101]
    e_open = res.cash[101] + value
    assert value / e_open == pytest.approx(0.5, rel=1e-12)


def test_block_entries_keeps_existing_positions_but_opens_none(etf_bars):
    bars = _falling_bars(etf_bars, "SPY", 100, 0.3)
    w = pd.DataFrame(0.0, index=bars.index, columns=bars["close"].columns)
    w["SPY"] = 1.0
    w.loc[w.index[120] :, "SPY"] = 0.5
    w.loc[w.index[120] :, "GLD"] = 0.5
    res = simulate(w, bars, SimConfig(breakers=Breakers((BreakerRule("max_drawdown", 0.2, action="block_entries"),))))
    g = res.symbols.index("GLD")
    s = res.symbols.index("SPY")
    assert not res.shares[:, g].any()
    assert 0 < res.shares[-1, s] < res.shares[100, s]


def test_same_inputs_give_identical_arrays(stock_bars, trend_weights):
    cfg = SimConfig(costs=Costs(commission_bps=1, slippage_bps=2), min_trade_weight=0.01)
    a = simulate(trend_weights(stock_bars), stock_bars, cfg)
    b = simulate(trend_weights(stock_bars), stock_bars, cfg)
    assert a.equity.tobytes() == b.equity.tobytes() and a.shares.tobytes() == b.shares.tobytes()


def test_vectorised_method_refuses_a_path_dependent_config(etf_bars, trend_weights):
    with pytest.raises(ValueError) as e:
        simulate(trend_weights(etf_bars), etf_bars, SimConfig(min_trade_weight=0.01), method="vectorised")
    assert str(e.value) == (
        "simulate(method='vectorised'): costs, whole shares, min_trade_weight and "
        "breakers need the date loop; use method='loop' or 'auto'"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fill": "open"}, "fill: must be one of ['next_open', 'next_close'], got 'open'"),
        (
            {"rebalance": "hourly"},
            "rebalance: must be one of ['daily', 'weekly', 'monthly', 'on_change'], got 'hourly'",
        ),
        ({"initial_cash": 0}, "initial_cash: must be > 0, got 0"),
        ({"min_trade_weight": -1}, "min_trade_weight: must be >= 0, got -1"),
    ],
)
def test_bad_config_is_refused_with_the_key_and_value(kwargs, message):
    with pytest.raises(ValueError) as e:
        SimConfig(**kwargs)
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"measure": "max_drawdown", "threshold": 0.2, "action": "reduce:2"},
            "breakers: action must be flatten, block_entries or reduce:<0..1>, got 'reduce:2'",
        ),
        (
            {"measure": "daily_loss", "threshold": 1.5},
            "breakers.daily_loss.threshold: must be between 0 and 1, got 1.5",
        ),
        ({"measure": "vix", "threshold": 0.5}, "breakers: measure must be max_drawdown or daily_loss, got 'vix'"),
    ],
)
def test_bad_breaker_rule_is_refused_with_the_key_and_value(kwargs, message):
    with pytest.raises(ValueError) as e:
        BreakerRule(**kwargs)
    assert str(e.value) == message


def test_recovery_reset_releases_once_drawdown_falls_below_the_level(etf_bars):
    bars = _falling_bars(etf_bars, "SPY", 100, 0.3)
    for f in ("open", "high", "low", "close"):  # and a rebound 20 sessions later
        bars.loc[bars.index[120] :, (f, "SPY")] /= 0.7
    w = pd.DataFrame(0.0, index=bars.index, columns=bars["close"].columns)
    w["SPY"] = 1.0
    rule = BreakerRule("max_drawdown", 0.2, action="reduce:0.5", reset="recovery", recover_below=0.18)
    res = simulate(w, bars, SimConfig(breakers=Breakers((rule,))))
    dd = 1 - res.equity / np.maximum.accumulate(res.equity)
    assert dd[120] < 0.18 < dd[119]  # the rebound brings the drawdown under the level
    assert res.breaker[101:121].all()
    assert not res.breaker[121:].any()


def test_strictest_of_several_tripped_breakers_applies(etf_bars):
    bars = _falling_bars(etf_bars, "SPY", 100, 0.3)
    w = pd.DataFrame(0.0, index=bars.index, columns=bars["close"].columns)
    w["SPY"] = 1.0
    rules = (BreakerRule("max_drawdown", 0.2, action="reduce:0.5"), BreakerRule("daily_loss", 0.2))
    res = simulate(w, bars, SimConfig(breakers=Breakers(rules)))
    assert not res.shares[101].any()
