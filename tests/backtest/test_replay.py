"""``backtest.mode: daily`` (the default): the daily run's planner and the paper broker's fills over history."""

from __future__ import annotations

import pytest

from regimeflex.backtest import run
from regimeflex.config import load_settings

PLANNER = "backtest:\n  start: 2019-06-03\n  end: 2019-12-31\n  warmup_sessions: 60\n"


@pytest.fixture(scope="module")
def planned(make_shared_project):
    """The planner-mode backtest and the bars it traded on."""
    from regimeflex.backtest.api import load_bars, period
    from regimeflex.plugins import PluginHost

    config = make_shared_project(run_extra=PLANNER)
    (config / "broker.yaml").write_text("broker: paper\nbrokers:\n  paper: {slippage_bps: 5}\n")
    settings = load_settings(config)
    return run(settings), load_bars(settings, PluginHost.load(), *period(settings))


def test_planner_orders_fill_at_the_next_sessions_open(planned):
    result, _bars = planned
    sessions = result.equity.index
    orders = result.orders[result.orders["date"] < sessions[-1]]  # the last session's orders fill after the end
    assert len(orders) > 3
    following = {day: sessions[i + 1] for i, day in enumerate(sessions[:-1])}
    expected = sorted((following[r.date], r.symbol, r.side, r.qty) for r in orders.itertuples())
    assert sorted((t.date, t.symbol, t.side, t.qty) for t in result.trades.itertuples()) == expected


def test_planner_fill_prices_are_the_open_plus_the_paper_brokers_slippage(planned):
    result, bars = planned
    trades = result.trades
    opens = [float(bars["open"].at[t.date, t.symbol]) for t in trades.itertuples()]
    expected = [round(o * (1 + 5e-4 if t.side == "buy" else 1 - 5e-4), 6) for o, t in zip(opens, trades.itertuples())]
    assert trades["price"].tolist() == pytest.approx(expected, abs=1e-9)
    assert trades["slippage"].tolist() == pytest.approx(
        [q * abs(p - o) for q, p, o in zip(trades["qty"], trades["price"], opens)], rel=1e-9
    )


def test_planner_equity_is_cash_plus_positions_at_the_close(planned):
    result, bars = planned
    close = bars["close"].ffill().reindex(index=result.positions.index, columns=result.positions.columns)
    value = (result.positions * close).sum(axis=1)
    assert (result.equity["cash"] + value - result.equity["equity"]).abs().max() < 1e-6


def test_research_mode_reports_no_orders(make_project):
    config = make_project(
        run_extra="backtest:\n  start: 2019-06-03\n  end: 2019-12-31\n  warmup_sessions: 60\n  mode: research\n"
    )
    assert run(load_settings(config)).orders is None


def test_an_in_memory_paper_book_refuses_to_save():
    from regimeflex.builtins.paper import PaperBook, PaperSettings

    with pytest.raises(ValueError) as err:
        PaperBook.in_memory(PaperSettings(), 1_000.0).save()
    assert str(err.value) == "an in-memory paper book has no state file to save"


def with_stops(config, kind: str = "trailing"):
    risk = config / "risk.yaml"
    risk.write_text(risk.read_text() + f"\nstops: {{kind: {kind}, pct: 0.02}}\n")
    return config


def test_planner_backtest_with_stops_sells_on_stop_fills(make_project):
    config = with_stops(make_project(run_extra=PLANNER))
    (config / "broker.yaml").write_text("broker: paper\nbrokers:\n  paper: {slippage_bps: 0}\n")
    result = run(load_settings(config))
    plain = make_project(run_extra=PLANNER)
    (plain / "broker.yaml").write_text("broker: paper\nbrokers:\n  paper: {slippage_bps: 0}\n")
    unprotected = run(load_settings(plain)).trades
    # the stopped-out positions are sold (and bought back) where the unprotected book just holds
    assert (result.trades["side"] == "sell").sum() > (unprotected["side"] == "sell").sum()


def test_research_backtest_simulates_stops_and_marks_their_exits(make_project):
    config = with_stops(make_project(run_extra="backtest:\n  start: 2019-06-03\n  end: 2019-12-31\n  mode: research\n"))
    result = run(load_settings(config))
    stops = result.trades[result.trades["event"] == "stop"]
    assert len(stops) > 0 and (stops["side"] == "sell").all()
    assert result.rules["stops"] == {
        "kind": "trailing",
        "simulated": True,
        "pct": 0.02,
        "take_profit_pct": None,
        "cooldown_sessions": 0,
    }
