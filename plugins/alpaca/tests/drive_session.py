"""Run one execution cycle against an Alpaca endpoint: the process the crash tests SIGKILL.

Usage: ``python drive_session.py '<json config>'`` with keys ledger, session, targets, prices,
settings, kill. ``REGIMEFLEX_CRASH_AT`` in the environment picks where the process kills itself.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any


def run_session(cfg: dict[str, Any]) -> Any:
    from regimeflex.execution.killswitch import KillSwitch
    from regimeflex.execution.session import execute_session
    from regimeflex.ledger.journal import open_journal
    from regimeflex.plugins import PluginHost
    from regimeflex_alpaca import hooks

    host = PluginHost.from_plugins({"alpaca": hooks})
    with open_journal(cfg["ledger"]) as journal:
        return execute_session(
            journal=journal,
            host=host,
            broker="alpaca",
            mode="paper",
            session=date.fromisoformat(cfg["session"]),
            targets=cfg["targets"],
            prices=cfg["prices"],
            broker_settings=cfg["settings"],
            kill_switch=KillSwitch(Path(cfg["kill"])),
        )


if __name__ == "__main__":
    outcome = run_session(json.loads(sys.argv[1]))
    print(json.dumps({"sent": outcome.sent, "exit_code": outcome.exit_code}))
    sys.exit(outcome.exit_code)
