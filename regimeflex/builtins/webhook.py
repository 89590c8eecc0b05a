"""Built-in ``webhook`` notifier: each event POSTed as JSON, optionally HMAC-signed.

Owns the webhook channel: the JSON body (see
:func:`regimeflex.notify.message.event_payload`), an idempotency header so a
receiver can drop a retried duplicate, the optional signature header
``X-RegimeFlex-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``
keyed by the secret in ``REGIMEFLEX_WEBHOOK_SECRET`` (never in YAML), and
error classification. The URL itself may hold a credential (Slack and
Discord put tokens in the path), so it can come from an environment
variable (``url_env``) and only its host is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from regimeflex.hookspecs import hookimpl
from regimeflex.http import RetryPolicy, make_session
from regimeflex.notify.message import DeliveryError, event_payload, protect_in_http_logs
from regimeflex.secrets import get_secret, redact
from regimeflex.types import Event, NotifyContext

SIGNATURE_HEADER = "X-RegimeFlex-Signature-256"
CREDENTIAL_HEADER = re.compile(r"(?i)(authorization|api[-_]?key|token|secret|password|cookie)")
DELIVERY_HEADER = "X-RegimeFlex-Delivery"
#: statuses that mean the request itself is wrong: retrying the next event cannot help
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 413, 422})


class WebhookSettings(BaseModel):
    """``notify.channels.<name>.settings`` for the webhook notifier (exactly one of ``url``/``url_env``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = None
    url_env: str | None = None
    sign: bool | None = Field(default=None, description="None: sign when the secret variable is set")
    secret_env: str = "REGIMEFLEX_WEBHOOK_SECRET"
    headers: dict[str, str] = Field(default_factory=dict)
    #: header name → environment variable holding its value (credentials such as Authorization)
    headers_env: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=5)

    @field_validator("headers")
    @classmethod
    def _no_credentials(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if CREDENTIAL_HEADER.search(name):
                raise ValueError(
                    f"header {name!r} carries a credential; put its value in an environment "
                    f"variable and name it under headers_env instead"
                )
        return headers

    @model_validator(mode="after")
    def _one_url(self) -> WebhookSettings:
        if bool(self.url) == bool(self.url_env):
            raise ValueError(
                "give exactly one of url (in YAML) or url_env (name of an environment variable holding the URL)"
            )
        if self.url and urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        return self


@hookimpl
def capabilities() -> dict[str, bool]:
    return {"needs_network": True}


@hookimpl
def settings_model() -> type[BaseModel]:
    return WebhookSettings


def sign_body(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=`` + hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _resolve(settings: WebhookSettings) -> tuple[str, str | None]:
    url = settings.url
    if settings.url_env:
        url = get_secret(settings.url_env, needed_by="webhook url_env")
        if not url:
            raise DeliveryError(
                f"webhook: url_env names {settings.url_env}, which is not set; export it (or put it in .env)",
                permanent=True,
            )
    secret = get_secret(settings.secret_env, needed_by="webhook signing")
    if settings.sign and not secret:
        raise DeliveryError(
            f"webhook: sign is true but {settings.secret_env} is not set; export the shared secret or set sign: false",
            permanent=True,
        )
    if settings.sign is False:
        secret = None
    return str(url), secret


def _env_headers(settings: WebhookSettings) -> dict[str, str]:
    headers = {}
    for name, variable in settings.headers_env.items():
        value = get_secret(variable, needed_by=f"webhook headers_env.{name}", allow_space=True)
        if not value:
            raise DeliveryError(
                f"webhook: headers_env.{name} names {variable}, which is not set; export it (or put it in .env)",
                permanent=True,
            )
        headers[name] = value
    return headers


@hookimpl
def notify(event: Event, context: NotifyContext) -> None:
    raw: Mapping[str, Any] = context.settings or {}
    settings = raw if isinstance(raw, WebhookSettings) else WebhookSettings.model_validate(dict(raw))
    url, secret = _resolve(settings)
    host = urlsplit(url).hostname or "webhook"
    protect_in_http_logs(url, urlsplit(url).path if len(urlsplit(url).path) > 1 else "")
    body = json.dumps(event_payload(event, context.channel), sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "RegimeFlex-webhook",
        DELIVERY_HEADER: hashlib.sha256(body).hexdigest()[:32],
        **settings.headers,
        **_env_headers(settings),
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign_body(body, secret)
    # POST is retried only because the delivery id lets the receiver drop a duplicate.
    policy = RetryPolicy(
        total=settings.retries,
        timeout=settings.timeout_seconds,
        methods=frozenset({"POST"}),
        backoff_factor=0.5,
        retry_after_max=30.0,
    )
    session = make_session(policy)
    try:
        response = session.post(url, data=body, headers=headers, timeout=settings.timeout_seconds)
    except requests.exceptions.Timeout:
        raise DeliveryError(f"webhook {host}: no answer within {settings.timeout_seconds:g}s") from None
    except requests.exceptions.RequestException as exc:
        raise DeliveryError(f"webhook {host}: {type(exc).__name__}: {_scrub(str(exc), url)}") from None
    finally:
        session.close()
    if not 200 <= response.status_code < 300:
        text = _scrub(response.text.strip(), url)[:200] or "(empty body)"
        raise DeliveryError(
            f"webhook {host}: HTTP {response.status_code}: {text}", permanent=response.status_code in PERMANENT_STATUSES
        )


def _scrub(text: str, url: str) -> str:
    # The URL path may hold a token (Slack, Discord); requests and receivers echo it back.
    text = text.replace(url, "<url>")
    path = urlsplit(url).path
    if len(path) > 1:
        text = text.replace(path, "/<path>")
    return redact(text)[:300]
