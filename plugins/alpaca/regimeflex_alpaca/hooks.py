"""The hook implementations of the ``alpaca`` plugin: data here, broker hooks imported from ``broker``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from regimeflex.api import BarsRequest, CorporateAction, hookimpl

# the broker role: pluggy registers these from this module's namespace
from regimeflex_alpaca.broker import (  # noqa: F401  (re-exported hook implementations)
    broker_account,
    broker_fills,
    broker_orders,
    cancel_open_orders,
    cancel_orders,
    execute_orders,
)
from regimeflex_alpaca.client import KEY_ID_ENV, SECRET_ENV, AlpacaClient
from regimeflex_alpaca.config import AlpacaDataSettings

if TYPE_CHECKING:  # Bars is a pandas frame: pandas loads with the data module, when bars are asked for
    from regimeflex.api import Bars

#: The hook API this plugin is written for (docs/hooks.md).
REGIMEFLEX_HOOK_API = "1.1"


@hookimpl
def provide_bars(request: BarsRequest) -> Bars:
    from regimeflex_alpaca.data import provide

    settings = AlpacaDataSettings.model_validate(dict(request.settings or {}))
    client = AlpacaClient(settings.data_url, settings, service="alpaca data")
    return provide(client, settings, request.symbols, request.start, request.end, request.adjusted)


@hookimpl
def bars_source(request: BarsRequest) -> dict[str, object]:
    """The feed, the adjustment mode and the data endpoint change the bars served; timeouts, retries and
    paging do not, so changing them re-fetches nothing."""
    settings = AlpacaDataSettings.model_validate(dict(request.settings or {}))
    return {"settings": {"feed": settings.feed, "adjustment": settings.adjustment, "data_url": settings.data_url}}


@hookimpl
def provide_corporate_actions(
    symbols: Sequence[str], start: date, end: date, settings: Mapping[str, Any]
) -> list[CorporateAction]:
    """Forward splits, reverse splits and cash dividends from ``/v1/corporate-actions``."""
    cfg = AlpacaDataSettings.model_validate(dict(settings or {}))
    client = AlpacaClient(cfg.data_url, cfg, service="alpaca data")
    from regimeflex_alpaca.data import corporate_actions

    return corporate_actions(client, cfg, symbols, start, end)


@hookimpl
def settings_model() -> type[BaseModel]:
    return AlpacaDataSettings


@hookimpl
def capabilities() -> dict[str, bool]:
    return {
        "needs_network": True,
        "supports_fractional": True,
        "supports_short": True,
        "live_trading": True,  # the live endpoint, only with mode: live and --live
        "real_market_data": True,
        "supports_stops": True,  # GTC stop / trailing_stop sell orders; the run places them after an entry fills
        "supports_take_profit": True,  # a stop with a take-profit is an OCO exit (order_class "oco")
        "supports_trailing_take_profit": False,  # Alpaca's OCO legs are limit + stop/stop-limit, never trailing
    }


@hookimpl
def required_env() -> list[str]:
    return [KEY_ID_ENV, SECRET_ENV]
