"""Secrets: where they come from and how they are kept out of every output.

This module owns the list of secret environment variables, reading them
(environment first, then ``.env`` beside the config directory), and
:func:`redact`, which every output path (log lines, exceptions shown to the
user, ledger entries, reports, ``config show``, notifications, traced hook
arguments) runs text through. Redaction replaces the *values* of known
secrets wherever they appear and masks credentials in URLs (the Telegram
token sits in the URL path, Polygon's ``apiKey`` in the query string).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: Environment variables that hold secrets. Plugins may add their own names
#: through :func:`register_secret_names`-free convention: any variable whose
#: name ends in one of :data:`SECRET_SUFFIXES` is treated as secret too.
SECRET_ENV_VARS: tuple[str, ...] = (
    "APCA_API_KEY_ID",
    "APCA_API_SECRET_KEY",
    "POLYGON_API_KEY",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_CHAT_ID",
    "REGIMEFLEX_SMTP_PASSWORD",
    "REGIMEFLEX_WEBHOOK_SECRET",
)
SECRET_SUFFIXES: tuple[str, ...] = ("_API_KEY", "_SECRET", "_SECRET_KEY", "_TOKEN", "_PASSWORD", "_KEY_ID")

#: YAML keys that look like secrets; a value under such a key is refused.
SECRET_KEY_PATTERN = re.compile(r"(api[_-]?key|secret|token|password|passwd|key[_-]?id)$", re.I)

MASK = "***"

_URL_SECRETS = (
    # Telegram: https://api.telegram.org/bot<token>/sendMessage
    (re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+"), "/bot" + MASK),
    # query-string credentials: ?apiKey=...&token=...
    (re.compile(r"(?i)([?&](?:apikey|api_key|token|key|secret|password)=)[^&#\s]+"), r"\1" + MASK),
    # Authorization headers echoed into text
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|token|basic)?\s*)[A-Za-z0-9._~+/=-]+"),
        r"\1" + MASK,
    ),
)


def is_secret_name(name: str) -> bool:
    return name in SECRET_ENV_VARS or name.upper().endswith(SECRET_SUFFIXES)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Current values of every secret variable (longest first, so overlaps mask fully)."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if is_secret_name(k) and v and len(v) >= 4}
    return sorted(values, key=len, reverse=True)


def redact(text: Any, extra: Iterable[str] = ()) -> str:
    """Return ``str(text)`` with every known secret value and URL credential masked."""
    out = str(text)
    for value in [*secret_values(), *[e for e in extra if e]]:
        if value in out:
            out = out.replace(value, MASK)
    for pattern, repl in _URL_SECRETS:
        out = pattern.sub(repl, out)
    return out


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure (dicts, lists, scalars)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, Mapping):
        return {
            k: (MASK if isinstance(k, str) and SECRET_KEY_PATTERN.search(k) and v else redact_obj(v))
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


def load_dotenv_for(config_dir: Path) -> Path | None:
    """Load ``.env`` from the project root (the config dir's parent) or the config dir.

    Variables already in the environment win, so cron/systemd settings
    override the file. Returns the file used, if any.
    """
    from dotenv import load_dotenv

    for candidate in (config_dir.parent / ".env", config_dir / ".env"):
        if candidate.is_file():
            load_dotenv(candidate, override=False)
            return candidate
    return None


def get_secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    value = env.get(name)
    return value or None
