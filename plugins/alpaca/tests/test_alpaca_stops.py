"""Protective stops at Alpaca (risk.yaml ``stops:``), end to end against the local emulator.

The run places each filled protected entry's stop as a GTC ``stop`` / ``trailing_stop`` sell order
with a deterministic client order id, cancels it before a planned sell of the symbol, and records
a stop that filled between runs as an ordinary fill (reconcile matched).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alpaca_emulator import AlpacaEmulator

from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.session import execute_session
from regimeflex.execution.stops import StopRule
from regimeflex.ledger import read_entries
from regimeflex.ledger.journal import open_journal
from regimeflex.plugins import PluginHost
from regimeflex_alpaca import hooks

KEY, SECRET = "test-key-not-real", "test-secret-not-real"
PRICES = {"SPY": 500.0, "QQQ": 400.0}
DAY1, DAY2, DAY3 = date(2024, 3, 5), date(2024, 3, 6), date(2024, 3, 7)
FIXED = StopRule(kind="fixed", pct=0.05)


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[AlpacaEmulator]:
    emulator = AlpacaEmulator(key=KEY, secret=SECRET, prices=PRICES)
    emulator.base_url = emulator.start()
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    yield emulator
    emulator.stop()


@pytest.fixture
def run(emu: AlpacaEmulator, tmp_path: Path):
    def once(day: date, targets: dict[str, float], stops: StopRule = FIXED):
        with open_journal(tmp_path / "ledger.jsonl") as journal:
            out = execute_session(
                journal=journal,
                host=PluginHost.from_plugins({"alpaca": hooks}),
                broker="alpaca",
                mode="paper",
                session=day,
                targets=targets,
                prices=dict(emu.prices),
                broker_settings={"base_url": emu.base_url, "timeout": 2.0, "backoff": 0.0},
                kill_switch=KillSwitch(tmp_path / "kill_switch.flag"),
                stops=stops,
            )
            return out, journal.state

    return once


def stop_orders(emu: AlpacaEmulator) -> list[dict]:
    return [o for o in emu.orders.values() if o["type"] in ("stop", "trailing_stop")]


def test_a_filled_entry_gets_a_gtc_stop_order_below_its_fill_price(emu, run) -> None:
    out, state = run(DAY1, {"SPY": 0.3})
    [stop] = stop_orders(emu)
    assert (stop["side"], stop["qty"], stop["stop_price"], stop["time_in_force"], stop["status"]) == (
        "sell",
        60.0,
        "475",  # filled at 500, the stop 5% (25.00) below
        "gtc",
        "new",
    )
    assert stop["client_order_id"].startswith("stop-20240305-")
    leg = state.orders[stop["client_order_id"]]
    assert leg.committed and leg.intent["strategy"] == "stops" and leg.intent["entry"] == out.orders[0].client_order_id
    assert out.reconcile.ok


def test_rerunning_the_session_or_the_next_one_never_places_the_stop_twice(emu, run, tmp_path: Path) -> None:
    run(DAY1, {"SPY": 0.3})
    run(DAY1, {"SPY": 0.3})
    out, _ = run(DAY2, {"SPY": 0.3})
    assert len(stop_orders(emu)) == 1 and emu.duplicate_posts == 0
    assert out.reconcile.ok  # the open stop order is a known ledger order, never an unknown_order


def test_a_stop_that_filled_between_runs_is_a_ledger_fill_and_reconcile_stays_matched(emu, run) -> None:
    run(DAY1, {"SPY": 0.3})
    emu.move_price("SPY", 470.0)  # the market trades through the stop at Alpaca overnight
    assert emu.position_qty() == {}
    out, state = run(DAY2, {})
    [stop] = stop_orders(emu)
    fills = [f for f in state.fills.values() if f["client_order_id"] == stop["client_order_id"]]
    assert [(f["side"], f["qty"], f["price"]) for f in fills] == [("sell", 60.0, 470.0)]
    assert state.orders[stop["client_order_id"]].status == "filled"
    assert state.positions() == {} and out.reconcile.ok and out.reconcile.mismatches == []


def test_a_planned_exit_cancels_the_stop_first_and_is_not_rejected(emu, run, tmp_path: Path) -> None:
    run(DAY1, {"SPY": 0.3})
    out, state = run(DAY2, {})  # targets flat: sell the 60 SPY the stop order holds
    [stop] = stop_orders(emu)
    assert stop["status"] == "canceled" and emu.rejected_sells == 0
    assert [r.status for r in out.results] == ["accepted"] and emu.position_qty() == {}
    cancels = [e["data"] for e in read_entries(tmp_path / "ledger.jsonl") if e["kind"] == "cancel"]
    assert [(c["client_order_id"], c["source"]) for c in cancels] == [(stop["client_order_id"], "planned exit")]
    assert len(stop_orders(emu)) == 1 and out.reconcile.ok  # nothing held, no new stop


def test_a_partial_sell_puts_a_new_stop_on_what_is_still_held(emu, run) -> None:
    run(DAY1, {"SPY": 0.3})
    run(DAY2, {"SPY": 0.15})
    first, second = sorted(stop_orders(emu), key=lambda o: o["created_at"])
    assert first["status"] == "canceled" and emu.rejected_sells == 0
    assert (second["qty"], second["stop_price"], second["status"]) == (30.0, "475", "new")
    assert second["client_order_id"] != first["client_order_id"]


def test_a_trailing_stop_is_a_trailing_stop_order_that_follows_the_high(emu, run) -> None:
    run(DAY1, {"SPY": 0.3}, StopRule(kind="trailing", pct=0.02))
    [stop] = stop_orders(emu)
    assert (stop["type"], stop["trail_price"], stop["stop_price"]) == ("trailing_stop", "10", "490")
    emu.move_price("SPY", 520.0)
    emu.move_price("SPY", 509.0)
    assert stop["status"] == "filled" and stop["filled_avg_price"] == 509.0  # 520 − 10 = 510 reached


def test_an_engaged_kill_switch_places_no_stop(emu, run, tmp_path: Path) -> None:
    emu.fill_mode = "none"
    run(DAY1, {"SPY": 0.3})
    emu.fill_remaining()  # the entry fills after the run
    KillSwitch(tmp_path / "kill_switch.flag").engage("test")
    out, _ = run(DAY2, {"SPY": 0.3})
    assert out.killed and stop_orders(emu) == []


def test_a_crash_after_the_stop_was_posted_never_sends_it_twice(emu, tmp_path: Path) -> None:
    """The process dies after Alpaca accepted the stop order but before its ack reached the ledger:
    the rerun finds it by its client order id and sends nothing again."""
    host = PluginHost.from_plugins({"alpaca": hooks})

    class CrashAfterStopPost:
        def __getattr__(self, name):
            return getattr(host, name)

        def execute_orders(self, plugin, *, orders, context):
            results = host.execute_orders(plugin, orders=orders, context=context)
            if orders[0].type == "stop":
                raise SystemExit("crash")  # the POST is done at Alpaca; no ack is written
            return results

    def once(day: date, with_host) -> object:
        with open_journal(tmp_path / "ledger.jsonl") as journal:
            return execute_session(
                journal=journal,
                host=with_host,
                broker="alpaca",
                mode="paper",
                session=day,
                targets={"SPY": 0.3},
                prices=dict(emu.prices),
                broker_settings={"base_url": emu.base_url, "timeout": 2.0, "backoff": 0.0},
                kill_switch=KillSwitch(tmp_path / "kill_switch.flag"),
                stops=FIXED,
            )

    with pytest.raises(SystemExit):
        once(DAY1, CrashAfterStopPost())
    out = once(DAY1, host)
    assert len(stop_orders(emu)) == 1 and emu.duplicate_posts == 0
    assert out.reconcile.ok
