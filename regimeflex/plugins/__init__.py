"""The plugin system: finding plugins, the typed host core code calls them through, and selection.

Owns everything between the YAML's plugin names and the hook calls:
:mod:`~regimeflex.plugins.registry` (entry points of group ``regimeflex``,
roles, :class:`PluginInfo`, disabled names), :mod:`~regimeflex.plugins.host`
(:class:`PluginHost`, one method per hook with return checks, lazy per-plugin
loading, tracing) and :mod:`~regimeflex.plugins.selection` (:func:`resolve`
→ :class:`Selection`). Core code imports these names from here.
"""

from regimeflex.plugins.host import PluginHost, hookspecs_firstresult
from regimeflex.plugins.registry import (
    DISABLED_ENV,
    ENTRY_POINT_GROUP,
    HOOK_NAMES,
    ROLE_HOOKS,
    TRACE_ENV,
    PluginInfo,
    Role,
    disabled_from_env,
)
from regimeflex.plugins.selection import HISTORY_ROLES, Selected, Selection, resolve

__all__ = [
    "DISABLED_ENV",
    "ENTRY_POINT_GROUP",
    "HISTORY_ROLES",
    "HOOK_NAMES",
    "ROLE_HOOKS",
    "TRACE_ENV",
    "PluginHost",
    "PluginInfo",
    "Role",
    "Selected",
    "Selection",
    "disabled_from_env",
    "hookspecs_firstresult",
    "resolve",
]
