"""A rerun after the targets changed says so plainly; ``replan`` cancels the session's unsent and open
orders with a ledger record and plans anew with new deterministic ids."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from regimeflex.execution.planner import client_order_id
from regimeflex.ledger import read_entries, verify_file
from regimeflex.types import Level

DEC1, DEC2 = date(2016, 12, 1), date(2016, 12, 2)


def entries(journal, kind: str) -> list[dict]:
    return [e["data"] for e in read_entries(journal.path) if e["kind"] == kind]


def test_a_rerun_with_the_same_targets_resumes_and_says_they_are_unchanged(journal, run_day) -> None:
    first = run_day(journal, DEC1, weight=0.5)
    again = run_day(journal, DEC1, weight=0.5)
    assert again.resumed and again.orders == first.orders
    assert again.plan_check == "same"
    assert again.plan_note == f"the 1 order(s) for {DEC1} were resumed as intended earlier; targets unchanged since"
    assert not [e for e in again.events if e.kind == "plan_changed"]


def test_a_rerun_after_the_targets_changed_says_targets_now_vs_intended_and_offers_replan(journal, run_day) -> None:
    first = run_day(journal, DEC1, weight=0.5)
    again = run_day(journal, DEC1, weight=0.3)
    assert again.resumed and again.orders == first.orders  # nothing silently replaced
    assert again.plan_check == "changed"
    assert again.plan_note == (
        f"targets changed since the orders for {DEC1} were intended (SPY 30.00% now vs 50.00% when intended); "
        "the 1 intended order(s) were resumed unchanged — run `regimeflex run --replan` to cancel the unsent "
        "and open ones and plan anew"
    )
    [event] = [e for e in again.events if e.kind == "plan_changed"]
    assert event.level == Level.RISK and event.data["targets_now"] == {"SPY": 0.3}


def test_replan_cancels_the_open_order_with_a_ledger_record_and_plans_new_ids(journal, run_day) -> None:
    first = run_day(journal, DEC1, weight=0.5)  # accepted by the paper broker, fills at the next open
    old = first.orders[0]
    replanned = run_day(journal, DEC1, weight=0.3, replan=True)
    assert replanned.replanned == [old.client_order_id]
    assert journal.state.orders[old.client_order_id].status == "canceled"
    [record] = entries(journal, "replan")
    assert record == {
        "session": "2016-12-01",
        "strategy": "portfolio",
        "mode": "paper",
        "attempt": 1,
        "canceled": [old.client_order_id],
    }
    [new] = replanned.orders
    assert (new.symbol, new.side) == ("SPY", "buy") and new.qty < old.qty
    assert new.client_order_id == client_order_id(DEC1, "portfolio", "SPY", "buy", new.qty, 1)
    assert new.client_order_id != old.client_order_id and replanned.sent == [new.client_order_id]
    assert verify_file(journal.path).ok


def test_after_a_replan_a_rerun_resumes_the_new_plan_and_the_next_day_fills_only_it(journal, run_day) -> None:
    run_day(journal, DEC1, weight=0.5)
    replanned = run_day(journal, DEC1, weight=0.3, replan=True)
    again = run_day(journal, DEC1, weight=0.3)
    assert again.resumed and again.orders == replanned.orders and again.plan_check == "same"
    assert again.sent == []  # the new plan's order was already sent
    run_day(journal, DEC2, weight=0.3)
    fills = list(journal.state.fills.values())
    assert [(f["client_order_id"], f["qty"]) for f in fills] == [
        (replanned.orders[0].client_order_id, replanned.orders[0].qty)
    ]


def test_replan_in_a_dry_run_cancels_the_unsent_intents_in_the_ledger(journal, run_day) -> None:
    first = run_day(journal, DEC1, weight=0.5, mode="dry_run")
    replanned = run_day(journal, DEC1, weight=0.3, mode="dry_run", replan=True)
    [update] = [u for u in entries(journal, "order_update") if u.get("source") == "replan"]
    assert update["client_order_id"] == first.orders[0].client_order_id and update["status"] == "canceled"
    assert replanned.attempt == 1 and replanned.orders[0].client_order_id != first.orders[0].client_order_id


def test_intents_recorded_before_targets_were_kept_resume_with_an_unknown_check(journal, run_day, tmp_path) -> None:
    first = run_day(journal, DEC1, weight=0.5)
    coid = first.orders[0].client_order_id
    for view in journal.state.orders.values():  # an intent from before targets were recorded
        view.intent.pop("targets_digest")
    again = run_day(journal, DEC1, weight=0.5)
    assert again.plan_check == "unknown" and coid in {o.client_order_id for o in again.orders}
    assert "whether today's targets still match them is unknown" in again.plan_note


def test_the_cli_rerun_reports_the_change_and_replan_fixes_the_report(run_cli, project: Path) -> None:
    session = "2024-03-13"
    code, _, _ = run_cli("--config", project, "run", "--as-of", session, "--json")
    assert code == 0
    strategies = project / "strategies.yaml"  # the user halves the budget after the orders were intended
    strategies.write_text(strategies.read_text().replace("budget: 1.0", "budget: 0.5", 1))
    code, out, _ = run_cli("--config", project, "run", "--as-of", session, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["plan"]["check"] == "changed"
    [note] = [m for m in summary["messages"] if m.startswith("targets changed since the orders for")]
    assert "regimeflex run --replan" in note
    report = Path(summary["report_path"]).read_text()
    assert "Targets and orders may not match:" in report and "targets changed since the orders for" in report

    code, out, _ = run_cli("--config", project, "run", "--as-of", session, "--replan", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["plan"]["attempt"] == 1 and summary["plan"]["replanned"]
    assert not any(m.startswith("targets changed since") for m in summary["messages"])
    assert "Targets and orders may not match:" not in Path(summary["report_path"]).read_text()
