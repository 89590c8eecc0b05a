"""Data layer: turns any vendor's daily bars into one validated Bars panel.

Owns normalisation (column names, timestamps, symbols → the Bars contract of
DESIGN §3), validation (per-rule findings and policies), the cache-first
store under ``data/cache/<provider>/`` (atomic, locked, incremental), the
CSV file reader, the session calendar, and the provider-failure fallback to
cache (the ``csv`` and ``synthetic`` provider plugins live in
:mod:`regimeflex.builtins`). Imports only ``types``, ``config``, ``log``, ``errors``,
``http``. The names below are the helpers provider plugins build on.
"""

from regimeflex.data.calendar import last_completed_session, sessions
from regimeflex.data.normalize import bars_to_long, long_to_bars, normalize_bars, normalize_frame

__all__ = ["bars_to_long", "last_completed_session", "long_to_bars", "normalize_bars", "normalize_frame", "sessions"]
