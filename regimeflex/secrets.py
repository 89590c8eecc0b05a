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

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

#: Environment variables that hold secrets. Any variable whose name ends in one
#: of :data:`SECRET_SUFFIXES` is treated as secret too, and so is every variable
#: read through :func:`get_secret` (e.g. a webhook header named in ``headers_env``).
SECRET_ENV_VARS: tuple[str, ...] = (
    "APCA_API_KEY_ID",
    "APCA_API_SECRET_KEY",
    "POLYGON_API_KEY",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_CHAT_ID",
    "REGIMEFLEX_SMTP_PASSWORD",
    "REGIMEFLEX_WEBHOOK_SECRET",
    "REGIMEFLEX_LEDGER_KEY",
)
SECRET_SUFFIXES: tuple[str, ...] = (
    "_API_KEY",
    "_SECRET",
    "_SECRET_KEY",
    "_PRIVATE_KEY",
    "_TOKEN",
    "_PASSWORD",
    "_PASSPHRASE",
    "_KEY_ID",
)

#: Key names (YAML keys, JSON fields) that look like secrets, matched on the key in
#: snake case (``secretKey`` and ``Secret-Key`` read as ``secret_key``), so
#: ``token``, ``bot_token``, ``api_key``, ``apiKey``, ``secret_key``, ``private_key``,
#: ``password``, ``passphrase``, ``client_secret``, ``key_id``, ``credentials`` are
#: secret while ``token_env`` (the *name* of a variable) and ``max_tokens`` are not.
SECRET_KEY_PATTERN = re.compile(
    r"(?:^|_)(?:api_?key|access_?key|secret|secret_?key|private_?key|signing_?key|token|password|passwd|"
    r"passphrase|key_?id|credentials?)$"
)

#: Variables read as secrets at run time whose names do not look secret (see :func:`get_secret`).
_REGISTERED: set[str] = set()

MASK = "***"

#: (pattern, replacement, needle): a pattern can only match text whose lower-cased form holds its needle,
#: so the regex runs only there (a 5,000-name run summary has ~80,000 short strings, none with one)
_URL_SECRETS = (
    # Telegram: https://api.telegram.org/bot<token>/sendMessage
    (re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+"), "/bot" + MASK, "/bot"),
    # query-string credentials: ?apiKey=...&token=...
    (re.compile(r"(?i)([?&](?:apikey|api_key|token|key|secret|password)=)[^&#\s]+"), r"\1" + MASK, "="),
    # Authorization headers echoed into text
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|token|basic)?\s*)[A-Za-z0-9._~+/=-]+"),
        r"\1" + MASK,
        "authorization",
    ),
)


def is_secret_name(name: str) -> bool:
    """Is the environment variable ``name`` a secret?"""
    return name in SECRET_ENV_VARS or name in _REGISTERED or name.upper().endswith(SECRET_SUFFIXES)


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Does a YAML/JSON key name look like it holds a secret (``secret_key``, ``apiKey``, ``Token``)?"""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).replace("-", "_").replace(" ", "_").lower()
    return SECRET_KEY_PATTERN.search(snake) is not None


def register_secret_name(*names: str) -> None:
    """Treat these environment variables as secrets from now on (their values are redacted)."""
    _REGISTERED.update(n for n in names if n)


def _forms(value: str) -> set[str]:
    """The ways a value shows up in text: as is, repr-escaped (``'abc\\r'``), JSON-escaped,
    URL-encoded (path and query form)."""
    forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1], quote(value, safe=""), quote(value), quote_plus(value)}
    forms.add(value.encode("unicode_escape").decode("ascii"))
    return forms


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every form of every secret variable's value (longest first, so overlaps mask fully).

    The value as set, the value stripped of surrounding whitespace, and each one's
    repr-escaped, JSON-escaped and URL-encoded forms: an HTTP library that quotes a
    header value ``'abc\\r'`` in its exception must not leak it. Read afresh on every call
    (the environment may have changed); the forms are derived once per distinct environment.
    """
    env = os.environ if environ is None else environ
    return list(_values_of(tuple(env.items()), frozenset(_REGISTERED)))


@functools.lru_cache(maxsize=8)
def _values_of(items: tuple[tuple[str, str], ...], registered: frozenset[str]) -> tuple[str, ...]:
    values: set[str] = set()
    for k, v in items:
        if not v or not (k in SECRET_ENV_VARS or k in registered or k.upper().endswith(SECRET_SUFFIXES)):
            continue
        for raw in {v, v.strip()}:
            if len(raw.strip()) >= 4:
                values.update(f for f in _forms(raw) if len(f) >= 4)
    return tuple(sorted(values, key=len, reverse=True))


def redact(text: Any, extra: Iterable[str] = ()) -> str:
    """Return ``str(text)`` with every known secret value and URL credential masked."""
    extras = {f for e in extra if e for f in _forms(e) if len(f) >= 4}
    values = sorted({*secret_values(), *extras}, key=len, reverse=True) if extras else secret_values()
    return _masked(str(text), values)


def _masked(out: str, values: Iterable[str]) -> str:
    for value in values:
        if value in out:
            out = out.replace(value, MASK)
    folded = out.lower()
    for pattern, repl, needle in _URL_SECRETS:
        if needle in folded:
            out = pattern.sub(repl, out)
    return out


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure (dicts, lists, scalars); the secret values are
    read once for the whole structure."""
    return _redact_obj(obj, secret_values())


def _redact_obj(obj: Any, values: list[str]) -> Any:
    if isinstance(obj, str):
        return _masked(obj, values)
    if isinstance(obj, Mapping):
        return {
            k: (MASK if isinstance(k, str) and is_secret_key(k) and v else _redact_obj(v, values))
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [_redact_obj(v, values) for v in obj]
    return obj


def load_dotenv_for(config_dir: Path) -> Path | None:
    """Load ``.env`` from the project root (the config dir's parent) or the config dir.

    Variables already in the environment win, so cron/systemd settings
    override the file. Returns the file used, if any.
    """
    from dotenv import load_dotenv

    used = None
    for candidate in (config_dir.parent / ".env", config_dir / ".env"):
        if candidate.is_file():
            load_dotenv(candidate, override=False)
            used = candidate
            break
    strip_secrets()
    return used


def strip_secrets(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Strip surrounding whitespace (a trailing ``\\r`` or ``\\n`` from a file or ``echo``) off
    every secret variable, in place; returns the names changed. Values are never logged."""
    env = os.environ if environ is None else environ
    changed = [k for k, v in list(env.items()) if is_secret_name(k) and v != v.strip()]
    for k in changed:
        env[k] = env[k].strip()
    return changed


def bad_secret_reason(value: str, *, allow_space: bool = False) -> str | None:
    """Why a (stripped) secret value is unusable, without quoting it; None when it is fine.
    ``allow_space``: a plain space is fine (a header value such as ``Bearer <token>``)."""
    for ch in value:
        if ch == " " and allow_space:
            continue
        if not ch.isprintable():
            return f"contains a control character (U+{ord(ch):04X}) inside it"
        if ch.isspace():
            return "contains whitespace inside it"
    return None


def check_secret(name: str, value: str, *, needed_by: str = "", allow_space: bool = False) -> str:
    """The stripped value; a :class:`~regimeflex.errors.SecretError` (a config error, exit 2) naming the
    variable, never the value, when whitespace or a control character is left inside."""
    stripped = value.strip()
    reason = bad_secret_reason(stripped, allow_space=allow_space)
    if reason:
        from regimeflex.errors import SecretError

        who = f" (needed by {needed_by})" if needed_by else ""
        raise SecretError(
            f"{name}{who}: the value {reason}; set {name} again without it "
            f"(check the file or command it was copied from)"
        )
    return stripped


def get_secret(
    name: str, environ: Mapping[str, str] | None = None, *, needed_by: str = "", allow_space: bool = False
) -> str | None:
    """Read a secret variable: stripped of surrounding whitespace, refused (SecretError naming
    the variable) when whitespace or a control character is inside, None when unset or empty.
    The name is registered as secret, so its value is redacted from every output."""
    register_secret_name(name)
    env = os.environ if environ is None else environ
    value = env.get(name)
    if not value or not value.strip():
        return None
    return check_secret(name, value, needed_by=needed_by, allow_space=allow_space)
