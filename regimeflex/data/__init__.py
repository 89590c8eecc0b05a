"""Data layer: turns any vendor's daily bars into one validated Bars panel.

Owns normalisation (column names, timestamps, symbols → the Bars contract of
DESIGN §3), validation (per-rule findings and policies), the cache-first
store under ``data/cache/<provider>/`` (atomic, locked, incremental), the
built-in ``csv`` and ``synthetic`` providers, and the provider-failure
fallback to cache. Imports only ``types``, ``config``, ``log``, ``errors``.
"""
