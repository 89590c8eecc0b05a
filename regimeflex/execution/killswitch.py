"""The kill switch: a flag file that stops every broker call.

Owns ``config/kill_switch.flag`` (path from ``run.yaml paths.kill_switch``):
:meth:`KillSwitch.engage` writes it atomically with the reason, who and
when; :meth:`KillSwitch.engaged` is what the runner checks first and the
execution layer checks again before every single submission; removing the
file (:meth:`KillSwitch.release`) re-arms trading. A flag file rather than a
setting, so an operator can stop a running bot from any shell (``touch``
works too).
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regimeflex.fsio import atomic_write_text, writing
from regimeflex.killguard import KillGuard


@dataclass(frozen=True)
class KillSwitch:
    path: Path

    def engaged(self) -> bool:
        return self.path.exists()

    __call__ = engaged

    def guard(self) -> KillGuard:
        """The guard a broker gets in ``BrokerContext.kill_switch``: checks and interruptible
        waits against this flag file (polled every 50 ms while a broker waits)."""
        return KillGuard(self.engaged, where=str(self.path))

    def info(self) -> dict[str, Any] | None:
        """What the flag file says (reason, by, at), or None when trading is allowed."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except ValueError:  # `touch`ed or hand-written: still engaged
            data = {"reason": text.strip()}
        return data if isinstance(data, dict) else {"reason": str(data)}

    def engage(self, reason: str = "") -> dict[str, Any]:
        data = {
            "reason": reason or "engaged by hand",
            "by": _user(),
            "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        with writing(self.path, "kill switch"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(data))
        return data

    def release(self) -> bool:
        """Remove the flag; True if it was there."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
