"""RegimeFlex: run a systematic US-equity strategy every trading day, safely, and backtest the same code.

The public surface plugin authors use: the ``hookimpl`` marker, the data
types that cross hook boundaries, and the errors they may raise. Everything
else lives in its layer (data, signals, risk, execution, ledger, backtest,
report, notify) and is imported from there.
"""

from regimeflex.errors import (
    BrokerError,
    ConfigError,
    DataError,
    DeliveryError,
    KillSwitchEngaged,
    PluginError,
    ProviderError,
    RegimeFlexError,
)
from regimeflex.hookspecs import hookimpl, hookspec
from regimeflex.killguard import KillGuard

# The data types pull in pandas; they load on first use so `regimeflex --help` stays fast.
_LAZY_TYPES = {
    "BAR_FIELDS",
    "Account",
    "Bars",
    "BarsRequest",
    "BrokerContext",
    "CommandContext",
    "CommandReply",
    "CommandRequest",
    "CommandSpec",
    "Event",
    "Fill",
    "KillGuard",
    "KillSwitchEngaged",
    "Level",
    "NotifyContext",
    "Order",
    "OrderResult",
    "Position",
    "bars_symbols",
    "check_bars",
    "empty_bars",
    "make_bars",
}


def __getattr__(name: str) -> object:
    if name in _LAZY_TYPES:
        from regimeflex import types

        return getattr(types, name)
    raise AttributeError(f"module 'regimeflex' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "BAR_FIELDS",
    "Account",
    "Bars",
    "BarsRequest",
    "BrokerContext",
    "BrokerError",
    "CommandContext",
    "CommandReply",
    "CommandRequest",
    "CommandSpec",
    "ConfigError",
    "DataError",
    "DeliveryError",
    "Event",
    "Fill",
    "KillGuard",
    "KillSwitchEngaged",
    "Level",
    "NotifyContext",
    "Order",
    "OrderResult",
    "PluginError",
    "Position",
    "ProviderError",
    "RegimeFlexError",
    "bars_symbols",
    "check_bars",
    "empty_bars",
    "hookimpl",
    "hookspec",
    "make_bars",
]
