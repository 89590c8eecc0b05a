"""The Telegram Bot API client: sendMessage / sendDocument with rate-limit handling.

Owns every HTTP call to Telegram. The bot token sits in the URL path
(``/bot<token>/sendMessage``), so the token is registered for masking in
urllib3's debug log and every error text goes through
:func:`regimeflex.secrets.redact`. A 429 (or any answer carrying
``parameters.retry_after``) is retried after the wait Telegram asks for —
from ``parameters.retry_after``, else parsed from "retry after N" in the
description, else a default — capped so a long ban cannot stall the run.
400/401/403/404 are permanent (:class:`DeliveryError` with ``permanent=True``),
so the dispatcher reports them once and stops using the channel.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from regimeflex.api import (
    DeliveryError,
    HttpError,
    RetryPolicy,
    make_session,
    protect_in_http_logs,
    redact,
    request_json,
    vendor_message,
)

RETRY_AFTER_TEXT = re.compile(r"retry after (\d+(?:\.\d+)?)", re.I)
PERMANENT_STATUSES = frozenset({400, 401, 403, 404})
#: getUpdates answers these only when a retry cannot help (token wrong or revoked).
POLL_PERMANENT_STATUSES = frozenset({401, 403, 404})


class PollConflict(DeliveryError):
    """Telegram answered getUpdates with 409: another poller (or a webhook) uses this bot token."""


class RateLimited(DeliveryError):
    """Telegram asked us to wait ``retry_after`` seconds before the next call."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_HINTS = {
    401: "the bot token is wrong or revoked; check {token_env}",
    403: "the bot was blocked or removed from the chat; add it back or check {chat_env}",
    404: "the bot token is malformed; check {token_env}",
    400: "check {chat_env} (the bot must be a member of that chat)",
}


def retry_after_seconds(body: Any, default: float) -> float:
    """How long Telegram asks us to wait: ``parameters.retry_after``, else "retry after N", else ``default``."""
    if isinstance(body, Mapping):
        params = body.get("parameters")
        if isinstance(params, Mapping) and params.get("retry_after") is not None:
            try:
                return float(params["retry_after"])
            except (TypeError, ValueError):
                pass
        match = RETRY_AFTER_TEXT.search(str(body.get("description", "")))
        if match:
            return float(match.group(1))
    elif isinstance(body, str):
        match = RETRY_AFTER_TEXT.search(body)
        if match:
            return float(match.group(1))
    return default


def _asks_to_wait(status: int | None, body: Any) -> bool:
    if status == 429:
        return True
    params = body.get("parameters") if isinstance(body, Mapping) else None
    return isinstance(params, Mapping) and params.get("retry_after") is not None


class TelegramClient:
    """One bot talking to the Bot API. ``sleep`` is injectable so tests do not wait."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://api.telegram.org",
        timeout: float = 10.0,
        max_attempts: int = 3,
        max_retry_after: float = 60.0,
        default_retry_after: float = 5.0,
        token_env: str = "TELEGRAM_BOT_TOKEN",
        chat_env: str = "TELEGRAM_CHAT_ID",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._token = token
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self.default_retry_after = default_retry_after
        self.token_env, self.chat_env = token_env, chat_env
        self.sleep = sleep
        protect_in_http_logs(token)
        # POST is not retried by urllib3 (a resend could duplicate a message); 429 is handled here.
        self.session = make_session(RetryPolicy(total=2, timeout=timeout, methods=frozenset({"GET"})))

    def __repr__(self) -> str:
        return f"TelegramClient(api_url={self.api_url!r}, token=***)"

    def send_message(self, chat_id: str, text: str, *, quiet: bool = False) -> Mapping[str, Any]:
        payload = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
            "disable_notification": quiet,
        }
        return self._call("sendMessage", json=payload)

    def send_document(self, chat_id: str, path: Path, *, caption: str = "", quiet: bool = False) -> Mapping[str, Any]:
        data = {
            "chat_id": chat_id,
            "caption": caption,
            "parse_mode": "HTML",
            "disable_notification": "true" if quiet else "false",
        }
        with Path(path).open("rb") as handle:
            return self._call("sendDocument", data=data, files={"document": (Path(path).name, handle, "text/html")})

    @property
    def bot_id(self) -> str:
        """The bot's numeric id: the public part of the token before the colon."""
        return self._token.split(":", 1)[0]

    def get_updates(self, offset: int | None, *, timeout: int) -> list[Mapping[str, Any]]:
        """One long poll: the updates after ``offset`` (waits up to ``timeout`` s for one to arrive).

        Raises :class:`PollConflict` on 409, :class:`RateLimited` on 429 (or any answer
        with ``retry_after``), a permanent :class:`DeliveryError` when the token is
        refused, and a transient one for network errors and server errors. Nothing
        is retried here: the poll loop owns the backoff.
        """
        payload: dict[str, Any] = {"timeout": int(timeout), "allowed_updates": ["message"]}
        if offset is not None:
            payload["offset"] = int(offset)
        url = f"{self.api_url}/bot{self._token}/getUpdates"
        try:
            _, body = request_json(
                self.session,
                "POST",
                url,
                json=payload,
                timeout=self.timeout + timeout,
                service="telegram",
                ok=(200,),
            )
        except HttpError as exc:
            description = redact(vendor_message(exc.body), [self._token]) if exc.status else ""
            if exc.status == 409:
                hint = (
                    "a webhook is set for this bot; remove it (deleteWebhook) to poll"
                    if "webhook" in description.lower()
                    else "another process polls this bot token; stop the other `regimeflex bot` (or any other "
                    "program using the token)"
                )
                raise PollConflict(f"telegram getUpdates: HTTP 409 {description}: {hint}") from None
            if _asks_to_wait(exc.status, exc.body):
                wait = retry_after_seconds(exc.body, self.default_retry_after)
                raise RateLimited(f"telegram getUpdates: rate limited, retry after {wait:g}s", wait) from None
            if exc.status in POLL_PERMANENT_STATUSES:
                hint = _HINTS[exc.status].format(token_env=self.token_env, chat_env=self.chat_env)
                raise DeliveryError(
                    f"telegram getUpdates: HTTP {exc.status} {description}: {hint}", permanent=True
                ) from None
            if exc.status is None:  # network error or timeout: the message names the redacted URL
                raise DeliveryError(redact(str(exc), [self._token])) from None
            raise DeliveryError(f"telegram getUpdates: HTTP {exc.status} {description}") from None
        if not isinstance(body, Mapping) or body.get("ok") is not True or not isinstance(body.get("result"), list):
            raise DeliveryError(f"telegram getUpdates: unexpected answer: {redact(str(body)[:200], [self._token])}")
        return [u for u in body["result"] if isinstance(u, Mapping)]

    def _call(self, method: str, **kwargs: Any) -> Mapping[str, Any]:
        url = f"{self.api_url}/bot{self._token}/{method}"
        for attempt in range(1, self.max_attempts + 1):
            rewind = kwargs.get("files", {}).get("document")
            if rewind is not None:
                rewind[1].seek(0)
            try:
                _, body = request_json(
                    self.session, "POST", url, timeout=self.timeout, service="telegram", ok=(200,), **kwargs
                )
            except HttpError as exc:
                if _asks_to_wait(exc.status, exc.body):
                    wait = retry_after_seconds(exc.body, self.default_retry_after)
                    if wait > self.max_retry_after:
                        raise DeliveryError(
                            f"telegram {method}: rate limited for {wait:g}s, longer than "
                            f"max_retry_after {self.max_retry_after:g}s; message dropped"
                        ) from None
                    if attempt < self.max_attempts:
                        self.sleep(wait)
                        continue
                    raise DeliveryError(
                        f"telegram {method}: still rate limited after {attempt} attempts "
                        f"(last retry_after {wait:g}s); message dropped"
                    ) from None
                raise self._error(method, exc) from None
            if not isinstance(body, Mapping) or body.get("ok") is not True:
                raise DeliveryError(f"telegram {method}: unexpected answer: {redact(str(body)[:200], [self._token])}")
            return body
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _error(self, method: str, exc: HttpError) -> DeliveryError:
        status = exc.status
        description = redact(vendor_message(exc.body), [self._token])
        if status in PERMANENT_STATUSES:
            hint = _HINTS[status].format(token_env=self.token_env, chat_env=self.chat_env)
            return DeliveryError(f"telegram {method}: HTTP {status} {description}: {hint}", permanent=True)
        if status is None:
            return DeliveryError(redact(str(exc), [self._token]))
        return DeliveryError(f"telegram {method}: HTTP {status} {description}")

    def close(self) -> None:
        self.session.close()
