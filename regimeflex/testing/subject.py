"""What the conformance checks run against: a plugin reduced to plain callables.

Owns :class:`Subject` (the plugin's name, roles, capability tags, validated
params and one callable per hook it implements), the outcome types
(:class:`CheckFailure`, :class:`CheckSkipped`); the role ↔ hook table is the plugin manager's.
Checks are pure functions of a Subject, so the same check runs under pytest,
from ``regimeflex plugins check`` and over bare functions in the kit's own tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from regimeflex.plugins import ROLE_HOOKS  # noqa: F401 - the one role ↔ hook table, re-exported for the kit

#: Capability tags the kit reads, with what declaring them means.
KNOWN_CAPABILITIES: dict[str, str] = {
    "supports_short": "sizer/broker: may produce negative weights / sell short",
    "supports_fractional": "broker: accepts fractional share quantities",
    "supports_attachments": "notifier: delivers Event.attachments",
    "needs_network": "data/broker/notifier: talks to an outside service; "
    "`plugins check` cannot run its calls without settings for a local server",
    "supports_stops": "broker: accepts resting `stop` / `trailing_stop` sell orders (time_in_force gtc) and "
    "implements cancel_orders",
    "supports_take_profit": "broker: places a take-profit with the protective stop (Order.take_profit_price on a "
    "`stop` order: a one-cancels-other exit); risk.yaml stops.take_profit_pct is refused without it",
    "supports_trailing_take_profit": "broker: can pair a take-profit with a trailing stop; stops.kind: trailing "
    "with stops.take_profit_pct is refused without it",
    "protects_entries": "broker: places each buy's protective stop (Order.protect) itself once the buy fills",
    "persistent": "broker: keeps orders and positions across runs (in its state directory)",
    "live_trading": "broker: can place real orders; `mode: live` is refused for a broker without it",
    "real_market_data": "data: serves real market prices; `mode: live` is refused for a provider without it",
    "per_symbol": "strategy/sizer: a symbol's output depends on its own bars and signal only (plus the benchmark "
    "and regime series); a research backtest may then run in chunks of symbols (backtest.chunk_symbols)",
}


class CheckFailure(AssertionError):
    """A plugin broke a contract check; the message names the check and what differs."""


class CheckSkipped(Exception):
    """A check does not apply to this plugin (by its declared capabilities or the author's skip list)."""


@dataclass(frozen=True)
class DataWindow:
    """The symbols and inclusive session range a data provider is asked for."""

    symbols: tuple[str, ...] = ("AAPL", "JPM")
    start: date = date(2016, 1, 4)
    end: date = date(2016, 3, 31)


@dataclass
class Subject:
    """A plugin as the checks see it.

    ``hooks`` maps hook names to callables taking the hook's keyword
    arguments; ``params`` is the validated settings mapping passed as
    ``params`` (strategy, sizer) or ``settings`` (data, broker, notifier);
    ``skip`` maps check ids to the author's reason for skipping them.
    """

    name: str
    hooks: Mapping[str, Callable[..., Any]]
    params: Mapping[str, Any] = field(default_factory=dict)
    capabilities: Mapping[str, bool] = field(default_factory=dict)
    skip: Mapping[str, str] = field(default_factory=dict)
    data_window: DataWindow = field(default_factory=DataWindow)
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def roles(self) -> list[str]:
        """The roles this plugin plays, in :data:`ROLE_HOOKS` order."""
        return [role for role, hook in ROLE_HOOKS.items() if hook in self.hooks]

    def call(self, hook: str, **kwargs: Any) -> Any:
        """Call one hook; a missing hook is a check failure naming it."""
        fn = self.hooks.get(hook)
        if fn is None:
            raise CheckFailure(f"plugin {self.name!r} does not implement the hook {hook}()")
        return fn(**kwargs)

    def capability(self, tag: str) -> bool:
        return bool(self.capabilities.get(tag, False))


def subject_from_functions(
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    capabilities: Mapping[str, bool] | None = None,
    skip: Mapping[str, str] | None = None,
    data_window: DataWindow | None = None,
    **hooks: Callable[..., Any],
) -> Subject:
    """Build a Subject from bare hook functions, e.g. ``generate_signal=my_fn``."""
    return Subject(
        name=name,
        hooks=dict(hooks),
        params=dict(params or {}),
        capabilities=dict(capabilities or {}),
        skip=dict(skip or {}),
        data_window=data_window or DataWindow(),
    )
