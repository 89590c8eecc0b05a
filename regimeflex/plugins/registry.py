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
    #: the hook API version the plugin declares (REGIMEFLEX_HOOK_API), None when it declares none
    hook_api: str | None = None

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
            "hook_api": self.hook_api,
        }


@dataclass
class _Registry:
    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo] = field(default_factory=dict)
    #: entry points found but not imported yet (imported on first use; see PluginHost.load)
    pending: dict[str, metadata.EntryPoint] = field(default_factory=dict)
    #: bumped on every registration, so cached single-plugin hook callers are rebuilt
    generation: int = 0


def hook_api_problem(declared: object, provided: str = hookspecs.HOOK_API_VERSION) -> str | None:
    """Why a plugin declaring hook API ``declared`` cannot load in this core (None when it can)."""
    try:
        major, minor = (int(x) for x in str(declared).split("."))
    except ValueError:
        return f'declares REGIMEFLEX_HOOK_API = {declared!r}; write it as "MAJOR.MINOR", e.g. "{provided}"'
    core_major, core_minor = (int(x) for x in provided.split("."))
    if major != core_major or minor > core_minor:
        return (
            f"is written for hook API {declared} and this RegimeFlex provides hook API {provided}; "
            f"install a version of the plugin built for {core_major}.x, or a RegimeFlex whose hook API is "
            f"{major}.{minor} or a later {major}.x"
        )
    return None


def with_renamed_hooks(obj: object) -> tuple[object, list[str]]:
    """``obj`` with hooks under their old names (hookspecs.RENAMED_HOOKS) answered under the new names.

    Returns the object to register (``obj`` itself when nothing was renamed)
    and one deprecation message per old name it implements.
    """
    old = [name for name in hookspecs.RENAMED_HOOKS if callable(getattr(obj, name, None))]
    if not old:
        return obj, []
    import types

    attrs = {name: getattr(obj, name) for name in dir(obj) if not name.startswith("__")}
    notes = []
    for name in old:
        new, removed_in = hookspecs.RENAMED_HOOKS[name]
        attrs[new] = attrs.pop(name)
        notes.append(
            f"hook '{name}' was renamed to '{new}'; rename the function (the old name stops working in hook API {removed_in})"
        )
    proxy = types.SimpleNamespace(**attrs)
    proxy.__name__ = getattr(obj, "__name__", type(obj).__name__)
    return proxy, notes


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
    if dist is None:
        return None, None
    meta = dist.metadata  # parsed on each access (``dist.version`` would parse it again)
    return meta["Name"], meta["Version"]


def _hooks_of(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    callers = pm.get_hookcallers(plugin) or []
    return tuple(sorted(hc.name for hc in callers))


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    return [hc.name for hc in (pm.get_hookcallers(plugin) or []) if hc.spec is None]
