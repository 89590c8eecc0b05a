"""The declared plugin API: every name a plugin may import from RegimeFlex, and nothing else.

A plugin — a third-party package, the first-party ones under ``plugins/``,
the example strategy and the scaffold's templates — imports RegimeFlex only
as ``from regimeflex.api import …`` (tests may also use the conformance kit,
:mod:`regimeflex.testing`). The names below are the stable surface,
documented in docs/plugins.md ("The plugin API"); everything else in the
package is private and may change in any release. An import-linter contract
in the test run fails when a plugin imports anything else.

Names load on first use, so importing this module stays cheap (the data
types pull in pandas, the HTTP helpers requests).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: name → module that defines it. Grouped as docs/plugins.md lists them.
_SURFACE: dict[str, str] = {
    # hooks
    "hookimpl": "regimeflex.hookspecs",
    # data types that cross hook boundaries
    "BAR_FIELDS": "regimeflex.types",
    "Account": "regimeflex.types",
    "Bars": "regimeflex.types",
    "BarsRequest": "regimeflex.types",
    "BrokerContext": "regimeflex.types",
    "CorporateAction": "regimeflex.types",
    "Event": "regimeflex.types",
    "Fill": "regimeflex.types",
    "Level": "regimeflex.types",
    "NotifyContext": "regimeflex.types",
    "CommandContext": "regimeflex.types",
    "CommandRequest": "regimeflex.types",
    "CommandReply": "regimeflex.types",
    "CommandSpec": "regimeflex.types",
    "Order": "regimeflex.types",
    "OrderResult": "regimeflex.types",
    "Position": "regimeflex.types",
    "bars_symbols": "regimeflex.types",
    "check_bars": "regimeflex.types",
    "empty_bars": "regimeflex.types",
    "make_bars": "regimeflex.types",
    # errors
    "RegimeFlexError": "regimeflex.errors",
    "ConfigError": "regimeflex.errors",
    "DataError": "regimeflex.errors",
    "ProviderError": "regimeflex.errors",
    "BrokerError": "regimeflex.errors",
    "PluginError": "regimeflex.errors",
    "DeliveryError": "regimeflex.errors",
    "HttpError": "regimeflex.errors",
    "KillSwitchEngaged": "regimeflex.errors",
    # the kill switch every broker gets in BrokerContext.kill_switch
    "KillGuard": "regimeflex.killguard",
    # HTTP: one session factory, one retry policy, one JSON request, vendor messages, log protection
    "RetryPolicy": "regimeflex.http",
    "make_session": "regimeflex.http",
    "request_json": "regimeflex.http",
    "vendor_message": "regimeflex.http",
    "protect_in_http_logs": "regimeflex.http",
    # secrets and logging
    "get_secret": "regimeflex.secrets",
    "redact": "regimeflex.secrets",
    "get_logger": "regimeflex.log",
    # data helpers for provider plugins
    "normalize_frame": "regimeflex.data.normalize",
    "long_to_bars": "regimeflex.data.normalize",
    "sessions": "regimeflex.data.calendar",
    # building blocks for strategy and sizer plugins
    "Symbol": "regimeflex.config.base",
    "read_params": "regimeflex.signals.params",
    "bar_field": "regimeflex.signals.indicators",
    "sma": "regimeflex.signals.indicators",
    "ema": "regimeflex.signals.indicators",
    "rsi": "regimeflex.signals.indicators",
    "atr": "regimeflex.signals.indicators",
    "bollinger": "regimeflex.signals.indicators",
    "zscore": "regimeflex.signals.indicators",
    "realized_vol": "regimeflex.signals.indicators",
    # message shapes for notifier plugins
    "event_text": "regimeflex.notify.message",
    "event_payload": "regimeflex.notify.message",
    "event_timestamp": "regimeflex.notify.message",
}

__all__ = sorted(_SURFACE)


def __getattr__(name: str) -> Any:
    module = _SURFACE.get(name)
    if module is None:
        raise AttributeError(
            f"regimeflex.api has no {name!r}; the plugin API is the names listed in docs/plugins.md "
            f"(regimeflex.api.__all__) — anything else is private"
        )
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    pass
