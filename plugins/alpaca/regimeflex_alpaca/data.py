"""Alpaca market data → Bars: ``/v2/stocks/bars`` for many symbols per call, every page; corporate actions
from ``/v1/corporate-actions``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from regimeflex.api import (
    Bars,
    ConfigError,
    CorporateAction,
    ProviderError,
    empty_bars,
    long_to_bars,
    normalize_frame,
)
from regimeflex_alpaca.client import AlpacaClient, AlpacaError
from regimeflex_alpaca.config import AlpacaDataSettings

BAR_KEYS = ("t", "o", "h", "l", "c", "v")


def adjustment_for(settings: AlpacaDataSettings, adjusted: bool) -> str:
    """Alpaca's ``adjustment`` for data.yaml's explicit ``adjusted`` choice (a contradiction is an error)."""
    if settings.adjustment is None:
        return "all" if adjusted else "raw"
    if adjusted == (settings.adjustment == "raw"):
        want = "adjusted" if adjusted else "raw"
        raise ConfigError(
            f"data.yaml: providers.alpaca.adjustment is {settings.adjustment!r} but adjusted is "
            f"{str(adjusted).lower()} ({want} prices); remove adjustment or make them agree"
        )
    return settings.adjustment


def _pages(client: AlpacaClient, params: dict[str, Any], where: str) -> list[tuple[str, Mapping[str, Any]]]:
    rows: list[tuple[str, Mapping[str, Any]]] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        try:
            body = client.get("/v2/stocks/bars", {**params, "page_token": token})
        except AlpacaError as exc:
            raise ProviderError(str(exc)) from None
        if not isinstance(body, Mapping) or not isinstance(body.get("bars", {}), (Mapping, type(None))):
            raise ProviderError(f"alpaca: {where}: expected an object with 'bars' by symbol, got {type(body).__name__}")
        for symbol, bars in (body.get("bars") or {}).items():
            if not isinstance(bars, list) or any(
                not isinstance(b, Mapping) or "t" not in b or "c" not in b for b in bars
            ):
                raise ProviderError(f"alpaca: {where}: bars of {symbol} are not a list of bars with t and c")
            rows.extend((symbol, b) for b in bars)
        token = body.get("next_page_token") or None
        if token is None:
            return rows
        if token in seen:
            raise ProviderError(f"alpaca: {where}: next_page_token repeats itself; stopping")
        seen.add(token)


def provide(
    client: AlpacaClient, settings: AlpacaDataSettings, symbols: Sequence[str], start: date, end: date, adjusted: bool
) -> Bars:
    wanted = sorted({s.upper() for s in symbols})
    if not wanted:
        return empty_bars(())
    adjustment = adjustment_for(settings, adjusted)
    rows: list[tuple[str, Mapping[str, Any]]] = []
    step = settings.symbols_per_request
    for i in range(0, len(wanted), step):
        batch = wanted[i : i + step]
        params = {
            "symbols": ",".join(batch),
            "timeframe": "1Day",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "limit": settings.page_limit,
            "adjustment": adjustment,
            "feed": settings.feed,
            "sort": "asc",
        }
        rows.extend(_pages(client, params, f"bars {batch[0]}…{batch[-1]}" if len(batch) > 1 else f"bars {batch[0]}"))
    if not rows:
        return empty_bars(tuple(wanted))
    frame = pd.DataFrame([b for _, b in rows]).reindex(columns=list(BAR_KEYS))
    frame["symbol"] = [s for s, _ in rows]
    long = normalize_frame(frame, where="alpaca /v2/stocks/bars")
    long = long[long["symbol"].isin(wanted)]
    long = long[(long["date"] >= pd.Timestamp(start)) & (long["date"] <= pd.Timestamp(end))]
    long = long.drop_duplicates(subset=["symbol", "date"], keep="last")
    return long_to_bars(long, wanted)


#: Alpaca's corporate action types the core can apply (docs/data.md); the others (stock dividends,
#: spin-offs, mergers, name changes …) are not asked for
CORPORATE_ACTION_TYPES = ("forward_split", "reverse_split", "cash_dividend")
#: ``/v1/corporate-actions`` returns at most this many actions a page
CORPORATE_ACTIONS_PAGE_MAX = 1000


def _corporate_rows(body: Any, where: str) -> Mapping[str, Any]:
    groups = body.get("corporate_actions") if isinstance(body, Mapping) else None
    if not isinstance(groups, Mapping) or any(
        not isinstance(rows, list) or any(not isinstance(r, Mapping) for r in rows) for rows in groups.values()
    ):
        raise ProviderError(f"alpaca: {where}: expected an object with 'corporate_actions' lists by type")
    return groups


def _action(group: str, row: Mapping[str, Any], where: str) -> CorporateAction | None:
    try:
        symbol, ex_date = str(row["symbol"]).upper(), date.fromisoformat(str(row["ex_date"]))
        if group in ("forward_splits", "reverse_splits"):
            ratio = float(row["new_rate"]) / float(row["old_rate"])
            return CorporateAction(symbol, ex_date, "split", ratio=ratio, source="alpaca")
        if group == "cash_dividends":
            return CorporateAction(symbol, ex_date, "dividend", cash=float(row["rate"]), source="alpaca")
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ProviderError(f"alpaca: {where}: a {group} entry cannot be read ({type(exc).__name__}: {exc})") from None
    return None


def corporate_actions(
    client: AlpacaClient, settings: AlpacaDataSettings, symbols: Sequence[str], start: date, end: date
) -> list[CorporateAction]:
    """Forward splits, reverse splits and cash dividends of ``symbols`` with an ex-date in ``[start, end]``
    from ``/v1/corporate-actions`` (``symbols_per_request`` symbols a call, every ``page_token`` page)."""
    wanted = sorted({s.upper() for s in symbols})
    out: list[CorporateAction] = []
    step = settings.symbols_per_request
    for i in range(0, len(wanted), step):
        batch = wanted[i : i + step]
        where = f"corporate actions {batch[0]}…{batch[-1]}" if len(batch) > 1 else f"corporate actions {batch[0]}"
        params = {
            "symbols": ",".join(batch),
            "types": ",".join(CORPORATE_ACTION_TYPES),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "limit": min(settings.page_limit, CORPORATE_ACTIONS_PAGE_MAX),
            "sort": "asc",
        }
        token: str | None = None
        seen: set[str] = set()
        while True:
            try:
                body = client.get("/v1/corporate-actions", {**params, "page_token": token})
            except AlpacaError as exc:
                raise ProviderError(str(exc)) from None
            for group, rows in _corporate_rows(body, where).items():
                for row in rows:
                    action = _action(group, row, where)
                    if action is not None and action.symbol in batch and start <= action.ex_date <= end:
                        out.append(action)
            token = body.get("next_page_token") or None
            if token is None:
                break
            if token in seen:
                raise ProviderError(f"alpaca: {where}: next_page_token repeats itself; stopping")
            seen.add(token)
    return sorted(out, key=lambda a: (a.ex_date, a.symbol, a.kind))
