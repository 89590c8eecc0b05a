"""Built-in ``console`` notifier: events printed as plain lines on stderr or stdout.

Owns the simplest channel, useful under cron (the output lands in cron mail)
and in the demo. Output is plain text (no colour codes), one ``[LEVEL] title``
line followed by the indented body.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from regimeflex.hookspecs import hookimpl
from regimeflex.notify.message import event_text
from regimeflex.types import Event, NotifyContext


class ConsoleSettings(BaseModel):
    """``notify.channels.<name>.settings`` for the console notifier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: Literal["stderr", "stdout"] = "stderr"


@hookimpl
def settings_model() -> type[BaseModel]:
    return ConsoleSettings


@hookimpl
def notify(event: Event, context: NotifyContext) -> None:
    settings: Mapping[str, Any] = context.settings or {}
    stream = sys.stdout if settings.get("stream") == "stdout" else sys.stderr
    text = event_text(event)
    error = (event.data or {}).get("error") if event.kind == "run_summary" else None
    if error:  # the run's log printed this error once already (same terminal): not again here
        text = text.replace(f"; {error}", "").replace(str(error), "see the error above")
    head, _, body = text.partition("\n")
    lines = [head, *("    " + line for line in body.splitlines())]
    stream.write("\n".join(lines) + "\n")
    stream.flush()
