"""Helpers every command shares: the CLI state object, settings loading, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regimeflex.secrets import redact_obj

if TYPE_CHECKING:
    from regimeflex.config import Settings


@dataclass(frozen=True)
class CliState:
    config_dir: Path
    log_format: str | None = None
    log_level: str | None = None
    #: ``--now`` / REGIMEFLEX_NOW: the one clock every command reads (None: the system clock)
    now: datetime | None = None


def parse_now(text: str) -> datetime:
    """``--now``: an ISO date (that session's close, 16:30 New York) or date-time (naive = UTC)."""
    from zoneinfo import ZoneInfo

    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(16, 30), tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date or date-time; use e.g. 2024-03-15 or 2024-03-15T21:00:00Z", param_hint="--now"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def now_of(ctx: click.Context) -> datetime:
    """The command's notion of now: ``--now`` when given, else the system clock (UTC)."""
    return state(ctx).now or datetime.now(UTC)


def state(ctx: click.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):  # invoked without the root group (tests calling a command directly)
        obj = CliState(config_dir=Path("config"))
        ctx.find_root().obj = obj
    return obj


def load_settings_for(ctx: click.Context) -> Settings:
    """Load the configuration named by ``--config`` and apply its logging settings."""
    from regimeflex import log
    from regimeflex.config import load_settings

    st = state(ctx)
    settings = load_settings(st.config_dir)
    log.configure(level=st.log_level or settings.run.log.level, fmt=st.log_format or settings.run.log.format)
    return settings


def echo_json(obj: Any) -> None:
    """Print one JSON document to stdout (secrets redacted, dates as ISO strings)."""
    click.echo(json.dumps(redact_obj(obj), indent=2, default=_default, sort_keys=False))


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def is_tty() -> bool:
    return sys.stdout.isatty()


@contextmanager
def progress_bar(label: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback ``(done, total)`` drawing a bar on stderr when it is a terminal; plain
    (no callback, nothing drawn) when piped or ``enabled`` is False."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bars: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bars:
            new: Any = click.progressbar(length=total, label=label, file=sys.stderr)
            new.__enter__()
            bars.append(new)
        bars[0].update(done - bars[0].pos)

    try:
        yield update
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
