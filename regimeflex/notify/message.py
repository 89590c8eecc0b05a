"""What every notifier sends: the redacted, JSON-safe form of an event.

This module owns the shapes shared by all channels — :func:`redact_event`
(the dispatcher runs every event through it before any channel sees it),
:func:`event_payload` (the JSON object webhooks receive), :func:`event_text`
(the plain-text rendering used by console and email) — and
:class:`DeliveryError`, the exception a notifier raises to say whether a
failure is worth retrying on the next event or means the channel is
misconfigured (``permanent=True``: the dispatcher reports it once and stops
using the channel for the rest of the run); it is defined in
:mod:`regimeflex.errors` with the other errors.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from regimeflex.errors import DeliveryError  # noqa: F401 - re-exported for notifier code
from regimeflex.log import protect_in_http_logs  # noqa: F401 - re-exported for notifier plugins (no `requests` import)
from regimeflex.secrets import redact, redact_obj
from regimeflex.types import Event, Level


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: NaN/inf → None, dates → ISO text, numpy/pandas scalars → Python."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, Path)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    item = getattr(value, "item", None)  # numpy / pandas scalars
    if callable(item):
        try:
            return jsonable(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def redact_event(event: Event) -> Event:
    """A copy of ``event`` whose title, body and data carry no secret values."""
    return dataclasses.replace(
        event,
        title=redact(event.title),
        body=redact(event.body),
        data=redact_obj(jsonable(dict(event.data))),
    )


def event_timestamp(event: Event) -> datetime:
    """The event's time as an aware UTC datetime (now when the event has none)."""
    ts = event.ts or datetime.now(UTC)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def event_payload(event: Event, channel: str) -> dict[str, Any]:
    """The JSON object a webhook receives for ``event`` (stable keys; documented in docs/notify.md)."""
    return {
        "source": "regimeflex",
        "channel": channel,
        "kind": event.kind,
        "level": Level.parse(event.level).name,
        "title": event.title,
        "body": event.body,
        "data": jsonable(dict(event.data)),
        "ts": event_timestamp(event).isoformat(timespec="seconds"),
        "attachments": [Path(p).name for p in event.attachments],
    }


def event_text(event: Event) -> str:
    """Plain text: ``[LEVEL] title`` then the body, for consoles and e-mail text parts."""
    head = f"[{Level.parse(event.level).name}] {event.title}"
    return f"{head}\n{event.body}" if event.body else head
