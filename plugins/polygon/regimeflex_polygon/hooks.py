"""The hook implementations of the ``polygon`` data plugin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from regimeflex.api import BarsRequest, CorporateAction, hookimpl
from regimeflex_polygon.client import KEY_ENV, PolygonClient
from regimeflex_polygon.config import PolygonSettings

if TYPE_CHECKING:  # Bars is a pandas frame: pandas loads with the data module, when bars are asked for
    from regimeflex.api import Bars

#: The hook API this plugin is written for (docs/hooks.md).
REGIMEFLEX_HOOK_API = "1.1"


@hookimpl
def provide_bars(request: BarsRequest) -> Bars:
    from regimeflex_polygon.data import provide

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
def provide_corporate_actions(
    symbols: Sequence[str], start: date, end: date, settings: Mapping[str, Any]
) -> list[CorporateAction]:
    from regimeflex_polygon.data import corporate_actions

    client = PolygonClient(PolygonSettings.model_validate(dict(settings or {})))
    return corporate_actions(client, symbols, start, end)


@hookimpl
def settings_model() -> type[BaseModel]:
    return PolygonSettings


@hookimpl
def capabilities() -> dict[str, bool]:
    return {"needs_network": True, "real_market_data": True}


@hookimpl
def required_env() -> list[str]:
    return [KEY_ENV]
