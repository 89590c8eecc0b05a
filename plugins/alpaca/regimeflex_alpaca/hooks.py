"""The hook implementations of the ``alpaca`` plugin (data role here; broker hooks live beside them)."""

from __future__ import annotations

from pydantic import BaseModel

from regimeflex import hookimpl
from regimeflex.types import Bars, BarsRequest

from regimeflex_alpaca.client import AlpacaClient
from regimeflex_alpaca.config import AlpacaDataSettings
from regimeflex_alpaca.data import provide


@hookimpl
def provide_bars(request: BarsRequest) -> Bars:
    settings = AlpacaDataSettings.model_validate(dict(request.settings or {}))
    client = AlpacaClient(settings.data_url, settings, service="alpaca data")
    return provide(client, settings, request.symbols, request.start, request.end, request.adjusted)


@hookimpl
def settings_model() -> type[BaseModel]:
    return AlpacaDataSettings


@hookimpl
def capabilities() -> dict[str, bool]:
    return {"needs_network": True}
