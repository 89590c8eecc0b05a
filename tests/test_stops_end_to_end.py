"""Issue 16's done-when for stops, from a fresh ``regimeflex init``: a position opened in paper mode
gets a stop, the stop fills in a later session, and the ledger, the report and the next run agree."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from regimeflex.ledger import load_state


def test_a_paper_position_gets_a_stop_that_fills_later_and_ledger_report_and_next_run_agree(run_cli, tmp_path) -> None:
    root = tmp_path / "bot"
    assert run_cli("init", str(root))[0] == 0
    config = root / "config"
    broker = (config / "broker.yaml").read_text().replace("\nmode: dry_run", "\nmode: paper", 1)
    (config / "broker.yaml").write_text(broker)
    risk = yaml.safe_load((config / "risk.yaml").read_text())
    risk["stops"] = {"kind": "trailing", "pct": 0.01, "cooldown_sessions": 2}
    (config / "risk.yaml").write_text(yaml.safe_dump(risk))

    summaries = []
    for day in pd.bdate_range("2024-03-01", "2024-05-31"):
        code, out, _ = run_cli("--config", str(config), "run", "--as-of", day.date().isoformat(), "--json")
        summary = json.loads(out)
        summaries.append(summary)
        if any(f["client_order_id"].startswith("stop-paper-") for f in summary["fills"]):
            break
    stopped = summaries[-1]
    stop_fill = next(f for f in stopped["fills"] if f["client_order_id"].startswith("stop-paper-"))
    intents = [o for s in summaries for o in s["orders"] if o["side"] == "buy" and o["symbol"] == stop_fill["symbol"]]
    assert intents, "the stopped position was opened by a planned buy of an earlier session"

    # the ledger: the stop-out is a fill; positions equal the paper account's
    ledger = root / "logs" / "audit" / "ledger.jsonl"
    state = load_state(ledger)
    [fill_id] = [fid for fid, f in state.fills.items() if f["client_order_id"] == stop_fill["client_order_id"]]
    paper = json.loads((root / "state" / "paper_broker.json").read_text())
    held = {s: p.qty for s, p in state.positions().items()}
    assert stop_fill["symbol"] not in held
    # the report of that run shows the stop-out fill and a matched reconciliation
    report = Path(stopped["report_path"]).read_text()
    assert fill_id in report and 'data-key="reconciliation">matched' in report

    # the next run: reconcile matched, and the stopped symbol is not bought back (cooldown)
    nxt = pd.bdate_range(stopped["session"], periods=2)[1].date().isoformat()
    code, out, _ = run_cli("--config", str(config), "run", "--as-of", nxt, "--json")
    after = json.loads(out)
    assert after["status"] == "completed"
    assert not [o for o in after["orders"] if o["side"] == "buy" and o["symbol"] == stop_fill["symbol"]]
    code, out, _ = run_cli("--config", str(config), "reconcile", "--json")
    rec = json.loads(out)
    assert rec["ok"] and rec["mismatches"] == []
    assert {s: p["ledger"] for s, p in rec["positions"].items()} == {
        s: p["broker"] for s, p in rec["positions"].items()
    }
    assert paper["stops"].get(stop_fill["symbol"]) is None
