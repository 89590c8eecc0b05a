"""Fault injection: make the process SIGKILL itself at a named step boundary.

Owns ``REGIMEFLEX_CRASH_AT=<point>[:n]``, read by the crash-safety tests: the
daily cycle calls :func:`hit` at every boundary where a crash matters (after
the intents are committed, before and after each broker POST, before an ack
is written, half-way through writing a ledger line), and the process kills
itself with SIGKILL on the ``n``-th hit of ``point`` (default the first) —
no ``finally`` blocks, no flushes, exactly like a power cut or ``kill -9``.
Unset (always, outside tests), every call is a dictionary lookup and nothing
else.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "REGIMEFLEX_CRASH_AT"

_counts: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(ENV_VAR)
    if not spec:
        return None
    head, _, tail = spec.rpartition(":")
    if head and tail.isdigit():
        return head, int(tail)
    return spec, 1


def due(point: str) -> bool:
    """Count one pass through ``point``; True when this pass is the armed one."""
    target = _target()
    if target is None or target[0] != point:
        return False
    _counts[point] = _counts.get(point, 0) + 1
    return _counts[point] == target[1]


def crash() -> None:
    """Die now, the way ``kill -9`` or a power cut would: no cleanup, no flush."""
    os.kill(os.getpid(), signal.SIGKILL)


def hit(point: str) -> None:
    """Count one pass through ``point``; SIGKILL this process if it is the armed one."""
    if due(point):
        crash()
