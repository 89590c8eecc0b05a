"""The risk state file: where tripped circuit breakers (and the last regime) survive a restart.

Owns :class:`RiskState`, :func:`load_risk_state`, :func:`save_risk_state` and
:func:`risk_state_path`: a small JSON document in the configured state
directory (run.yaml ``paths.state_dir`` / risk.yaml ``state_file``), written
atomically (temp file, fsync, rename) so a crash never leaves half a file.
It holds the :class:`~regimeflex.risk.breakers.BreakerState` and the regime
the last run read, which ``regimeflex risk status`` shows. Once the ledger
records breaker events the runner may rebuild the same state from there.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regimeflex.errors import RegimeFlexError
from regimeflex.fsio import atomic_write_text, writing
from regimeflex.risk.breakers import BreakerState

if TYPE_CHECKING:
    from regimeflex.config import Settings


STATE_VERSION = 1


class RiskStateError(RegimeFlexError):
    """The risk state file exists but cannot be read; trading must not guess its content."""


@dataclass(frozen=True)
class RiskState:
    """Everything the risk layer remembers between runs."""

    breakers: BreakerState = field(default_factory=BreakerState)
    regime: str | None = None
    regime_session: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "breakers": self.breakers.to_dict(),
            "regime": {
                "label": self.regime,
                "session": self.regime_session.isoformat() if self.regime_session else None,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported version {data.get('version')!r}")
        regime = data.get("regime") or {}
        session = regime.get("session")
        return cls(
            breakers=BreakerState.from_dict(data["breakers"]),
            regime=regime.get("label"),
            regime_session=dt.date.fromisoformat(session) if session else None,
        )


def risk_state_path(settings: Settings) -> Path:
    """``<paths.state_dir>/<risk.state_file>`` resolved against the project root."""
    return settings.path(settings.run.paths.state_dir) / settings.risk.state_file


def load_risk_state(path: Path) -> RiskState:
    """The saved state, or an empty state when the file does not exist yet."""
    path = Path(path)
    if not path.exists():
        return RiskState()
    try:
        return RiskState.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RiskStateError(
            f"{path}: risk state is unreadable ({exc}); restore it from a backup, "
            f"or delete it to clear every tripped circuit breaker"
        ) from None


def save_risk_state(path: Path, state: RiskState) -> Path:
    """Write ``state`` to ``path`` atomically (the directory is created when missing)."""
    path = Path(path)
    text = json.dumps(state.to_dict(), indent=2, sort_keys=True)
    with writing(path.parent, "state"):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text + "\n")
    return path
