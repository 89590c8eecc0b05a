"""Polygon responses → Bars: per-symbol aggregates with pagination, grouped daily for big universes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from regimeflex.api import Bars, CorporateAction, ProviderError, empty_bars, long_to_bars, normalize_frame, sessions
from regimeflex_polygon.client import PolygonClient

AGG_KEYS = ("t", "o", "h", "l", "c", "v")


def _results(body: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    results = body.get("results")
    if results is None:
        return []
    if not isinstance(results, list) or any(not isinstance(r, Mapping) for r in results):
        raise ProviderError(f"polygon: {where}: 'results' is not a list of bars")
    for row in results:
        missing = [k for k in ("t", "c") if k not in row]
        if missing:
            raise ProviderError(f"polygon: {where}: a bar lacks {', '.join(missing)}")
    return results


def fetch_aggs(client: PolygonClient, symbol: str, start: date, end: date, adjusted: bool) -> pd.DataFrame:
    """All daily aggregates of one ticker, following ``next_url`` until the last page."""
    path = f"/v2/aggs/ticker/{symbol}/range/1/day/{start.isoformat()}/{end.isoformat()}"
    params: dict[str, Any] | None = {"adjusted": str(adjusted).lower(), "sort": "asc", "limit": client.settings.limit}
    rows: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    url: str | None = path
    while url:
        body = client.get(url, params)
        rows.extend(_results(body, f"aggs {symbol}"))
        url = body.get("next_url") or None
        params = None  # the cursor URL carries every parameter
        if url in seen:
            raise ProviderError(f"polygon: aggs {symbol}: next_url repeats itself; stopping")
        if url:
            seen.add(url)
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).reindex(columns=list(AGG_KEYS))
    return normalize_frame(frame, symbol=symbol, where=f"polygon aggs {symbol}")


def fetch_grouped(
    client: PolygonClient, symbols: Sequence[str], start: date, end: date, adjusted: bool
) -> pd.DataFrame:
    """One grouped-daily call per session; the bar date is the session asked for."""
    wanted = set(symbols)
    parts = []
    for day in sessions(start, end):
        body = client.get(
            f"/v2/aggs/grouped/locale/us/market/stocks/{day:%Y-%m-%d}", {"adjusted": str(adjusted).lower()}
        )
        rows = [r for r in _results(body, f"grouped {day:%Y-%m-%d}") if str(r.get("T", "")).upper() in wanted]
        if not rows:
            continue
        frame = pd.DataFrame(rows).reindex(columns=["T", *AGG_KEYS])
        frame["t"] = day  # the vendor's own t is not always the session (see fixtures/SOURCES.md)
        parts.append(normalize_frame(frame, where=f"polygon grouped {day:%Y-%m-%d}"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def provide(client: PolygonClient, symbols: Sequence[str], start: date, end: date, adjusted: bool) -> Bars:
    symbols = [s.upper() for s in symbols]
    n_sessions = len(sessions(start, end))
    settings = client.settings
    if len(symbols) >= settings.grouped_min_symbols and 0 < n_sessions <= settings.grouped_max_sessions:
        long = fetch_grouped(client, symbols, start, end, adjusted)
        parts = [long] if not long.empty else []
    else:
        parts = [p for p in (fetch_aggs(client, s, start, end, adjusted) for s in symbols) if not p.empty]
    if not parts:
        return empty_bars(tuple(sorted(set(symbols))))
    long = pd.concat(parts, ignore_index=True)
    long = long[(long["date"] >= pd.Timestamp(start)) & (long["date"] <= pd.Timestamp(end))]
    long = long.drop_duplicates(subset=["symbol", "date"], keep="last")
    return long_to_bars(long, symbols)


def _rows(body: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    results = body.get("results") if isinstance(body, Mapping) else None
    if results is None:
        return []
    if not isinstance(results, list) or any(not isinstance(r, Mapping) for r in results):
        raise ProviderError(f"polygon: {where}: 'results' is not a list of objects")
    return results


def corporate_actions(client: PolygonClient, symbols: Sequence[str], start: date, end: date) -> list[CorporateAction]:
    """Splits (``/v3/reference/splits``) and cash dividends (``/v3/reference/dividends``, type ``CD``)
    of ``symbols`` with an ex-date in ``[start, end]`` (one page of up to 1,000 each per symbol)."""
    out: list[CorporateAction] = []
    for symbol in symbols:
        window = {"ticker": symbol, "limit": "1000"}
        splits = client.get(
            "/v3/reference/splits",
            {**window, "execution_date.gte": start.isoformat(), "execution_date.lte": end.isoformat()},
        )
        for row in _rows(splits, f"splits of {symbol}"):
            if row.get("ticker") != symbol or not row.get("split_from") or not row.get("split_to"):
                continue
            ratio = float(row["split_to"]) / float(row["split_from"])
            out.append(
                CorporateAction(
                    symbol, date.fromisoformat(row["execution_date"]), "split", ratio=ratio, source="polygon"
                )
            )
        dividends = client.get(
            "/v3/reference/dividends",
            {**window, "ex_dividend_date.gte": start.isoformat(), "ex_dividend_date.lte": end.isoformat()},
        )
        for row in _rows(dividends, f"dividends of {symbol}"):
            if row.get("ticker") != symbol or row.get("dividend_type") not in ("CD", None):
                continue
            out.append(
                CorporateAction(
                    symbol,
                    date.fromisoformat(row["ex_dividend_date"]),
                    "dividend",
                    cash=float(row["cash_amount"]),
                    source="polygon",
                )
            )
    return [a for a in out if start <= a.ex_date <= end]
