"""HTTP client for Polygon: key in the Authorization header, retries, readable errors.

Built on :mod:`regimeflex.http` (timeouts, bounded retries honouring
``Retry-After``, redacted errors). ``next_url`` cursors are followed by path
and query only, resolved against the configured ``base_url``: the key is
never sent to a host the user did not configure, and tests can serve real
cursors from a local server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from regimeflex.api import ConfigError, HttpError, ProviderError, RetryPolicy, get_secret, make_session, request_json
from regimeflex_polygon.config import PolygonSettings

KEY_ENV = "POLYGON_API_KEY"
_HINTS = {
    401: f"check {KEY_ENV}",
    403: "your Polygon plan does not include this data",
    429: "rate limit: wait, lower the request rate or upgrade the plan",
}


class PolygonClient:
    def __init__(self, settings: PolygonSettings, *, api_key: str | None = None) -> None:
        key = api_key or get_secret(KEY_ENV)
        if not key:
            raise ConfigError(
                f"polygon: {KEY_ENV} is not set; put it in the environment or in .env (never in data.yaml)"
            )
        self.settings = settings
        self.base = settings.base_url.rstrip("/")
        self.policy = RetryPolicy(
            total=settings.max_retries,
            backoff_factor=settings.backoff,
            retry_after_max=settings.retry_after_max,
            timeout=settings.timeout,
        )
        self.session = make_session(
            self.policy, headers={"Authorization": f"Bearer {key}", "Accept": "application/json"}
        )

    def url(self, path_or_url: str) -> str:
        """An absolute URL on the configured host for a path or a vendor cursor URL."""
        parts = urlsplit(path_or_url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return f"{self.base}{path if path.startswith('/') else '/' + path}"

    def get(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and parse JSON; every failure becomes a ProviderError naming the endpoint (key-free)."""
        url = self.url(path_or_url)
        try:
            _, body = request_json(
                self.session, "GET", url, params=dict(params or {}), timeout=self.settings.timeout, service="polygon"
            )
        except HttpError as exc:
            hint = _HINTS.get(exc.status or 0)
            raise ProviderError(f"{exc}" + (f" ({hint})" if hint else "")) from None
        if not isinstance(body, Mapping):
            raise ProviderError(
                f"polygon: GET {urlsplit(url).path} returned {type(body).__name__}, expected a JSON object"
            )
        if str(body.get("status", "OK")).upper() in ("ERROR", "NOT_AUTHORIZED", "NOT_FOUND"):
            raise ProviderError(
                f"polygon: GET {urlsplit(url).path} failed: "
                f"{body.get('error') or body.get('message') or body.get('status')}"
            )
        return body
