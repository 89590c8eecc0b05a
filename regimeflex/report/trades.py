"""Fills turned into what a reader of a tear sheet wants first: round trips and a per-symbol summary.

Owns the reading of a fills table (``date symbol side qty price`` and
optionally ``commission``): splitting each symbol's fills into round trips
(flat → position → flat; a fill that flips the sign closes one trip and opens
the next), the per-symbol summary (trips, win rate, average win and loss,
average holding period in sessions, P&L contribution) and the fills table
with rebalance dust grouped (fills that only resize an open position, summed
per symbol and month). Pure functions over DataFrames; money P&L, not returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

#: a position smaller than this many shares is flat (float noise of fractional-share arithmetic)
FLAT = 1e-9


_SELL = {"sell", "s", "short", "sell_short", "sellshort"}


def signed_fills(trades: pd.DataFrame) -> pd.DataFrame:
    """The fills with ``date`` as Timestamp, a signed quantity ``dq`` (+ buy, − sell) and ``cash`` flow,
    sorted by symbol then date (input order kept within a date).

    ``cash`` is what the fill did to cash: ``-dq × price - commission``. A frame that is already
    prepared (has ``dq`` and ``cash``) is returned as it is, so callers can prepare once.
    """
    if "dq" in trades.columns and "cash" in trades.columns:
        return trades
    n = len(trades)
    symbols = pd.Categorical(trades["symbol"].to_numpy(dtype=object).astype(str))
    dates = pd.to_datetime(trades["date"]).to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((np.arange(n), dates.astype("int64"), symbols.codes))
    sides = trades["side"].to_numpy(dtype=object)
    kinds, inverse = np.unique(sides.astype(str), return_inverse=True)
    sell = np.array([k.strip().lower() in _SELL for k in kinds.tolist()], dtype=bool)
    sign = np.where(sell[inverse], -1.0, 1.0)
    qty = pd.to_numeric(trades["qty"], errors="coerce").to_numpy(dtype="float64")
    price = pd.to_numeric(trades["price"], errors="coerce").to_numpy(dtype="float64")
    commission = (
        pd.to_numeric(trades["commission"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
        if "commission" in trades.columns
        else np.zeros(n)
    )
    dq = sign * np.abs(qty)
    out = pd.DataFrame(
        {
            "date": dates[order],
            "symbol": pd.Categorical.from_codes(symbols.codes[order], symbols.categories),
            "side": np.where(sell[inverse], "sell", "buy")[order],
            "qty": np.abs(qty)[order],
            "price": price[order],
            "dq": dq[order],
            "commission": commission[order],
            "cash": (-dq * price - commission)[order],
        }
    )
    if "event" in trades.columns:  # e.g. "data ended": the fill that closed a symbol whose data stopped
        out["event"] = (
            trades["event"].astype(object).where(trades["event"].notna(), "").astype(str).to_numpy(dtype=object)[order]
        )
    return out


def round_trips(
    trades: pd.DataFrame, sessions: pd.DatetimeIndex, final_prices: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """One row per round trip: ``symbol entry exit sessions qty pnl open``.

    ``sessions`` (the backtest's session dates) measures holding periods in sessions. A trip still
    open at the end is valued at ``final_prices[symbol]`` (its ``exit`` is the last session and
    ``open`` is True); without a price its P&L is NaN, never a guess.
    """
    columns = ["symbol", "entry", "exit", "sessions", "qty", "pnl", "open"]
    fills = fill_kinds(trades)
    if fills.empty:
        return pd.DataFrame(columns=columns)
    index = pd.DatetimeIndex(sessions)
    last_session = index[-1] if len(index) else fills["date"].max()
    prices = dict(final_prices or {})
    flipping = set(fills.loc[fills["kind"] == "flip", "symbol"])
    simple = fills[~fills["symbol"].isin(flipping)]
    frames = []
    if len(simple):
        trip = (simple["kind"] == "entry").cumsum()
        g = simple.assign(size=simple["position"].abs()).groupby(trip, sort=False)
        agg = g.agg(
            symbol=("symbol", "first"),
            entry=("date", "first"),
            last_date=("date", "last"),
            last_kind=("kind", "last"),
            qty=("size", "max"),
            cash=("cash", "sum"),
            position=("position", "last"),
        )
        is_open = agg["last_kind"] != "exit"
        value = agg["position"] * agg["symbol"].map(lambda s: prices.get(s, math.nan)).astype("float64")
        agg["pnl"] = np.where(is_open, agg["cash"] + value, agg["cash"])
        agg["exit"] = np.where(is_open, last_session, agg["last_date"])
        agg["open"] = is_open.to_numpy()
        frames.append(agg[["symbol", "entry", "exit", "qty", "pnl", "open"]])
    for symbol in sorted(flipping):
        frames.append(pd.DataFrame(_trips_loop(fills[fills["symbol"] == symbol], last_session, prices)))
    out = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    if out is None:
        return pd.DataFrame(columns=columns)
    out["entry"] = pd.to_datetime(out["entry"])
    out["exit"] = pd.to_datetime(out["exit"])
    out["sessions"] = index.searchsorted(out["exit"]) - index.searchsorted(out["entry"])
    return out[columns].sort_values(["symbol", "entry"], kind="stable").reset_index(drop=True)


def _trips_loop(group: pd.DataFrame, last_session: Any, prices: Mapping[str, float]) -> list[dict[str, Any]]:
    """Round trips of one symbol whose position changes sign inside a fill (split at zero)."""
    rows: list[dict[str, Any]] = []
    symbol = str(group["symbol"].iloc[0])
    pos, cash, entry, peak = 0.0, 0.0, None, 0.0
    for date, dq, price, comm in zip(group["date"], group["dq"], group["price"], group["commission"]):
        remaining = dq
        while abs(remaining) > FLAT:
            if abs(pos) <= FLAT:
                entry, cash, peak = date, 0.0, 0.0
            crosses = pos != 0 and np.sign(pos + remaining) != np.sign(pos) and abs(pos + remaining) > FLAT
            part = -pos if crosses else remaining
            cash += -part * price - comm * (part / dq)
            pos += part
            peak = max(peak, abs(pos))
            remaining -= part
            if abs(pos) <= FLAT:
                pos = 0.0
                rows.append({"symbol": symbol, "entry": entry, "exit": date, "qty": peak, "pnl": cash, "open": False})
                entry = None
    if entry is not None:
        price = prices.get(symbol, math.nan)
        rows.append(
            {
                "symbol": symbol,
                "entry": entry,
                "exit": last_session,
                "qty": peak,
                "pnl": cash + pos * price,
                "open": True,
            }
        )
    return rows


def symbol_pnl(trades: pd.DataFrame, final_values: Mapping[str, float] | None) -> pd.Series:
    """Money P&L of each symbol over the whole backtest: its final position value plus every cash flow of its fills.

    ``final_values`` is each symbol's position value at the last close. Summed over symbols this is
    the equity change (when cash earns nothing), which the tests check. Without ``final_values``
    a symbol still held at the end has an unknown (NaN) P&L, never its cash flows alone.
    """
    fills = signed_fills(trades)
    flows = fills.groupby("symbol")["cash"].sum()
    held = fills.groupby("symbol")["dq"].sum()
    values = dict(final_values or {})
    symbols = sorted(set(flows.index) | {s for s, v in values.items() if v})
    out = {}
    for s in symbols:
        if final_values is None and abs(float(held.get(s, 0.0))) > FLAT:
            out[s] = math.nan
        else:
            out[s] = float(flows.get(s, 0.0)) + float(values.get(s, 0.0))
    return pd.Series(out, dtype="float64").sort_values(ascending=False, kind="stable", na_position="last")


def symbol_summary(trips: pd.DataFrame, pnl: pd.Series, fills: pd.DataFrame) -> pd.DataFrame:
    """Per symbol: ``fills trips closed win_rate avg_win avg_loss avg_sessions pnl``, in the order of ``pnl``.

    Win rate and averages use closed trips only (an open trip has no result yet); NaN when there are none.
    """
    columns = ["symbol", "fills", "trips", "closed", "win_rate", "avg_win", "avg_loss", "avg_sessions", "pnl"]
    symbols = pd.Index(pnl.index, name="symbol")
    counts = signed_fills(fills).groupby("symbol").size() if len(fills) else pd.Series(dtype="int64")
    out = pd.DataFrame(index=symbols)
    out["fills"] = counts.reindex(symbols).fillna(0).astype("int64")
    out["trips"] = trips.groupby("symbol").size().reindex(symbols).fillna(0).astype("int64") if len(trips) else 0
    closed = trips[~trips["open"].astype(bool)] if len(trips) else trips
    if len(closed):
        by = closed.groupby("symbol")
        win = closed["pnl"].where(closed["pnl"] > 0)
        loss = closed["pnl"].where(closed["pnl"] < 0)
        wins = win.notna().groupby(closed["symbol"]).sum()
        losses = loss.notna().groupby(closed["symbol"]).sum()
        decided = (wins + losses).reindex(symbols)
        out["closed"] = by.size().reindex(symbols).fillna(0).astype("int64")
        out["win_rate"] = (wins.reindex(symbols) / decided.where(decided > 0)).astype("float64")
        out["avg_win"] = win.groupby(closed["symbol"]).mean().reindex(symbols)
        out["avg_loss"] = loss.groupby(closed["symbol"]).mean().reindex(symbols)
        out["avg_sessions"] = by["sessions"].mean().reindex(symbols).astype("float64")
    else:
        out["closed"] = 0
        for col in ("win_rate", "avg_win", "avg_loss", "avg_sessions"):
            out[col] = math.nan
    out["pnl"] = pnl.astype("float64")
    return out.reset_index()[columns]


def fill_kinds(trades: pd.DataFrame) -> pd.DataFrame:
    """The signed fills with ``kind``: ``entry`` (from flat), ``exit`` (to flat), ``flip``, or ``rebalance``,
    and ``position`` (shares held after the fill). A frame that already has ``kind`` is returned as it is."""
    if "kind" in trades.columns and "position" in trades.columns:
        return trades
    fills = signed_fills(trades).copy()
    codes = fills["symbol"].cat.codes.to_numpy() if len(fills) else np.zeros(0, dtype="int64")
    dq = fills["dq"].to_numpy()
    total = np.cumsum(dq)
    # position after each fill = running sum within the symbol (fills are sorted by symbol)
    starts = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.zeros(0, dtype=bool)
    offset = np.where(starts, total - dq, np.nan)
    offset = pd.Series(offset).ffill().to_numpy() if len(offset) else offset
    after = total - offset
    before = after - dq
    flat_before = np.abs(before) <= FLAT
    flat_after = np.abs(after) <= FLAT
    flip = ~flat_before & ~flat_after & (np.sign(before) != np.sign(after))
    fills["kind"] = np.select([flat_before, flat_after, flip], ["entry", "exit", "flip"], "rebalance")
    fills["position"] = np.where(flat_after, 0.0, after)
    return fills


def grouped_fills(trades: pd.DataFrame, max_rows: int = 500) -> tuple[list[dict[str, Any]], int]:
    """The fills table a reader can scan: entries, exits and flips one per row, rebalance fills
    summed per symbol and month (``count`` fills, net quantity, notional traded).

    Returns at most ``max_rows`` rows (the most recent) and the number of rows before the cut.
    """
    fills = fill_kinds(trades)
    if fills.empty:
        return [], 0
    fills["notional"] = fills["qty"].abs() * fills["price"]
    dust_mask = (fills["kind"] == "rebalance").to_numpy()
    single = fills.loc[~dust_mask, ["date", "symbol", "kind", "side", "qty", "price", "notional", "commission"]]
    single = single.assign(label=single["date"].dt.strftime("%Y-%m-%d"), count=1)
    if "event" in fills.columns:
        event = fills.loc[~dust_mask, "event"].astype(str)
        single["kind"] = np.where(event != "", single["kind"].astype(str) + " (" + event + ")", single["kind"])
    parts = [single]
    dust = fills[dust_mask]
    if len(dust):
        month = dust["date"].dt.to_period("M")
        grouped = (
            dust.groupby([dust["symbol"], month])
            .agg(
                count=("dq", "size"),
                net=("dq", "sum"),
                notional=("notional", "sum"),
                commission=("commission", "sum"),
                date=("date", "max"),
            )
            .reset_index(names=["symbol", "month"])
        )
        parts.append(
            pd.DataFrame(
                {
                    "date": grouped["date"],
                    "symbol": grouped["symbol"],
                    "kind": "rebalance",
                    "side": np.where(grouped["net"] > 0, "net buy", np.where(grouped["net"] < 0, "net sell", "net 0")),
                    "qty": grouped["net"].abs(),
                    "price": math.nan,
                    "notional": grouped["notional"],
                    "commission": grouped["commission"],
                    "label": grouped["month"].astype(str),
                    "count": grouped["count"],
                }
            )
        )
    table = pd.concat(parts, ignore_index=True).sort_values(["date", "symbol"], kind="stable")
    total = len(table)
    shown = table.tail(max_rows).rename(columns={"date": "sort", "label": "date"})
    return shown.to_dict("records"), total
