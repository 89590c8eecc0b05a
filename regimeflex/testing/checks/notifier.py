"""The notifier checks: every level, minimal and unicode events, no mutation, attachments when declared."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

from regimeflex.testing.checks.registry import _register
from regimeflex.testing.subject import CheckFailure, Subject
from regimeflex.types import (
    Event,
    Level,
    NotifyContext,
)


def _notify(subject: Subject, event: Event) -> None:
    with tempfile.TemporaryDirectory(prefix="regimeflex-kit-") as tmp:
        context = NotifyContext(channel=subject.name, settings=subject.params, state_dir=Path(tmp))
        subject.call("notify", event=event, context=context)


def _notifier_every_level(subject: Subject) -> None:
    for level in Level:
        _notify(
            subject,
            Event(
                kind="kit.level",
                level=level,
                title=f"kit check at level {level.name}",
                body="one event per level",
                data={"level": level.name},
            ),
        )


def _notifier_minimal_event(subject: Subject) -> None:
    _notify(subject, Event(kind="kit.minimal", level=Level.INFO, title="kit: title only"))


def _notifier_unicode(subject: Subject) -> None:
    _notify(
        subject,
        Event(
            kind="kit.unicode",
            level=Level.RISK,
            title="Drawdown −12 % ⚠ «AAPL» 株",
            body="Línea 1\nZeile 2 — ünïcödé ✓\n<b>not markup</b> & *not markdown*",
            data={"symbols": ["AAPL", "JPM"], "nested": {"pnl": -1234.5, "ok": False}},
        ),
    )


def _notifier_event_not_mutated(subject: Subject) -> None:
    data = {"targets": {"AAPL": 0.25, "JPM": 0.25}, "orders": [{"symbol": "AAPL", "qty": 10}]}
    before = copy.deepcopy(data)
    _notify(subject, Event(kind="kit.mutation", level=Level.SUCCESS, title="kit: run summary", data=data))
    if data != before:
        raise CheckFailure(f"notify mutated event.data: {before!r} became {data!r}; work on a copy")


def _notifier_attachments(subject: Subject) -> None:
    with tempfile.TemporaryDirectory(prefix="regimeflex-kit-") as tmp:
        report = Path(tmp) / "report.html"
        report.write_text("<html><body><h1>kit report</h1></body></html>", encoding="utf-8")
        _notify(
            subject, Event(kind="kit.attachment", level=Level.INFO, title="kit: report attached", attachments=(report,))
        )


_register("notifier.every_level/v1", _notifier_every_level, "an event of every level is delivered without error")
_register("notifier.minimal_event/v1", _notifier_minimal_event, "an event with only kind, level and title works")
_register("notifier.unicode/v1", _notifier_unicode, "unicode, markup characters and nested data are delivered")
_register("notifier.event_not_mutated/v1", _notifier_event_not_mutated, "notify leaves event.data unchanged")
_register(
    "notifier.attachments/v1",
    _notifier_attachments,
    "with supports_attachments, an event with a file attached is delivered",
    {"supports_attachments": True},
)
