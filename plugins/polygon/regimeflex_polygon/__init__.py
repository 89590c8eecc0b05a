"""RegimeFlex data plugin for Polygon.io (now "Massive") daily aggregates.

Owns fetching split-adjusted or raw daily bars from Polygon's REST API —
``/v2/aggs/ticker/{ticker}/range/1/day/{from}/{to}`` per symbol with
``next_url`` pagination, and ``/v2/aggs/grouped/locale/us/market/stocks/{date}``
to update a large universe with one call per session — and turning them
into Bars. The key comes from ``POLYGON_API_KEY`` and travels in the
``Authorization`` header only, so no URL ever holds it.
Layout: ``config`` (settings), ``client`` (HTTP), ``data`` (requests → Bars), ``hooks``.
"""

__version__ = "0.1.0"
