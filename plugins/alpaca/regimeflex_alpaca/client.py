"""One HTTP client for every Alpaca API (market data, trading): auth headers, retries, errors.

``AlpacaClient(base_url, settings)`` sends ``APCA-API-KEY-ID`` and
``APCA-API-SECRET-KEY`` from the environment (or ``.env``) on every call and
returns parsed JSON from :meth:`get`, :meth:`post` and :meth:`delete`.
Failures raise :class:`AlpacaError` (a :class:`regimeflex.http.HttpError`
with ``status`` and ``code``) whose message names the method, the path and
Alpaca's own ``message``, plus a hint for 401/403/429; callers map it to
``ProviderError`` (data) or ``BrokerError`` (trading). POST is never retried
blindly (an order could be placed twice); idempotent calls are. Given the
broker's kill-switch ``guard``, no request starts after the switch is engaged
and every retry wait is interrupted by it (:func:`regimeflex.http.make_session`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from regimeflex.api import ConfigError, HttpError, KillGuard, RetryPolicy, get_secret, make_session, request_json
from regimeflex_alpaca.config import AlpacaSettings

KEY_ID_ENV = "APCA_API_KEY_ID"
SECRET_ENV = "APCA_API_SECRET_KEY"
_HINTS = {
    401: f"check {KEY_ID_ENV} and {SECRET_ENV}",
    403: "the account is not allowed to do this (plan, permissions or buying power)",
    429: "rate limit: wait or lower the request rate",
}


class AlpacaError(HttpError):
    """An Alpaca call failed for good; ``status`` (None for network errors) and Alpaca's ``code``."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message, status=status, body=body)
        self.code = body.get("code") if isinstance(body, Mapping) else None


def credentials() -> dict[str, str]:
    """The two auth headers, from the environment; a clear ConfigError when either is missing."""
    key_id, secret = get_secret(KEY_ID_ENV), get_secret(SECRET_ENV)
    missing = [name for name, value in ((KEY_ID_ENV, key_id), (SECRET_ENV, secret)) if not value]
    if missing:
        raise ConfigError(
            f"alpaca: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; "
            f"put them in the environment or in .env (never in YAML)"
        )
    return {"APCA-API-KEY-ID": key_id or "", "APCA-API-SECRET-KEY": secret or ""}


class AlpacaClient:
    """A client for one Alpaca API root (``settings.data_url`` or ``settings.base_url``)."""

    def __init__(
        self,
        base_url: str,
        settings: AlpacaSettings | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        service: str = "alpaca",
        guard: KillGuard | None = None,
    ) -> None:
        self.settings = settings or AlpacaSettings()
        self.base = base_url.rstrip("/")
        self.service = service
        policy = RetryPolicy(
            total=self.settings.max_retries,
            backoff_factor=self.settings.backoff,
            retry_after_max=self.settings.retry_after_max,
            timeout=self.settings.timeout,
        )
        auth = dict(headers) if headers is not None else credentials()
        self.guard = guard
        self.session = make_session(policy, headers={**auth, "Accept": "application/json"}, guard=guard)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        ok: Collection[int] = (200, 201, 204, 207),
    ) -> tuple[int, Any]:
        """One call; returns ``(status, parsed body)`` or raises :class:`AlpacaError`."""
        url = f"{self.base}/{path.lstrip('/')}"
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        if json is not None:
            kwargs["json"] = json
        try:
            return request_json(
                self.session, method, url, timeout=self.settings.timeout, service=self.service, ok=ok, **kwargs
            )
        except HttpError as exc:
            hint = _HINTS.get(exc.status or 0)
            raise AlpacaError(f"{exc}" + (f" ({hint})" if hint else ""), status=exc.status, body=exc.body) from None

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)[1]

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)[1]

    def delete(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("DELETE", path, params=params)[1]
