"""The built-in sizer plugins, one module per plugin (each registered as an entry point).

Each module holds ``@hookimpl`` ``size_position`` and ``settings_model``; the
formulas live in :mod:`regimeflex.risk.sizing`.
"""
