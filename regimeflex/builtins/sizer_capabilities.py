"""The built-in sizer plugins, one module per plugin (each registered as an entry point).

Each module holds ``@hookimpl`` ``size_position`` and ``settings_model``; the
formulas live in :mod:`regimeflex.risk.sizing`. :func:`capabilities` is shared:
each sizer module imports it, which registers it as that plugin's own hookimpl.
"""

from __future__ import annotations

from regimeflex.hookspecs import hookimpl


@hookimpl
def capabilities() -> dict[str, bool]:
    # a negative signal gives a short (negative) weight: the sizer follows the signal's sign
    return {"supports_short": True}
