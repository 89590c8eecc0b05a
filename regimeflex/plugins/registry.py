"""Finding plugins: entry points, roles, what ``plugins list`` shows, disabled names.

Owns the vocabulary of the plugin system — the entry-point group
(``regimeflex``, built-ins included), the role each hook makes a plugin
eligible for, :class:`PluginInfo` (one row of ``regimeflex plugins list``),
the ``REGIMEFLEX_DISABLED_PLUGINS`` / ``REGIMEFLEX_TRACE_PLUGINS`` switches —
and the pluggy manager every host is built on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from regimeflex import hookspecs
from regimeflex.log import get_logger

if TYPE_CHECKING:
    pass

log = get_logger("plugins")

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME
DISABLED_ENV = "REGIMEFLEX_DISABLED_PLUGINS"
TRACE_ENV = "REGIMEFLEX_TRACE_PLUGINS"

Role = Literal["data", "strategy", "sizer", "broker", "notifier"]

#: The hook that makes a plugin eligible for each role.
ROLE_HOOKS: dict[str, str] = {
    "data": "provide_bars",
    "strategy": "generate_signal",
    "sizer": "size_position",
    "broker": "execute_orders",
    "notifier": "notify",
}
HOOK_NAMES: tuple[str, ...] = tuple(
    name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "regimeflex_spec")
)


@dataclass(frozen=True)
class PluginInfo:
    """What ``regimeflex plugins list`` shows for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    module: str
    hooks: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    state: Literal["active", "blocked", "error"] = "active"
    error: str | None = None

    @property
    def label(self) -> str:
        dist = f"{self.distribution} {self.version}" if self.distribution else "not from a distribution"
        return f"plugin '{self.name}' ({dist})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "hooks": list(self.hooks),
            "roles": list(self.roles),
            "state": self.state,
            "error": self.error,
        }


@dataclass
class _Registry:
    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo] = field(default_factory=dict)
    #: entry points found but not imported yet (imported on first use; see PluginHost.load)
    pending: dict[str, metadata.EntryPoint] = field(default_factory=dict)
    #: bumped on every registration, so cached single-plugin hook callers are rebuilt
    generation: int = 0


def disabled_from_env(environ: Mapping[str, str] | None = None) -> set[str]:
    env = os.environ if environ is None else environ
    return {n.strip() for n in env.get(DISABLED_ENV, "").split(",") if n.strip()}


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def _dist_of(ep: metadata.EntryPoint) -> tuple[str | None, str | None]:
    """(distribution name, version) of an entry point, when it comes from one."""
    dist = getattr(ep, "dist", None)
    return (dist.metadata["Name"], dist.version) if dist is not None else (None, None)


def _hooks_of(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    callers = pm.get_hookcallers(plugin) or []
    return tuple(sorted(hc.name for hc in callers))


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    return [hc.name for hc in (pm.get_hookcallers(plugin) or []) if hc.spec is None]
