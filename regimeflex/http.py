"""HTTP for every plugin that talks to an external service.

Owns the one way RegimeFlex makes HTTP calls: a ``requests`` session with a
timeout on every request, bounded retries with exponential backoff that
honour ``Retry-After`` (urllib3 ``Retry``), and errors whose text never
contains a secret (URLs are redacted: Telegram puts its token in the path,
Polygon accepts ``apiKey`` in the query string). Provider, broker and
notifier plugins build their clients on :func:`make_session` and
:func:`request_json` instead of writing their own retry loops.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from regimeflex.errors import HttpError  # noqa: F401  (defined beside the other errors; re-exported)
from regimeflex.killguard import KillGuard
from regimeflex.log import get_logger, protect_in_http_logs  # noqa: F401 (re-exported: defined beside the log filters)
from regimeflex.secrets import redact

log = get_logger("http")


#: Statuses worth retrying: rate limits and transient server errors.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: ``total`` attempts after the first, exponential backoff.

    ``backoff_factor`` 0.5 sleeps 0.5, 1, 2 … seconds (capped at
    ``backoff_max``); a ``Retry-After`` header overrides the backoff, capped at
    ``retry_after_max`` so a hostile header cannot stall a run.
    """

    total: int = 3
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 60.0
    timeout: float = 10.0
    statuses: Collection[int] = RETRY_STATUSES
    methods: Collection[str] = frozenset({"GET", "HEAD", "DELETE", "PUT", "OPTIONS"})


class _CappedRetry(Retry):
    """urllib3 Retry whose Retry-After sleep is capped and, given a kill-switch guard,
    waits through it (interrupted the moment the switch is engaged)."""

    retry_after_cap: float = 60.0
    guard: KillGuard | None = None

    def new(self, **kw: Any) -> _CappedRetry:
        fresh = super().new(**kw)
        fresh.retry_after_cap, fresh.guard = self.retry_after_cap, self.guard
        return fresh

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.retry_after_cap)

    def sleep(self, response: Any = None) -> None:
        if self.guard is None:
            return super().sleep(response)
        seconds = None
        if self.respect_retry_after_header and response is not None:
            seconds = self.get_retry_after(response)
        if not seconds:
            seconds = self.get_backoff_time()
        self.guard.wait(seconds, "retry")
        return None


class _GuardedAdapter(HTTPAdapter):
    """Checks the kill-switch guard before every request leaves (retries are checked in the wait)."""

    def __init__(self, guard: KillGuard, **kwargs: Any) -> None:
        self.guard = guard
        super().__init__(**kwargs)

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.guard.check(f"{request.method} {redact(urlsplit(request.url or '').path)}")
        return super().send(request, *args, **kwargs)


def make_session(
    policy: RetryPolicy = RetryPolicy(),
    headers: Mapping[str, str] | None = None,
    *,
    guard: KillGuard | None = None,
) -> requests.Session:
    """A session that retries idempotent calls per ``policy`` (POST is never retried blindly).

    With ``guard`` (a broker's ``context.kill_switch``) no request starts once the
    kill switch is engaged, and every retry wait is cut short by it: the call raises
    :class:`~regimeflex.errors.KillSwitchEngaged`.
    """
    if not policy.methods:
        # urllib3 reads an empty/false allowed_methods as "retry every method", POST included.
        raise ValueError("RetryPolicy.methods must name at least one method; POST must never be retried blindly")
    retry = _CappedRetry(
        total=policy.total,
        connect=policy.total,
        read=policy.total,
        status=policy.total,
        backoff_factor=policy.backoff_factor,
        backoff_max=policy.backoff_max,
        status_forcelist=tuple(policy.statuses),
        allowed_methods=frozenset(m.upper() for m in policy.methods),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.retry_after_cap = policy.retry_after_max
    retry.guard = guard
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry) if guard is None else _GuardedAdapter(guard, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if headers:
        session.headers.update(headers)
    return session


def request_json(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: float = 10.0,
    service: str = "service",
    ok: Collection[int] = (200, 201, 204, 207),
    **kwargs: Any,
) -> tuple[int, Any]:
    """Make one call and return ``(status, parsed JSON body)``.

    Raises :class:`HttpError` for network errors, timeouts, statuses outside
    ``ok`` (after the session's retries) and bodies that are not JSON. The
    message names the service, method, redacted URL, status and the vendor's
    own error text.
    """
    safe_url = redact(url)
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.exceptions.Timeout:
        raise HttpError(f"{service}: {method} {safe_url} timed out after {timeout:g}s") from None
    except requests.exceptions.RetryError as exc:
        raise HttpError(f"{service}: {method} {safe_url} failed after retries: {_reason(exc)}") from None
    except requests.exceptions.RequestException as exc:
        raise HttpError(f"{service}: {method} {safe_url} failed: {_reason(exc)}") from None
    body: Any = None
    if response.content:
        try:
            body = response.json()
        except (ValueError, json.JSONDecodeError):
            if response.status_code in ok:
                raise HttpError(
                    f"{service}: {method} {safe_url} returned a body that is not JSON "
                    f"(status {response.status_code}, starts {response.text[:60]!r})",
                    status=response.status_code,
                ) from None
            body = response.text
    if response.status_code not in ok:
        raise HttpError(
            f"{service}: {method} {safe_url} → HTTP {response.status_code}: {vendor_message(body)}",
            status=response.status_code,
            body=body,
        )
    return response.status_code, body


def vendor_message(body: Any) -> str:
    """The human part of a vendor error body (Alpaca ``message``, Polygon ``error``/``message``,
    Telegram ``description``), else the body itself, shortened."""
    if isinstance(body, Mapping):
        for key in ("message", "error", "description", "detail"):
            if body.get(key):
                return str(body[key])
    text = str(body or "").strip()
    return text[:200] or "(empty body)"


def _reason(exc: BaseException) -> str:
    # urllib3 nests the real cause; the innermost is the useful part.
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    args = getattr(exc, "args", ())
    cause = args[0] if args else exc
    reason = getattr(cause, "reason", None)
    return redact(type(inner).__name__ + ": " + str(reason or cause))
