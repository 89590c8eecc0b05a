"""Turning report data into one self-contained HTML file, written atomically.

Owns the jinja2 environment (autoescape on for every template, so a symbol,
strategy name or vendor message can never inject markup), the number
formatting filters the templates share, and :func:`write_atomic` (temporary
file in the target directory, fsync, rename), so a reader never sees half a
report. Every output is redacted of secret values before it is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from regimeflex.errors import RegimeFlexError
from regimeflex.fsio import atomic_write_text, writing
from regimeflex.secrets import redact


class ReportError(RegimeFlexError):
    """Report input is unusable (names the input, what is wrong and what is expected)."""


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_pct(value: Any, digits: int = 2, signed: bool = False) -> str:
    """``0.1234`` → ``12.34%``; missing or NaN → an en dash."""
    number = _finite(value)
    if number is None:
        return "–"
    return f"{number * 100:+.{digits}f}%" if signed else f"{number * 100:.{digits}f}%"


def fmt_num(value: Any, digits: int = 2) -> str:
    """Thousands separators and fixed decimals; missing or NaN → an en dash."""
    number = _finite(value)
    return "–" if number is None else f"{number:,.{digits}f}"


def fmt_qty(value: Any) -> str:
    """Share quantities: whole numbers without decimals, fractional shares with up to 4."""
    number = _finite(value)
    if number is None:
        return "–"
    return f"{number:,.0f}" if number == round(number) else f"{number:,.4f}".rstrip("0")


def fmt_money(value: Any) -> str:
    number = _finite(value)
    if number is None:
        return "–"
    return f"-${abs(number):,.2f}" if number < 0 else f"${number:,.2f}"


def sign_class(value: Any) -> str:
    """CSS class for colouring a number: ``pos``, ``neg`` or empty."""
    number = _finite(value)
    if number is None or number == 0:
        return ""
    return "pos" if number > 0 else "neg"


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept in the per-user cache (``<cache home>/jinja``), keyed by each template's
    source checksum, so a run does not recompile them (~50 ms a process); none when it cannot be created."""
    from regimeflex.data.calendar import cache_home

    directory = cache_home() / "jinja"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(directory))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("regimeflex.report", "templates"),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,  # every template: report text comes from data we do not control
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=fmt_pct, num=fmt_num, qty=fmt_qty, money=fmt_money, sign=sign_class)
    return env


def render_template(name: str, context: Mapping[str, Any]) -> str:
    """Render ``templates/<name>`` and redact any secret value that reached the text."""
    return redact(environment().get_template(name).render(**context))


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file and rename (readers never see a partial file).
    A full disk, read-only filesystem or missing permission is a ``StorageError`` naming the folder."""
    path = Path(path)
    with writing(path.parent, "report"):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    return path
