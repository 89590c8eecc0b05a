"""Protective stops (risk.yaml ``stops:``): the paper broker and the backtest's replay fill them alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeflex.backtest.replay import ReplayConfig, replay
from regimeflex.execution.planner import plan_orders
from regimeflex.execution.reconcile import fill_data
from regimeflex.execution.session import intent_data, order_from_intent
from regimeflex.execution.simulator import PaperBook, PaperSettings
from regimeflex.execution.stops import (
    StopRule,
    attach_stops,
    ratchet,
    stop_fill_price,
    take_profit_fill_price,
)
from regimeflex.types import BrokerContext, Order, ProtectiveStop, make_bars

DATA = Path(__file__).resolve().parents[1] / "data"
NO_SLIP = PaperSettings(slippage_bps=0.0)


def bars_of(rows: list[tuple[float, float, float, float]], symbol: str = "AAA") -> pd.DataFrame:
    """Bars for one symbol from (open, high, low, close) rows on consecutive business days."""
    idx = pd.bdate_range("2024-01-02", periods=len(rows))
    frame = pd.DataFrame(rows, index=idx, columns=["open", "high", "low", "close"])
    fields = {f: frame[[f]].rename(columns={f: symbol}) for f in frame.columns}
    fields["volume"] = pd.DataFrame({symbol: 1e6}, index=idx)
    return make_bars(fields)


def entry(protect: ProtectiveStop, qty: float = 10) -> Order:
    return Order("AAA", "buy", qty, "entry-1", reference_price=100.0, session=date(2024, 1, 2), protect=protect)


def book_after(rows: list[tuple[float, float, float, float]], protect: ProtectiveStop) -> PaperBook:
    bars = bars_of(rows)
    book = PaperBook.in_memory(NO_SLIP, 10_000.0, bars)
    book.submit(entry(protect))
    book.process()
    return book


def stop_fills(book: PaperBook) -> list[tuple[str, str, float, float]]:
    return [(f["client_order_id"], f["ts"][:10], f["qty"], f["price"]) for f in book.fills if f["side"] == "sell"]


# ------------------------------------------------------------------ the daily-bar rules


def test_long_stop_fills_at_the_stop_when_the_low_reaches_it():
    assert stop_fill_price(95.0, open_=97.0, low=94.0) == 95.0


def test_long_stop_fills_at_the_open_when_the_open_gaps_through_it():
    assert stop_fill_price(95.0, open_=93.0, low=90.0) == 93.0


def test_long_stop_does_not_trigger_while_the_low_stays_above_it():
    assert stop_fill_price(95.0, open_=97.0, low=95.01) is None


def test_take_profit_fills_at_its_level_or_at_an_open_above_it():
    assert take_profit_fill_price(110.0, open_=105.0, high=111.0) == 110.0
    assert take_profit_fill_price(110.0, open_=112.0, high=113.0) == 112.0
    assert take_profit_fill_price(110.0, open_=105.0, high=109.0) is None


def test_trailing_stop_ratchets_up_with_the_close_and_never_down():
    assert ratchet(90.0, close=104.0, distance=10.0) == 94.0
    assert ratchet(94.0, close=99.0, distance=10.0) == 94.0


# ------------------------------------------------------------------ the paper book


def test_a_filled_buy_places_its_stop_below_the_fill_price():
    book = book_after([(100, 101, 99, 100), (102, 103, 101, 102)], ProtectiveStop(distance=5.0))
    assert book.stops["AAA"]["stop"] == 97.0  # filled at 102's open
    assert book.stops["AAA"]["placed"] == "2024-01-03"


def test_stop_sells_the_position_at_the_stop_in_a_later_session():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (99, 99.5, 94, 96)]
    book = book_after(rows, ProtectiveStop(distance=5.0))
    assert stop_fills(book) == [("stop-paper-000002", "2024-01-04", 10.0, 95.0)]
    assert book.positions() == {}
    assert book.stops == {}
    assert book.cash == pytest.approx(10_000.0 - 1_000.0 + 950.0)


def test_stop_fills_at_the_open_when_the_session_gaps_below_it():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (90, 92, 88, 91)]
    book = book_after(rows, ProtectiveStop(distance=5.0))
    assert stop_fills(book) == [("stop-paper-000002", "2024-01-04", 10.0, 90.0)]


def test_take_profit_sells_the_position_at_its_level():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (101, 111, 100, 108)]
    book = book_after(rows, ProtectiveStop(distance=5.0, take_profit=10.0))
    assert stop_fills(book) == [("takeprofit-paper-000002", "2024-01-04", 10.0, 110.0)]


def test_paper_stop_outs_reach_the_ledger_as_fills_with_their_reason():
    """The same ``reason`` (stop | take_profit) an Alpaca OCO leg's fill carries."""
    stopped = book_after(
        [(100, 101, 99, 100), (100, 101, 99, 100), (99, 99.5, 94, 96)], ProtectiveStop(5.0, False, 10.0)
    )
    took = book_after(
        [(100, 101, 99, 100), (100, 101, 99, 100), (101, 111, 100, 108)], ProtectiveStop(5.0, False, 10.0)
    )
    assert [PaperBook.fill(f).reason for b in (stopped, took) for f in b.fills if f["side"] == "sell"] == [
        "stop",
        "take_profit",
    ]
    assert fill_data(PaperBook.fill(took.fills[-1]))["reason"] == "take_profit"


def test_trailing_stop_follows_the_closes_then_fills_at_the_ratcheted_level():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (101, 106, 100, 105), (104, 104, 97, 98)]
    book = book_after(rows, ProtectiveStop(distance=5.0, trailing=True))
    # placed at 95 (fill 100); the 2024-01-04 close of 105 lifts it to 100; the next low of 97 takes it
    assert stop_fills(book) == [("stop-paper-000002", "2024-01-05", 10.0, 100.0)]


def test_a_planned_sell_cancels_the_stop_before_the_exit():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 99, 100), (90, 91, 80, 85)]
    bars = bars_of(rows)
    book = PaperBook.in_memory(NO_SLIP, 10_000.0, bars.iloc[:2])
    book.submit(entry(ProtectiveStop(distance=5.0)))
    book.process()
    book.submit(Order("AAA", "sell", 10, "exit-1", reference_price=100.0, session=date(2024, 1, 3)))
    assert book.stops == {}
    book.prices = bars
    book.process()
    assert stop_fills(book) == [("exit-1", "2024-01-04", 10.0, 100.0)]


def test_stops_survive_the_paper_brokers_state_file(tmp_path: Path):
    bars = bars_of([(100, 101, 99, 100), (100, 101, 99, 100), (99, 99.5, 94, 96)])
    ctx = BrokerContext(mode="paper", session=date(2024, 1, 2), settings={"slippage_bps": 0}, state_dir=tmp_path)
    book = PaperBook.load(ctx)
    book.prices = bars.iloc[:2]
    book.submit(entry(ProtectiveStop(distance=5.0)))
    book.process()
    book.save()
    again = PaperBook.load(ctx)
    again.prices = bars
    again.process()
    assert stop_fills(again) == [("stop-paper-000002", "2024-01-04", 10.0, 95.0)]


# ------------------------------------------------------------------ planning and the ledger


def test_attach_stops_gives_buys_a_stop_and_leaves_sells_alone():
    buy = Order("AAA", "buy", 1, "b", reference_price=200.0)
    sell = Order("BBB", "sell", 1, "s", reference_price=50.0)
    orders, notes = attach_stops([buy, sell], StopRule(kind="fixed", pct=0.05, take_profit_pct=0.1))
    assert orders[0].protect == ProtectiveStop(distance=10.0, trailing=False, take_profit=20.0)
    assert orders[1].protect is None
    assert notes == []


def test_atr_stop_sizes_from_atr_and_says_so_when_there_is_none():
    buy = Order("AAA", "buy", 1, "b", reference_price=200.0)
    rule = StopRule(kind="atr", atr_multiple=2.0)
    orders, _ = attach_stops([buy], rule, {"AAA": 3.0})
    assert orders[0].protect == ProtectiveStop(distance=6.0)
    orders, notes = attach_stops([buy], rule, {"AAA": float("nan")})
    assert orders[0].protect is None
    assert notes == ["stops: no atr stop for AAA (no ATR or reference price yet)"]


def test_the_intent_in_the_ledger_records_the_stop_and_reads_back():
    order = Order("AAA", "buy", 3, "b", reference_price=100.0, protect=ProtectiveStop(4.0, True, 8.0))
    data = intent_data(order, "paper")
    assert data["protect"] == {"distance": 4.0, "trailing": True, "take_profit": 8.0}
    assert order_from_intent(data) == order


def test_risk_yaml_stops_section_is_validated():
    from pydantic import ValidationError

    from regimeflex.config.risk import RiskSettings

    assert RiskSettings.model_validate({"stops": {"kind": "trailing", "pct": 0.1}}).stops.pct == 0.1
    with pytest.raises(ValidationError):
        RiskSettings.model_validate({"stops": {"kind": "percent"}})


# ------------------------------------------------------------------ parity on real data


def real_bars(sessions: int = 60) -> pd.DataFrame:
    fields: dict[str, dict[str, pd.Series]] = {}
    for sym in ("SPY", "GLD"):
        raw = pd.read_csv(DATA / f"{sym}-2019-lumibot.csv", parse_dates=["Date"], index_col="Date").iloc[:sessions]
        for f in ("open", "high", "low", "close", "volume"):
            fields.setdefault(f, {})[sym] = raw[f.capitalize()]
    return make_bars({f: pd.DataFrame(cols) for f, cols in fields.items()})


def test_daily_paper_runs_and_the_backtest_replay_fill_the_same_stops_over_60_real_sessions(tmp_path: Path):
    bars = real_bars(60)
    weights = pd.DataFrame(0.45, index=bars.index, columns=["GLD", "SPY"])
    rule = StopRule(kind="trailing", pct=0.015)
    config = ReplayConfig(initial_cash=100_000.0, stops=rule, paper=PaperSettings(slippage_bps=5))
    sim, _orders = replay(weights, bars, config)

    # the same 60 sessions as daily paper runs: a fresh book from the state file every session
    closes = bars["close"]
    for i, day in enumerate(bars.index):
        ctx = BrokerContext(
            mode="paper",
            session=day.date(),
            settings={"slippage_bps": 5},
            state_dir=tmp_path,
            prices=bars.iloc[: i + 1],
        )
        book = PaperBook.load(ctx)
        book.process()
        plan = plan_orders(weights.iloc[i], closes.iloc[i], book.account(), session=day.date())
        planned, _ = attach_stops(plan.orders, rule)
        for order in planned:
            book.submit(order)
        book.save()
    paper = PaperBook.load(ctx)
    paper_fills = [(f["ts"][:10], f["symbol"], f["side"], f["qty"], f["price"]) for f in paper.fills]
    stop_outs = [f for f in paper.fills if f["client_order_id"].startswith("stop-")]
    assert len(stop_outs) >= 2  # the trailing stop really fired on real data
    replay_fills = [
        (bars.index[d].date().isoformat(), sim.symbols[s], "buy" if q > 0 else "sell", abs(q), p)
        for d, s, q, p in zip(sim.trade_day, sim.trade_sym, sim.trade_qty, sim.trade_price)
    ]
    assert replay_fills == paper_fills
    assert sim.equity[-1] == pytest.approx(paper.account().equity)
    assert np.isfinite(sim.equity).all()


def test_a_partial_planned_sell_leaves_the_stop_on_the_rest():
    bars = bars_of([(100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 99, 100), (99, 99, 90, 92)])
    book = PaperBook.in_memory(NO_SLIP, 10_000.0, bars.iloc[:2])
    book.submit(entry(ProtectiveStop(distance=5.0)))
    book.process()
    book.submit(Order("AAA", "sell", 4, "trim-1", reference_price=100.0, session=date(2024, 1, 3)))
    book.prices = bars
    book.process()
    assert stop_fills(book) == [("trim-1", "2024-01-04", 4.0, 100.0), ("stop-paper-000003", "2024-01-05", 6.0, 95.0)]


# ------------------------------------------------------------------ re-entry cooldown


def test_a_stopped_out_symbol_is_refused_for_cooldown_sessions_then_allowed_again():
    from regimeflex.execution.stops import refuse_reentries

    sessions = pd.bdate_range("2024-01-02", periods=6)
    stop_out = [{"client_order_id": "stop-paper-000002", "symbol": "AAA", "side": "sell", "ts": "2024-01-03T14:30"}]
    buy = Order("AAA", "buy", 1, "b", reference_price=100.0)
    refused_on = [
        day.date().isoformat()
        for day in sessions
        if refuse_reentries([buy], stop_out, sessions, day.date(), cooldown=2)[1]
    ]
    assert refused_on == ["2024-01-03", "2024-01-04", "2024-01-05"]  # the stop-out session and 2 after it
    kept, refused = refuse_reentries([buy], stop_out, sessions, date(2024, 1, 4), cooldown=2)
    assert kept == [] and refused == [
        (
            "AAA",
            "re-entry refused: stopped out on 2024-01-03 (1 of stops.cooldown_sessions=2 session(s) since, risk.yaml)",
        )
    ]


def test_a_take_profit_or_a_planned_sell_starts_no_cooldown():
    from regimeflex.execution.stops import refuse_reentries

    sessions = pd.bdate_range("2024-01-02", periods=3)
    fills = [
        {"client_order_id": "takeprofit-paper-000002", "symbol": "AAA", "side": "sell", "ts": "2024-01-03T14:30"},
        {"client_order_id": "rf-20240103-x", "symbol": "BBB", "side": "sell", "ts": "2024-01-03T14:30"},
    ]
    buys = [Order("AAA", "buy", 1, "a", reference_price=1.0), Order("BBB", "buy", 1, "b", reference_price=1.0)]
    assert refuse_reentries(buys, fills, sessions, date(2024, 1, 4), cooldown=5) == (buys, [])


def test_daily_paper_runs_and_the_replay_refuse_the_same_reentries_over_60_real_sessions(tmp_path: Path):
    from regimeflex.builtins import paper
    from regimeflex.execution.session import execute_session
    from regimeflex.ledger.journal import open_journal
    from regimeflex.plugins import PluginHost

    bars = real_bars(60)
    weights = pd.DataFrame(0.45, index=bars.index, columns=["GLD", "SPY"])
    rule = StopRule(kind="trailing", pct=0.015, cooldown_sessions=3)
    config = ReplayConfig(initial_cash=100_000.0, stops=rule, paper=PaperSettings(slippage_bps=5))
    sim, replay_orders = replay(weights, bars, config)
    without, _ = replay(
        weights,
        bars,
        ReplayConfig(
            initial_cash=100_000.0, stops=replace(rule, cooldown_sessions=0), paper=PaperSettings(slippage_bps=5)
        ),
    )

    host = PluginHost.from_plugins({"paper": paper})
    refusals: list[tuple[date, str]] = []
    with open_journal(tmp_path / "logs" / "ledger.jsonl") as journal:
        for i, day in enumerate(bars.index):
            out = execute_session(
                journal=journal,
                host=host,
                broker="paper",
                mode="paper",
                session=day.date(),
                targets=weights.iloc[i],
                prices=bars["close"].iloc[i],
                bars=bars.iloc[: i + 1],
                broker_settings={"slippage_bps": 5},
                state_dir=tmp_path / "state",
                initial_equity=100_000.0,
                stops=rule,
            )
            refusals += [(day.date(), s.symbol) for s in out.skipped if s.reason.startswith("re-entry refused")]
        ledger_fills = sorted(
            (f["ts"][:10], f["symbol"], f["side"], f["qty"], f["price"]) for f in journal.state.fills.values()
        )
    replay_fills = sorted(
        (bars.index[d].date().isoformat(), sim.symbols[s], "buy" if q > 0 else "sell", abs(q), p)
        for d, s, q, p in zip(sim.trade_day, sim.trade_sym, sim.trade_qty, sim.trade_price)
    )
    assert refusals  # the cooldown really refused re-entries on real data
    assert ledger_fills == replay_fills
    replay_buys = {
        (d.date(), s)
        for d, s, side in zip(replay_orders["date"], replay_orders["symbol"], replay_orders["side"])
        if side == "buy"
    }
    assert not replay_buys & set(refusals)  # the replay planned no buy where the daily run refused one
    assert len(without.trade_day) > len(sim.trade_day)  # and without the cooldown it would have re-entered


def test_a_take_profit_fill_of_a_one_cancels_other_exit_is_not_a_stop_out_for_the_cooldown() -> None:
    from regimeflex.execution.stops import stop_outs

    oco = {"client_order_id": "stop-20240305-0123456789", "side": "sell", "symbol": "SPY"}
    fills = [
        {**oco, "ts": "2024-03-06T15:00:00+00:00", "reason": "take_profit"},
        {**oco, "symbol": "QQQ", "ts": "2024-03-07T15:00:00+00:00", "reason": "stop"},
    ]
    assert stop_outs(fills) == {"QQQ": date(2024, 3, 7)}
