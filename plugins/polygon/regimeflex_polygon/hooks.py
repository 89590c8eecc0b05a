"""The hook implementations of the ``polygon`` data plugin."""

from __future__ import annotations

from pydantic import BaseModel

from regimeflex.api import Bars, BarsRequest, hookimpl
from regimeflex_polygon.client import KEY_ENV, PolygonClient
from regimeflex_polygon.config import PolygonSettings
from regimeflex_polygon.data import provide

#: The hook API this plugin is written for (docs/hooks.md).
REGIMEFLEX_HOOK_API = "1.0"


@hookimpl
def provide_bars(request: BarsRequest) -> Bars:
    settings = PolygonSettings.model_validate(dict(request.settings or {}))
    client = PolygonClient(settings)
    return provide(client, request.symbols, request.start, request.end, request.adjusted)


@hookimpl
def bars_source(request: BarsRequest) -> dict[str, object]:
    """Only the endpoint changes the bars served (adjusted is the core's own setting); timeouts, retries and
    paging do not, so changing them re-fetches nothing."""
    settings = PolygonSettings.model_validate(dict(request.settings or {}))
    return {"settings": {"base_url": settings.base_url}}


@hookimpl
def settings_model() -> type[BaseModel]:
    return PolygonSettings


@hookimpl
def capabilities() -> dict[str, bool]:
    return {"needs_network": True, "real_market_data": True}


@hookimpl
def required_env() -> list[str]:
    return [KEY_ENV]
