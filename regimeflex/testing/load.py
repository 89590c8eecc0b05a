"""Turn "the plugin under test" into a :class:`~regimeflex.testing.subject.Subject`.

Owns resolving what an author or the CLI names — an installed entry-point
name, or a module/object holding ``@hookimpl`` functions — through
:class:`regimeflex.plugins.PluginHost`, so the kit calls a plugin exactly as
the runner does (same selection, same return checks, same error lines), and
validating the params the author gives with the plugin's own settings model.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from regimeflex.errors import PluginError
from regimeflex.plugins import PluginHost
from regimeflex.testing.subject import DataWindow, Subject

#: How each hook is called on the host (keyword arguments exactly as the hookspec names them).
_HOST_CALLS: dict[str, Any] = {
    "provide_bars": lambda host, name: lambda request: host.provide_bars(name, request=request),
    "generate_signal": lambda host, name: lambda bars, params: host.generate_signal(name, bars=bars, params=params),
    "size_position": lambda host, name: (
        lambda signals, bars, params: host.size_position(name, signals=signals, bars=bars, params=params)
    ),
    "execute_orders": lambda host, name: (
        lambda orders, context: host.execute_orders(name, orders=orders, context=context)
    ),
    "broker_account": lambda host, name: lambda context: host.broker_account(name, context=context),
    "broker_orders": lambda host, name: (
        lambda client_order_ids, context: host.broker_orders(name, client_order_ids=client_order_ids, context=context)
    ),
    "broker_fills": lambda host, name: lambda since, context: host.broker_fills(name, since=since, context=context),
    "cancel_open_orders": lambda host, name: lambda context: host.cancel_open_orders(name, context=context),
    "cancel_orders": lambda host, name: (
        lambda client_order_ids, context: host.cancel_orders(name, client_order_ids=client_order_ids, context=context)
    ),
    "notify": lambda host, name: lambda event, context: host.notify(name, event=event, context=context),
}


@dataclass(frozen=True)
class PluginUnderTest:
    """What ``parametrize_with_contracts`` takes: a plugin plus the params to test it with.

    ``plugin`` is an installed entry-point name (``"trend"``) or a module or
    object with ``@regimeflex.hookimpl`` functions. ``skip`` maps check ids to
    the reason they cannot run for this plugin (shown as SKIP, never hidden).
    """

    plugin: str | ModuleType | object
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    skip: Mapping[str, str] = field(default_factory=dict)
    data_window: DataWindow | None = None
    #: Where the params came from, for validation errors (``"<file>: <key path>"``).
    where: str | None = None

    @property
    def label(self) -> str:
        return self.name or plugin_name(self.plugin)


def plugin_name(plugin: str | ModuleType | object) -> str:
    """The name a plugin is tested under: its entry-point name, or its module's last dotted part."""
    if isinstance(plugin, str):
        return plugin
    module = getattr(plugin, "__name__", None) or type(plugin).__name__
    return str(module).rsplit(".", 1)[-1]


def host_for(plugin: str | ModuleType | object, name: str) -> PluginHost:
    """A host holding the plugin: the installed ones for a name, else just this object."""
    if isinstance(plugin, str):
        return PluginHost.load()
    return PluginHost.from_plugins({name: plugin})


def load_subject(spec: PluginUnderTest | str | ModuleType | object, *, host: PluginHost | None = None) -> Subject:
    """Resolve a plugin to a Subject: load it, validate its params, read its capabilities.

    Raises :class:`~regimeflex.errors.PluginError` when the plugin is unknown,
    blocked, failed to import or implements no role hook, and
    :class:`~regimeflex.errors.ConfigError` when the params do not validate.
    """
    if not isinstance(spec, PluginUnderTest):
        spec = PluginUnderTest(spec)
    name = spec.label
    host = host or host_for(spec.plugin, name)
    info = host.get(name)
    if info is None:
        installed = [i.name for i in host.info()]
        close = difflib.get_close_matches(name, installed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise PluginError(
            f"conformance kit: no plugin named '{name}' is installed{hint}. "
            f"Installed plugins: {', '.join(installed) or 'none'}. Install the package "
            f"that provides it (pip install -e .) or fix the name."
        )
    if info.state != "active":
        host.require(name, info.roles[0] if info.roles else "strategy", where="conformance kit")
    if not info.roles:
        raise PluginError(
            f"conformance kit: {info.label} implements none of the role hooks "
            f"(provide_bars, generate_signal, size_position, execute_orders, notify); "
            f"nothing to check"
        )
    params = host.validate_settings(name, dict(spec.params), where=spec.where or f"test params for '{name}': params")
    hooks = {hook: _HOST_CALLS[hook](host, name) for hook in info.hooks if hook in _HOST_CALLS}
    return Subject(
        name=name,
        hooks=hooks,
        params=params,
        capabilities=host.capabilities(name),
        skip=dict(spec.skip),
        data_window=spec.data_window or DataWindow(),
    )
