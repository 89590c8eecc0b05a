"""The slices of the plugin host each layer depends on, as Protocols.

Owns the typed seams between the layers and the plugin host: the data layer
needs only :class:`DataHost`, execution only :class:`BrokerHost`, the
notification dispatcher only :class:`NotifierHost`. :class:`~regimeflex.plugins.PluginHost`
satisfies all three; a test may pass any object with these methods (a fake
broker host, a recording notifier host) and a type checker holds both to the
same signatures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from regimeflex.plugins.registry import PluginInfo
    from regimeflex.types import (
        Account,
        Bars,
        BarsRequest,
        BrokerContext,
        CorporateAction,
        Event,
        Fill,
        NotifyContext,
        Order,
        OrderResult,
    )

__all__ = ["BrokerHost", "DataHost", "NotifierHost", "SettingsHost"]


class SettingsHost(Protocol):
    """Finding a selected plugin and validating its YAML section."""

    def require(self, name: str, role: str, *, where: str = "") -> PluginInfo: ...

    def validate_settings(self, plugin: str, raw: Mapping[str, Any] | None, *, where: str) -> Mapping[str, Any]: ...


class DataHost(SettingsHost, Protocol):
    """What the data layer calls: the selected provider's bars, where they come from, and its corporate actions."""

    def provide_bars(self, plugin: str, *, request: BarsRequest) -> Bars: ...

    def bars_source(self, plugin: str, *, request: BarsRequest) -> dict[str, Any] | None: ...

    def provide_corporate_actions(
        self, plugin: str, *, symbols: Sequence[str], start: date, end: date, settings: Mapping[str, Any]
    ) -> list[CorporateAction] | None: ...


class BrokerHost(SettingsHost, Protocol):
    """What the execution layer calls: the selected broker's hooks and capability tags."""

    def execute_orders(self, plugin: str, *, orders: Sequence[Order], context: BrokerContext) -> list[OrderResult]: ...

    def broker_account(self, plugin: str, *, context: BrokerContext) -> Account | None: ...

    def broker_orders(
        self, plugin: str, *, client_order_ids: Sequence[str], context: BrokerContext
    ) -> list[OrderResult]: ...

    def broker_fills(self, plugin: str, *, since: datetime | None, context: BrokerContext) -> list[Fill]: ...

    def cancel_open_orders(self, plugin: str, *, context: BrokerContext) -> list[OrderResult]: ...

    def cancel_orders(
        self, plugin: str, *, client_order_ids: Sequence[str], context: BrokerContext
    ) -> list[OrderResult]: ...

    def capabilities(self, plugin: str) -> dict[str, bool]: ...


class NotifierHost(SettingsHost, Protocol):
    """What the notification dispatcher calls."""

    def notify(self, plugin: str, *, event: Event, context: NotifyContext) -> None: ...
