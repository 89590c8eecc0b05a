"""The check registry: :class:`Check`, stable versioned ids, running checks and reporting results.

A check is a pure function of a :class:`~regimeflex.testing.subject.Subject`
registered under an id such as ``strategy.no_lookahead/v2``; a check whose
meaning changes gets a new version, never a silently different body.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regimeflex.errors import PluginCallError
from regimeflex.testing.subject import CheckFailure, CheckSkipped, Subject

#: The one-symbol universe: the benchmark, so strategies that read it still have it.
SINGLE_SYMBOL = "SPY"

#: Relative tolerance when comparing two runs of the same computation.
RTOL = 1e-9
ATOL = 1e-12


@dataclass(frozen=True)
class Check:
    """One contract clause. ``requires`` maps capability tags to the value a
    plugin must declare for the check to apply (otherwise it is skipped)."""

    id: str
    func: Callable[[Subject], None]
    doc: str
    requires: Mapping[str, bool] = field(default_factory=dict)

    @property
    def role(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1].split("/", 1)[0]

    def skip_reason(self, subject: Subject) -> str | None:
        """Why this check does not apply to ``subject`` (None when it does)."""
        if self.id in subject.skip:
            return f"{self.id}: skipped by the plugin's test: {subject.skip[self.id]}"
        for tag, wanted in self.requires.items():
            if subject.capability(tag) != wanted:
                declared = subject.capability(tag)
                return (
                    f"{self.id}: does not apply: plugin {subject.name!r} declares "
                    f"{tag}={declared} in capabilities(), the check needs {tag}={wanted}"
                )
        return None

    def __call__(self, subject: Subject) -> None:
        """Run the check: return on pass, raise CheckSkipped or CheckFailure."""
        reason = self.skip_reason(subject)
        if reason is not None:
            raise CheckSkipped(reason)
        try:
            self.func(subject)
        except (CheckFailure, CheckSkipped) as exc:
            msg = str(exc)
            prefix = "" if msg.startswith(self.id) else f"{self.id}: "
            raise type(exc)(f"{prefix}{msg}") from None
        except PluginCallError as exc:  # the host already names the plugin, hook and cause
            # The host's advice (REGIMEFLEX_DEBUG, tell the author) is for users; an author wants the line.
            message = str(exc).split(" Run with REGIMEFLEX_DEBUG=1", 1)[0].rstrip(".")
            raise CheckFailure(f"{self.id}: {message}{raised_at(exc.__cause__)}") from exc
        except Exception as exc:  # the plugin raised: that is the finding
            raise CheckFailure(
                f"{self.id}: plugin {subject.name!r} raised {type(exc).__name__}: {exc}{raised_at(exc)}"
            ) from exc

    def __repr__(self) -> str:
        return f"<Check {self.id}>"


#: Frames from these places are library or RegimeFlex plumbing, never the plugin's own line.
_PLUMBING = (
    f"{os.sep}pandas{os.sep}",
    f"{os.sep}numpy{os.sep}",
    f"{os.sep}pluggy{os.sep}",
    f"{os.sep}regimeflex{os.sep}plugins{os.sep}",
    f"{os.sep}regimeflex{os.sep}testing{os.sep}",
)


def raised_at(exc: BaseException | None) -> str:
    """`` (raised at hooks.py:42 in generate_signal)`` for the innermost frame of the plugin's own code."""
    if exc is None or exc.__traceback__ is None:
        return ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not any(p in f.filename for p in _PLUMBING)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (raised at {Path(frame.filename).name}:{frame.lineno} in {frame.name})"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one plugin, as the CLI reports it."""

    check: str
    status: str  # "PASS" | "FAIL" | "SKIP"
    message: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "message": self.message, "seconds": round(self.seconds, 4)}


#: Every check, in the order they run.
CHECKS: list[Check] = []


def checks_for(role: str) -> list[Check]:
    """The checks of one role, in run order."""
    return [c for c in CHECKS if c.role == role]


def get_check(check_id: str) -> Check:
    for c in CHECKS:
        if c.id == check_id:
            return c
    raise KeyError(f"unknown check id {check_id!r}")


def run_check(check: Check, subject: Subject) -> CheckResult:
    """Run one check and report PASS/FAIL/SKIP with its message (never raises)."""
    started = time.perf_counter()
    try:
        check(subject)
    except CheckSkipped as exc:
        return CheckResult(check.id, "SKIP", str(exc), time.perf_counter() - started)
    except CheckFailure as exc:
        return CheckResult(check.id, "FAIL", str(exc), time.perf_counter() - started)
    return CheckResult(check.id, "PASS", "", time.perf_counter() - started)


def run_checks(subject: Subject, roles: list[str] | None = None) -> list[CheckResult]:
    """Run every check of the subject's roles (or of ``roles``)."""
    wanted = roles if roles is not None else subject.roles
    return [run_check(c, subject) for role in wanted for c in checks_for(role)]


def _register(
    check_id: str, func: Callable[[Subject], None], doc: str, requires: Mapping[str, bool] | None = None
) -> None:
    if any(c.id == check_id for c in CHECKS):
        raise ValueError(f"duplicate check id {check_id}")
    CHECKS.append(Check(check_id, func, doc, dict(requires or {})))
