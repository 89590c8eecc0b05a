"""execute_session with the built-in paper broker: plan → intents → send → fills → reconcile."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest

from regimeflex.errors import BrokerError
from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.session import ORDER_LINES_MAX, execute_session
from regimeflex.ledger import load_state, read_entries, verify_file
from regimeflex.ledger.journal import open_journal
from regimeflex.plugins import PluginHost
from regimeflex.types import Level

DEC1, DEC2, DEC5 = date(2016, 12, 1), date(2016, 12, 2), date(2016, 12, 5)


def kinds(journal) -> list[str]:
    return [e["kind"] for e in read_entries(journal.path)]


def test_dry_run_records_intents_and_calls_no_broker(journal, run_day, workdir: Path) -> None:
    out = run_day(journal, DEC1, mode="dry_run")
    assert [(o.symbol, o.side, o.qty) for o in out.orders] == [("SPY", "buy", 227.0)]
    assert kinds(journal) == ["run_start", "intent", "plan_commit"]
    assert out.sent == [] and not (workdir / "state").exists()


def test_intents_are_on_disk_before_the_first_broker_call(journal, run_day, host) -> None:
    seen: list[list[str]] = []

    class Spy:
        def __getattr__(self, name):
            return getattr(host, name)

        def execute_orders(self, plugin, *, orders, context):
            seen.append([e["kind"] for e in read_entries(journal.path)])
            return host.execute_orders(plugin, orders=orders, context=context)

    run_day(journal, DEC1, host=Spy())
    assert seen[0][-3:] == ["intent", "plan_commit", "order_sent"]


def test_orders_fill_at_the_next_sessions_open(journal, run_day) -> None:
    first = run_day(journal, DEC1)
    assert [r.status for r in first.results] == ["accepted"]
    second = run_day(journal, DEC2)
    assert second.fills_recorded == 1
    fill = next(iter(journal.state.fills.values()))
    assert (fill["qty"], fill["price"]) == (227.0, 219.67)  # SPY's real open on 2016-12-02


def test_ledger_positions_equal_the_paper_account(journal, run_day) -> None:
    run_day(journal, DEC1)
    out = run_day(journal, DEC2)
    assert out.reconcile.ok
    assert out.reconcile.positions == {"SPY": {"ledger": 227.0, "broker": 227.0}}


def test_fill_at_reference_fills_at_once_with_slippage_and_commission(journal, run_day) -> None:
    out = run_day(
        journal,
        DEC1,
        settings={"fill_at": "reference", "slippage_bps": 10, "commission_per_share": 0.005, "commission_min": 1.0},
    )
    fill = next(iter(journal.state.fills.values()))
    assert fill["price"] == pytest.approx(219.57 * 1.001)
    assert fill["commission"] == pytest.approx(1.135)
    assert out.reconcile.ok


def test_partial_fills_complete_over_later_opens(journal, run_day) -> None:
    settings = {"partial_fill_ratio": 0.5, "slippage_bps": 0}
    first = run_day(journal, DEC1, settings=settings)
    run_day(journal, DEC5, settings=settings)
    coid = first.orders[0].client_order_id
    fills = sorted(
        (f for f in journal.state.fills.values() if f["client_order_id"] == coid), key=lambda f: f["fill_id"]
    )
    assert [(f["qty"], f["price"]) for f in fills] == [(113.0, 219.67), (113.0, 220.65)]
    assert journal.state.orders[coid].status == "partially_filled"


def test_rerunning_a_session_sends_nothing_again(journal, run_day, workdir: Path) -> None:
    run_day(journal, DEC1)
    again = run_day(journal, DEC1)
    assert again.resumed and again.sent == []
    assert kinds(journal).count("order_sent") == 1


def test_rerun_in_a_new_process_resumes_from_the_ledger(journal, run_day) -> None:
    run_day(journal, DEC1)
    journal.close()
    with open_journal(journal.path) as again:
        out = run_day(again, DEC1)
    assert out.resumed and out.sent == []


def test_engaged_kill_switch_stops_before_any_broker_call(journal, run_day, kill: KillSwitch, workdir: Path) -> None:
    kill.engage("manual stop")
    out = run_day(journal, DEC1)
    assert (out.killed, out.exit_code) == (True, 3)
    assert kinds(journal) == ["run_start", "kill"]
    assert not (workdir / "state").exists()
    assert out.events[0].level == Level.RISK and out.events[0].title == "Kill switch engaged: nothing sent"


def test_kill_switch_engaged_mid_run_stops_the_remaining_orders(journal, run_day, host, kill) -> None:
    run_day(journal, DEC1)
    run_day(journal, DEC2)  # SPY now held

    class EngageAfterFirst:
        def __getattr__(self, name):
            return getattr(host, name)

        def execute_orders(self, plugin, *, orders, context):
            result = host.execute_orders(plugin, orders=orders, context=context)
            kill.engage("stop mid-run")
            return result

    from regimeflex.execution.session import execute_session

    out = execute_session(
        journal=journal,
        host=EngageAfterFirst(),
        broker="paper",
        mode="paper",
        session=DEC5,
        targets={"SPY": 0.0, "QQQ": 0.2},
        prices={"SPY": 221.0, "QQQ": 118.0},
        state_dir=journal.path.parent.parent.parent / "state",
        kill_switch=kill,
    )
    assert out.killed and len(out.sent) == 1
    kill_entry = [e for e in read_entries(journal.path) if e["kind"] == "kill"][-1]
    assert len(kill_entry["data"]["not_sent"]) == 1 and kill_entry["data"]["reason"] == "stop mid-run"


def test_unsent_intent_of_an_earlier_session_expires_and_is_never_sent(journal, run_day, kill) -> None:
    kill.engage("x")
    run_day(journal, DEC1, mode="paper")  # killed before planning: nothing intended
    kill.release()
    from regimeflex.execution.session import intent_data
    from regimeflex.types import Order

    journal.record(
        "intent", intent_data(Order("SPY", "buy", 5, "rf-stale", session=DEC1, strategy="portfolio"), "paper")
    )
    out = run_day(journal, DEC2)
    assert out.expired == ["rf-stale"]
    assert "rf-stale" not in out.sent
    assert journal.state.orders["rf-stale"].status == "expired"


def test_rejections_are_recorded_and_raise_a_risk_event(journal, run_day, host) -> None:
    from regimeflex.types import Account

    class Overstated:  # the account snapshot says 1,000,000 but the paper account holds 100,000
        def __getattr__(self, name):
            return getattr(host, name)

        def broker_account(self, plugin, *, context):
            return Account(equity=1e6, cash=1e6, buying_power=1e6)

    out = run_day(journal, DEC1, host=Overstated())
    assert [r.status for r in out.results] == ["rejected"]
    assert out.results[0].message.startswith("insufficient buying power")
    assert any(e.kind == "order_rejected" and e.level == Level.RISK for e in out.events)


def test_unreachable_broker_leaves_the_order_for_lookup_on_the_next_run(journal, run_day, host) -> None:
    class Down:
        def __getattr__(self, name):
            return getattr(host, name)

        def execute_orders(self, plugin, *, orders, context):
            raise BrokerError("alpaca: POST /v2/orders timed out after 10s")

    out = run_day(journal, DEC1, host=Down())
    assert out.exit_code == 1 and out.errors == [
        f"{out.orders[0].client_order_id}: alpaca: POST /v2/orders timed out after 10s"
    ]
    assert journal.state.orders[out.orders[0].client_order_id].status == "unknown"
    again = run_day(journal, DEC1)
    assert again.sent == [out.orders[0].client_order_id]


def test_lost_paper_state_is_rebuilt_from_the_ledger(journal, run_day, workdir: Path) -> None:
    run_day(journal, DEC1)
    run_day(journal, DEC2)
    (workdir / "state" / "paper_broker.json").unlink()
    out = run_day(journal, DEC5, weight=0.5)
    assert out.reconcile.positions["SPY"]["broker"] == out.reconcile.positions["SPY"]["ledger"]


def test_position_drift_is_reported(journal, run_day, workdir: Path) -> None:
    import json

    run_day(journal, DEC1)
    run_day(journal, DEC2)
    state_file = workdir / "state" / "paper_broker.json"
    state = json.loads(state_file.read_text())
    state["fills"][0]["qty"] = 200.0  # the broker's books now disagree with the ledger
    state_file.write_text(json.dumps(state))
    events = []
    out = run_day(journal, DEC5, weight=0.5, notify=events.append)
    drift = [m for m in out.reconcile.mismatches if m.kind == "position_drift"]
    assert drift[0].detail.startswith("SPY: ledger holds 227, broker holds ")
    assert any(e.title == "Reconcile mismatch: position_drift" for e in events)


def test_ledger_verifies_after_a_week_of_sessions(journal, run_day, spy_bars) -> None:
    for i, day in enumerate([d.date() for d in spy_bars.index[:6]]):
        run_day(journal, day, weight=0.3 + 0.1 * (i % 3))
    assert verify_file(journal.path).ok
    assert load_state(journal.path).positions() == journal.state.positions()


def test_execute_from_settings_uses_the_configured_paths_and_mode(project: Path) -> None:
    from regimeflex.config import load_settings
    from regimeflex.execution.session import execute_from_settings

    (project / "broker.yaml").write_text("broker: paper\nmode: paper\norders:\n  min_notional: 50\n")
    settings = load_settings(project)
    out = execute_from_settings(
        settings,
        PluginHost.from_plugins({"paper": __import__("regimeflex.builtins.paper", fromlist=["x"])}),
        session=DEC1,
        targets={"SPY": 0.5},
        prices={"SPY": 219.57},
    )
    assert out.mode == "paper" and [r.status for r in out.results] == ["accepted"]
    assert verify_file(project.parent / "logs" / "audit" / "ledger.jsonl").ok
    assert (project.parent / "state" / "paper_broker.json").exists()


def test_execute_from_settings_refuses_live_without_the_flag(project: Path) -> None:
    from regimeflex.config import load_settings
    from regimeflex.errors import ConfigError
    from regimeflex.execution.session import execute_from_settings

    (project / "broker.yaml").write_text("broker: paper\nmode: live\n")
    with pytest.raises(ConfigError) as err:
        execute_from_settings(load_settings(project), None, session=DEC1, targets={}, prices={})
    assert str(err.value) == (
        "broker.yaml: mode: live also needs --live on the command line (two explicit "
        "opt-ins before real money moves); add --live or set mode: paper"
    )


def test_a_paper_stop_fill_between_runs_is_a_ledger_fill_and_reconcile_stays_matched(journal, run_day, spy_bars):
    from regimeflex.execution.stops import StopRule

    rule = StopRule(kind="trailing", pct=0.003)
    days = [d.date() for d in spy_bars.index]
    outs = [run_day(journal, day, stops=rule) for day in days]
    intents = [e["data"] for e in read_entries(journal.path) if e["kind"] == "intent"]
    assert intents[0]["protect"]["trailing"] is True  # the stop's placement is on record with the entry
    stop_fills = [f for f in journal.state.fills.values() if f["client_order_id"].startswith("stop-paper-")]
    assert stop_fills and all(f["side"] == "sell" for f in stop_fills)
    assert all(out.reconcile.ok for out in outs[1:])  # the stop fill is a fill, never a mismatch
    assert all(p["ledger"] == p["broker"] for out in outs for p in out.reconcile.positions.values())


def test_a_paper_book_rebuilt_from_the_ledger_keeps_its_open_stop_and_the_stop_still_fires(
    journal, run_day, spy_bars, workdir: Path, tmp_path_factory
) -> None:
    """The paper state file is lost while a stop is working: the book rebuilt from the ledger has
    the stop, and it fills on the same real December 2016 SPY bar at the same price as without the loss."""
    from regimeflex.execution.stops import StopRule

    rule = StopRule(kind="trailing", pct=0.003)
    days = [d.date() for d in spy_bars.index]

    def stop_fills(j) -> list[tuple[str, float, float]]:
        rows = [f for f in j.state.fills.values() if f["client_order_id"].startswith("stop-paper-")]
        return [(f["ts"][:10], f["qty"], f["price"]) for f in rows]

    for day in days[:3]:  # bought on the 1st, filled on the 2nd: the stop is working
        run_day(journal, day, stops=rule)
    state = workdir / "state" / "paper_broker.json"
    assert json.loads(state.read_text())["stops"]
    state.unlink()  # the crash: the paper book is gone, the ledger is the record
    outs = [run_day(journal, day, stops=rule) for day in days[3:]]
    assert all(out.reconcile.ok for out in outs)

    clean = tmp_path_factory.mktemp("clean")  # the same days with the state file never lost
    with open_journal(clean / "logs" / "audit" / "ledger.jsonl") as other:
        for day in days:
            run_day(other, day, stops=rule, state_dir=clean / "state")
        expected = stop_fills(other)
    assert expected and stop_fills(journal) == expected


class _Lines(logging.Handler):
    """The console lines (formatted messages) the regimeflex logger emits at ``level`` and above while installed."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.lines: list[str] = []
        self.logger = logging.getLogger("regimeflex")
        self.previous = self.logger.level

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def __enter__(self) -> list[str]:
        self.logger.addHandler(self)
        self.logger.setLevel(self.level)
        return self.lines

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.previous)


def dry_run_of(journal, host, kill, workdir: Path, symbols: list[str]):
    return execute_session(
        journal=journal,
        host=host,
        broker="paper",
        mode="dry_run",
        session=DEC1,
        targets={s: 0.5 / len(symbols) for s in symbols},
        prices=dict.fromkeys(symbols, 50.0),
        bars=None,
        broker_settings={},
        state_dir=workdir / "state",
        kill_switch=kill,
        initial_equity=100_000.0,
    )


def test_a_small_plan_logs_one_line_per_order(journal, host, kill, workdir: Path) -> None:
    symbols = ["AAA", "BBB", "CCC"]
    with _Lines() as lines:
        out = dry_run_of(journal, host, kill, workdir, symbols)
    assert [line.split()[:3] for line in lines if line.startswith("order ")] == [["order", "buy", s] for s in symbols]
    assert len(out.orders) == 3


def test_a_large_plan_logs_one_summary_line_and_every_order_stays_in_the_ledger(
    journal, host, kill, workdir: Path
) -> None:
    symbols = [f"S{i:03d}" for i in range(ORDER_LINES_MAX + 15)]
    with _Lines() as lines:
        dry_run_of(journal, host, kill, workdir, symbols)
    assert not [line for line in lines if line.startswith("order ")]
    summary = [line for line in lines if line.startswith(f"{len(symbols)} orders ({len(symbols)} buy): ")]
    assert len(summary) == 1 and "buy S000 " in summary[0] and f"and {len(symbols) - 5} more" in summary[0]
    intents = [e["data"]["symbol"] for e in read_entries(journal.path) if e["kind"] == "intent"]
    assert sorted(intents) == symbols


def test_a_large_plan_still_lists_each_order_at_debug_level(journal, host, kill, workdir: Path) -> None:
    symbols = [f"S{i:03d}" for i in range(ORDER_LINES_MAX + 1)]
    with _Lines(logging.DEBUG) as lines:
        dry_run_of(journal, host, kill, workdir, symbols)
    assert sorted(line.split()[2] for line in lines if line.startswith("order ")) == symbols
