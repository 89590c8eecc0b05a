"""Take-profit at Alpaca (risk.yaml ``stops.take_profit_pct``), end to end against the local emulator.

A protected entry with a take-profit gets one OCO exit once it fills (``order_class: "oco"``: a GTC
limit sell at the take-profit, the stop as its leg) instead of a plain stop order; whichever leg
fills between runs is a ledger fill of the known order with ``reason`` ``take_profit`` or ``stop``;
a planned exit cancels the OCO first; a crash between the POST and its ack never sends it twice;
a trailing stop with a take-profit is refused before Alpaca is contacted.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
import yaml
from alpaca_emulator import AlpacaEmulator

from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.session import execute_session
from regimeflex.execution.stops import StopRule
from regimeflex.ledger import read_entries
from regimeflex.ledger.journal import open_journal
from regimeflex.plugins import PluginHost
from regimeflex_alpaca import hooks

REPO = Path(__file__).resolve().parents[3]
KEY, SECRET = "test-key-not-real", "test-secret-not-real"
PRICES = {"SPY": 500.0, "QQQ": 400.0}
DAY1, DAY2 = date(2024, 3, 5), date(2024, 3, 6)
#: a 5% stop (475.00 under a 500 fill) and a 10% take-profit (550.00)
WITH_TP = StopRule(kind="fixed", pct=0.05, take_profit_pct=0.10)


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[AlpacaEmulator]:
    emulator = AlpacaEmulator(key=KEY, secret=SECRET, prices=PRICES)
    emulator.base_url = emulator.start()
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    yield emulator
    emulator.stop()


def session_run(emu: AlpacaEmulator, tmp_path: Path, day: date, targets: dict[str, float], host=None):
    with open_journal(tmp_path / "ledger.jsonl") as journal:
        out = execute_session(
            journal=journal,
            host=host or PluginHost.from_plugins({"alpaca": hooks}),
            broker="alpaca",
            mode="paper",
            session=day,
            targets=targets,
            prices=dict(emu.prices),
            broker_settings={"base_url": emu.base_url, "timeout": 2.0, "backoff": 0.0},
            kill_switch=KillSwitch(tmp_path / "kill_switch.flag"),
            stops=WITH_TP,
        )
        return out, journal.state


def oco_exits(emu: AlpacaEmulator) -> list[dict]:
    return [o for o in emu.orders.values() if o["order_class"] == "oco" and not o["parent"]]


def leg_of(emu: AlpacaEmulator, parent: dict) -> dict:
    return emu.orders[parent["legs"][0]]


def fills_of(state, coid: str) -> list[dict]:
    return [f for f in state.fills.values() if f["client_order_id"] == coid]


def test_a_filled_entry_with_a_take_profit_gets_one_gtc_oco_exit_with_both_levels(emu, tmp_path) -> None:
    out, state = session_run(emu, tmp_path, DAY1, {"SPY": 0.3})
    [oco] = oco_exits(emu)
    leg = leg_of(emu, oco)
    assert (oco["side"], oco["qty"], oco["type"], oco["limit_price"], oco["time_in_force"], oco["status"]) == (
        "sell",
        60.0,
        "limit",
        "550",  # filled at 500, the take-profit 10% (50.00) above
        "gtc",
        "new",
    )
    assert (leg["type"], leg["stop_price"], leg["status"]) == ("stop", "475", "held")  # the stop 5% below
    assert [o for o in emu.orders.values() if o["type"] in ("stop", "trailing_stop") and not o["parent"]] == []
    view = state.orders[oco["client_order_id"]]
    assert oco["client_order_id"].startswith("stop-20240305-") and view.committed
    assert (view.intent["stop_price"], view.intent["take_profit_price"]) == (475.0, 550.0)
    assert out.reconcile.ok  # the leg, nested under its parent, is never an unknown order


def test_a_take_profit_filled_between_runs_is_a_take_profit_fill_and_the_stop_leg_is_canceled(emu, tmp_path) -> None:
    session_run(emu, tmp_path, DAY1, {"SPY": 0.3})
    emu.move_price("SPY", 551.0)  # the market trades through the take-profit at Alpaca overnight
    [oco] = oco_exits(emu)
    assert emu.position_qty() == {} and leg_of(emu, oco)["status"] == "canceled"
    out, state = session_run(emu, tmp_path, DAY2, {})
    fills = fills_of(state, oco["client_order_id"])
    assert [(f["side"], f["qty"], f["price"], f["reason"]) for f in fills] == [("sell", 60.0, 551.0, "take_profit")]
    assert state.orders[oco["client_order_id"]].status == "filled"
    assert state.positions() == {} and out.reconcile.ok and out.reconcile.mismatches == []


def test_a_stop_leg_filled_between_runs_is_a_stop_fill_of_the_oco_and_reconcile_stays_matched(emu, tmp_path) -> None:
    session_run(emu, tmp_path, DAY1, {"SPY": 0.3})
    emu.move_price("SPY", 470.0)  # through the stop leg
    [oco] = oco_exits(emu)
    assert oco["status"] == "canceled" and leg_of(emu, oco)["status"] == "filled"
    out, state = session_run(emu, tmp_path, DAY2, {})
    fills = fills_of(state, oco["client_order_id"])  # the leg's fill belongs to the OCO's client order id
    assert [(f["side"], f["qty"], f["price"], f["reason"]) for f in fills] == [("sell", 60.0, 470.0, "stop")]
    view = state.orders[oco["client_order_id"]]
    assert (view.status, view.filled_qty) == ("filled", 60.0)
    assert state.positions() == {} and out.reconcile.ok and out.reconcile.mismatches == []


def test_a_stop_leg_fill_is_found_when_single_order_lookups_do_not_nest_the_legs(emu, tmp_path) -> None:
    """``nested`` is documented for the order list only: a parent looked up alone may come without its
    legs, and the plugin then reads them from the nested list — the stop leg's fill is still the OCO's."""
    emu.nest_single_gets = False
    session_run(emu, tmp_path, DAY1, {"SPY": 0.3})
    emu.move_price("SPY", 470.0)
    [oco] = oco_exits(emu)
    out, state = session_run(emu, tmp_path, DAY2, {})
    view = state.orders[oco["client_order_id"]]
    assert (view.status, view.filled_qty) == ("filled", 60.0)
    assert [f["reason"] for f in fills_of(state, oco["client_order_id"])] == ["stop"]
    assert out.reconcile.ok and out.reconcile.mismatches == []


def test_a_planned_exit_cancels_the_oco_and_its_leg_first_and_is_not_rejected(emu, tmp_path) -> None:
    session_run(emu, tmp_path, DAY1, {"SPY": 0.3})
    out, _ = session_run(emu, tmp_path, DAY2, {})  # targets flat: sell the 60 SPY the OCO holds
    [oco] = oco_exits(emu)
    assert (oco["status"], leg_of(emu, oco)["status"]) == ("canceled", "canceled") and emu.rejected_sells == 0
    assert [r.status for r in out.results] == ["accepted"] and emu.position_qty() == {}
    cancels = [e["data"] for e in read_entries(tmp_path / "ledger.jsonl") if e["kind"] == "cancel"]
    assert [(c["client_order_id"], c["source"]) for c in cancels] == [(oco["client_order_id"], "planned exit")]
    assert len(oco_exits(emu)) == 1 and out.reconcile.ok


def test_a_partial_sell_puts_a_new_oco_on_what_is_still_held(emu, tmp_path) -> None:
    session_run(emu, tmp_path, DAY1, {"SPY": 0.3})
    session_run(emu, tmp_path, DAY2, {"SPY": 0.15})
    first, second = sorted(oco_exits(emu), key=lambda o: o["created_at"])
    assert (first["status"], leg_of(emu, first)["status"]) == ("canceled", "canceled") and emu.rejected_sells == 0
    assert (second["qty"], second["limit_price"], leg_of(emu, second)["stop_price"]) == (30.0, "550", "475")


def test_a_crash_after_the_oco_was_posted_never_sends_it_twice(emu, tmp_path) -> None:
    """The process dies after Alpaca accepted the OCO but before its ack reached the ledger: the rerun
    finds it by its client order id and sends nothing again."""
    host = PluginHost.from_plugins({"alpaca": hooks})

    class CrashAfterOcoPost:
        def __getattr__(self, name):
            return getattr(host, name)

        def execute_orders(self, plugin, *, orders, context):
            results = host.execute_orders(plugin, orders=orders, context=context)
            if orders[0].take_profit_price is not None:
                raise SystemExit("crash")  # the POST is done at Alpaca; no ack is written
            return results

    with pytest.raises(SystemExit):
        session_run(emu, tmp_path, DAY1, {"SPY": 0.3}, host=CrashAfterOcoPost())
    out, state = session_run(emu, tmp_path, DAY1, {"SPY": 0.3}, host=host)
    [oco] = oco_exits(emu)
    assert emu.duplicate_posts == 0 and state.orders[oco["client_order_id"]].status == "new"
    assert out.reconcile.ok


def test_a_malformed_oco_request_gets_alpacas_422_body(emu) -> None:
    body = {"symbol": "SPY", "qty": "1", "side": "sell", "type": "limit", "time_in_force": "gtc"}
    body |= {"order_class": "oco", "limit_price": "550", "take_profit": {"limit_price": "550"}}  # no stop_loss
    answer = requests.post(
        emu.base_url + "/v2/orders",
        json=body,
        headers={"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET},
        timeout=2,
    )
    assert answer.status_code == 422
    assert answer.json() == {
        "code": 40010001,
        "message": "oco orders require take_profit.limit_price and stop_loss.stop_price",
    }
    assert emu.orders == {}


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from regimeflex.cli import main

    monkeypatch.setenv("REGIMEFLEX_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)

    def invoke(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return invoke


TRAILING_TP_REFUSED = (
    "risk.yaml: stops.kind: trailing with stops.take_profit_pct is refused with broker.yaml: broker 'alpaca'"
)


@pytest.mark.parametrize("command", [("run", "--as-of", "2024-03-13"), ("config", "validate")])
def test_a_trailing_stop_with_a_take_profit_is_refused_in_one_line_and_alpaca_never_contacted(
    emu, tmp_path, run_cli, command
) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    (config / "broker.yaml").write_text(
        yaml.safe_dump({"broker": "alpaca", "mode": "paper", "brokers": {"alpaca": {"base_url": emu.base_url}}})
    )
    risk = yaml.safe_load((config / "risk.yaml").read_text()) or {}
    risk["stops"] = {**(risk.get("stops") or {}), "kind": "trailing", "pct": 0.05, "take_profit_pct": 0.1}
    (config / "risk.yaml").write_text(yaml.safe_dump(risk))
    code, out, err = run_cli("--config", config, *command)
    lines = [line for line in (out + err).splitlines() if "stops.take_profit_pct" in line]
    assert code == 2 and len(lines) == 1
    assert TRAILING_TP_REFUSED in lines[0] and "use stops.kind: fixed or atr" in lines[0]
    assert emu.requests == []
