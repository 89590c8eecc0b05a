"""`regimeflex reconcile` between a crash and the rerun: only past sessions' unsent intents expire."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from regimeflex.builtins import paper
from regimeflex.data.calendar import ny_today
from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.session import execute_session, intent_data
from regimeflex.ledger import load_state
from regimeflex.ledger.anchor import plan_commit_data
from regimeflex.ledger.journal import open_journal
from regimeflex.plugins import PluginHost
from regimeflex.types import Order

SYMBOLS = ["SPY", "QQQ", "IWM"]


def commit_plan(ledger: Path, session: date, prefix: str) -> list[str]:
    """A committed plan whose orders never reached the broker (the run crashed before sending)."""
    intents = [
        intent_data(
            Order(s, "buy", 3, f"rf-{prefix}-{s}", session=session, strategy="portfolio", reference_price=100.0),
            "paper",
        )
        for s in SYMBOLS
    ]
    with open_journal(ledger) as journal:
        journal.begin_session(session, mode="paper", broker="paper")
        for data in intents:
            journal.append("intent", data)
        journal.append("plan_commit", plan_commit_data(session.isoformat(), "portfolio", "paper", intents, None))
        journal.commit()
    return [d["client_order_id"] for d in intents]


def test_bare_reconcile_keeps_todays_unsent_intents_and_expires_past_ones_with_a_risk_event(
    run_cli, project: Path
) -> None:
    (project / "broker.yaml").write_text("broker: paper\nmode: paper\n")
    root = project.parent
    ledger = root / "logs" / "audit" / "ledger.jsonl"
    today = ny_today().date()
    past = commit_plan(ledger, today - timedelta(days=3), "past")
    todays = commit_plan(ledger, today, "today")

    code, out, err = run_cli("--config", str(project), "reconcile", "--json")
    report = json.loads(out)
    assert sorted(report["intents_expired"]) == sorted(past)
    assert "3 unsent intent(s) of past sessions expired" in err  # the RISK alert, with the count
    state = load_state(ledger)
    assert [state.orders[c].status for c in todays] == ["planned"] * 3
    assert [state.orders[c].status for c in past] == ["expired"] * 3

    with open_journal(ledger) as journal:  # the rerun sends all of today's orders
        out = execute_session(
            journal=journal,
            host=PluginHost.from_plugins({"paper": paper}),
            broker="paper",
            mode="paper",
            session=today,
            targets={s: 0.0 for s in SYMBOLS},
            prices={s: 100.0 for s in SYMBOLS},
            broker_settings={"fill_at": "reference", "slippage_bps": 0},
            state_dir=root / "state",
            kill_switch=KillSwitch(root / "kill.flag"),
        )
    assert out.resumed and sorted(out.sent) == sorted(todays)


def test_reconcile_with_nothing_to_expire_raises_no_expiry_alert(run_cli, project: Path) -> None:
    (project / "broker.yaml").write_text("broker: paper\nmode: paper\n")
    ledger = project.parent / "logs" / "audit" / "ledger.jsonl"
    commit_plan(ledger, ny_today().date(), "today")
    code, out, err = run_cli("--config", str(project), "reconcile", "--json")
    assert json.loads(out)["intents_expired"] == []
    assert "expired" not in err


def test_reconcile_refuses_a_ledger_that_does_not_verify_with_an_error_alert(run_cli, project: Path) -> None:
    (project / "broker.yaml").write_text("broker: paper\nmode: paper\n")
    ledger = project.parent / "logs" / "audit" / "ledger.jsonl"
    commit_plan(ledger, ny_today().date(), "today")
    raw = ledger.read_bytes()
    ledger.write_bytes(raw.replace(b'"qty":3,', b'"qty":9,', 1))
    before = ledger.read_bytes()
    code, out, err = run_cli("--config", str(project), "reconcile")
    assert code == 1
    assert "changed since it was verified" in err  # caught inside the verified prefix (CRC-32)
    assert "ledger does not verify" in err  # the ERROR alert through the console notifier
    assert ledger.read_bytes() == before  # nothing recorded, nothing expired
