"""The simulated broker account shared by the ``paper`` plugin and the backtest's planner replay.

Owns the fill simulation: it behaves like a
real broker that happens to live in a file: orders are accepted (or
rejected for lack of cash or shares) and remembered by client order id, so a
resend of the same id returns the original order instead of a second one;
fills happen at the next session's open taken from ``context.prices`` (or at
once at the order's reference price with ``fill_at: reference``), with
slippage and commission from ``brokers.paper`` in broker.yaml, and
optionally in parts (``partial_fill_ratio``). Its state file
(``<state_dir>/paper_broker.json``, written atomically) is rebuilt from the
ledger's fills and intents when missing, so the ledger stays the record.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.config.broker import PaperSettings as PaperSettings  # re-exported: defined with broker.yaml settings
from regimeflex.execution.stops import level, placed_levels, ratchet, stop_fill_price, take_profit_fill_price
from regimeflex.fsio import atomic_write_text, writing
from regimeflex.types import (
    Account,
    BrokerContext,
    CorporateAction,
    Fill,
    Order,
    OrderResult,
    Position,
    ProtectiveStop,
)

STATE_FILE = "paper_broker.json"
OPEN_STATUSES = ("accepted", "partially_filled")


class PaperBook:
    """The simulated account: cash, positions, orders by client id, fills."""

    def __init__(
        self, path: Path | None, settings: PaperSettings, prices: pd.DataFrame | None, state: dict[str, Any]
    ) -> None:
        self.path = path
        self.settings = settings
        self.prices = prices
        self.cash: float = float(state["cash"])
        self.orders: dict[str, dict[str, Any]] = state.get("orders", {})
        # ids of the orders that may still be open, in submission order (pruned as they close): the
        # replay asks for the open orders every session, and scanning every order ever placed made
        # each session of a long replay cost more than the one before
        self._maybe_open: dict[str, None] = dict.fromkeys(
            c for c, o in self.orders.items() if o["status"] in OPEN_STATUSES
        )
        self.fills: list[dict[str, Any]] = state.get("fills", [])
        #: symbol → the protective stop working on the position (see :mod:`regimeflex.execution.stops`)
        self.stops: dict[str, dict[str, Any]] = state.get("stops", {})
        #: corporate actions applied, by action id (``kind:SYMBOL:ex_date``), each with ``at_fill``: how
        #: many fills came before it (a split applies to the position folded from those fills)
        self.actions: dict[str, dict[str, Any]] = state.get("actions", {})
        #: the provider's actions this run brought (``context.corporate_actions``) and the run's session
        self.pending_actions: tuple[CorporateAction, ...] = ()
        self.session: date | None = None
        # positions folded from the first ``_folded_count`` fills and ``_split_count`` splits (both only appended)
        self._folded: dict[str, tuple[float, float]] = {}
        self._folded_count = 0
        self._split_count = 0
        self._fill_counts: dict[str, int] | None = None

    # ------------------------------------------------------------ storage
    @classmethod
    def load(cls, context: BrokerContext) -> PaperBook:
        settings = PaperSettings.model_validate(dict(context.settings or {}))
        path = _state_path(context)
        if path.exists():
            state = json.loads(path.read_text(encoding="utf-8"))
        else:
            state = _rebuild_from_ledger(context, settings)
        book = cls(path, settings, context.prices, state)
        book.pending_actions = tuple(context.corporate_actions)
        book.session = context.session
        return book

    @classmethod
    def in_memory(cls, settings: PaperSettings, cash: float, prices: pd.DataFrame | None = None) -> PaperBook:
        """A fresh account that lives only in memory (no state file): the backtest's planner mode
        (:mod:`regimeflex.backtest.replay`) trades through it so both use one fill arithmetic."""
        return cls(None, settings, prices, {"cash": float(cash), "orders": {}, "fills": [], "stops": {}})

    def save(self) -> None:
        if self.path is None:
            raise ValueError("an in-memory paper book has no state file to save")
        state = {
            "cash": self.cash,
            "orders": self.orders,
            "fills": self.fills,
            "stops": self.stops,
            "actions": self.actions,
        }
        text = json.dumps(state, indent=1)
        with writing(self.path.parent, "state"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, text)

    # ------------------------------------------------------------ trading
    def positions(self) -> dict[str, Position]:
        from regimeflex.ledger.views import apply_split, fold_fills, positions_of

        splits = self._splits()
        if self._folded_count > len(self.fills) or self._split_count > len(splits):  # replaced: start again
            self._folded, self._folded_count, self._split_count = {}, 0, 0
        for split in splits[self._split_count :]:  # fills before each split, then the split
            at = int(split["at_fill"])
            if at >= self._folded_count:
                fold_fills(self._folded, self.fills[self._folded_count : at])
                self._folded_count = at
            apply_split(self._folded, str(split["symbol"]), float(split["ratio"]))
        self._split_count = len(splits)
        fold_fills(self._folded, self.fills[self._folded_count :])
        self._folded_count = len(self.fills)
        return positions_of(self._folded)

    def _splits(self) -> list[dict[str, Any]]:
        return [a for a in self.actions.values() if a["kind"] == "split"]

    def _opened(self) -> dict[str, str]:
        """Each held symbol's opening day (the fill that took it from flat), as YYYY-MM-DD."""
        qty: dict[str, float] = {}
        opened: dict[str, str] = {}
        splits = sorted(self._splits(), key=lambda a: int(a["at_fill"]))
        k = 0
        for i, f in enumerate([*self.fills, None]):
            while k < len(splits) and int(splits[k]["at_fill"]) <= i:
                sym = str(splits[k]["symbol"])
                qty[sym] = qty.get(sym, 0.0) * float(splits[k]["ratio"])
                k += 1
            if f is None:
                break
            before = qty.get(f["symbol"], 0.0)
            qty[f["symbol"]] = round(before + (f["qty"] if f["side"] == "buy" else -f["qty"]), 9)
            if abs(before) < 1e-9:
                opened[f["symbol"]] = str(f.get("ts") or "")[:10]
        return opened

    def apply_corporate_actions(self, actions: Sequence[CorporateAction], through: date) -> list[dict[str, Any]]:
        """Apply, once each, the actions with an ex-date up to ``through`` to positions opened before it,
        as a broker does at the start of the ex-date: a split multiplies the quantity by its ratio and
        divides the average cost (same cost basis), cancels the symbol's orders still open from before
        the ex-date (their quantity and limit are pre-split; the next run plans again) and rescales its
        stop; a cash dividend credits cash × the shares held on the ex-date (the paper account credits
        on the ex-date, not the pay date, so its cash matches the ledger's and its equity does not dip
        by the dividend between the two). Returns the records applied."""
        applied: list[dict[str, Any]] = []
        opened_on: dict[str, str] | None = None  # a pass over the fills, once (a split opens no position)
        for action in sorted(actions, key=lambda a: (a.ex_date, a.symbol, a.kind)):
            key = f"{action.kind}:{action.symbol}:{action.ex_date.isoformat()}"
            if action.ex_date > through or key in self.actions:
                continue
            held = self.positions().get(action.symbol)
            if held is None or not held.qty:
                continue
            if opened_on is None:
                opened_on = self._opened()
            opened = opened_on.get(action.symbol, "")
            if opened and opened >= action.ex_date.isoformat():
                continue
            record: dict[str, Any] = {
                "kind": action.kind,
                "symbol": action.symbol,
                "ex_date": action.ex_date.isoformat(),
                "at_fill": len(self.fills),
                "qty_before": held.qty,
            }
            if action.kind == "split":
                ratio = float(action.ratio or 0.0)
                if ratio <= 0:
                    continue
                record["ratio"] = ratio
                for order in self.open_orders():
                    if order["symbol"] == action.symbol and str(order["session"]) < action.ex_date.isoformat():
                        order["status"] = "canceled"
                        order["message"] = f"canceled: {action.symbol} split {ratio:g}-for-1 on {action.ex_date}"
                stop = self.stops.get(action.symbol)
                if stop is not None:
                    stop["stop"] = round(float(stop["stop"]) / ratio, 6)
                    stop["distance"] = float(stop["distance"]) / ratio
                    if stop.get("take_profit"):
                        stop["take_profit"] = round(float(stop["take_profit"]) / ratio, 6)
            else:
                record["cash_per_share"] = float(action.cash or 0.0)
                record["amount"] = round(held.qty * record["cash_per_share"], 6)
                self.cash += record["amount"]
            self.actions[key] = record
            applied.append(record)
        return applied

    def submit(self, order: Order) -> OrderResult:
        known = self.orders.get(order.client_order_id)
        if known is not None:  # the same client id twice is the same order (crash-safe resends)
            return self.result(known)
        record = {
            "client_order_id": order.client_order_id,
            "broker_order_id": f"paper-{len(self.orders) + 1:06d}",
            "symbol": order.symbol,
            "side": order.side,
            "qty": float(order.qty),
            "type": order.type,
            "limit_price": order.limit_price,
            "reference_price": order.reference_price,
            "session": (order.session or date.today()).isoformat(),
            "status": "accepted",
            "filled_qty": 0.0,
            "filled_avg_price": None,
            "message": "",
            "last_fill": None,
        }
        if order.type in ("stop", "trailing_stop"):  # a resting sell stop (the kit's round trip, a user's)
            record["stop_price"] = order.stop_price
            record["trail_price"] = order.trail_price
            if order.type == "trailing_stop" and order.stop_price is None and order.trail_price:
                record["stop_price"] = round(float(order.reference_price or 0.0) - float(order.trail_price), 6)
        if order.protect is not None and order.side == "buy":
            record["protect"] = {
                "distance": order.protect.distance,
                "trailing": order.protect.trailing,
                "take_profit": order.protect.take_profit,
            }
        reason = self._reject_reason(order)
        if not reason and order.side == "sell" and order.symbol in self.stops:
            held = self.positions().get(order.symbol)
            if held is None or order.qty >= held.qty - 1e-9:  # a planned exit cancels the stop first
                self.stops.pop(order.symbol)  # (a partial sell leaves it on the rest)
        if (
            not reason
            and order.type in ("stop", "trailing_stop")
            and (order.side != "sell" or not record["stop_price"])
        ):
            reason = f"a {order.type} order must be a sell with a stop_price (or trail_price and reference_price)"
        if reason:
            record.update(status="rejected", message=reason)
        self.orders[order.client_order_id] = record
        self._maybe_open[order.client_order_id] = None
        if record["type"] in ("stop", "trailing_stop"):
            return self.result(record)  # rests until the price reaches it (process)
        if not reason and self.settings.fill_at == "reference":
            ref = order.limit_price or order.reference_price
            if ref:
                self._fill(record, float(ref), str(record["session"]), cap=order.limit_price)
        return self.result(record)

    def _reject_reason(self, order: Order) -> str:
        ref = order.limit_price or order.reference_price or 0.0
        if order.side == "buy":
            reserved = sum(
                (o["qty"] - o["filled_qty"]) * float(o["limit_price"] or o["reference_price"] or 0.0)
                for o in self.open_orders()
                if o["side"] == "buy"
            )
            cost = order.qty * ref * (1 + self.settings.slippage_bps / 1e4) + self._commission(order.qty)
            if cost > self.cash - reserved + 1e-9:
                return (
                    f"insufficient buying power: order costs about {cost:,.2f}, "
                    f"cash available {self.cash - reserved:,.2f}"
                )
        else:
            held = self.positions().get(order.symbol)
            pending = sum(
                o["qty"] - o["filled_qty"]
                for o in self.open_orders()
                if o["side"] == "sell" and o["symbol"] == order.symbol
            )
            have = (held.qty if held else 0.0) - pending
            if order.qty > have + 1e-9:
                return f"insufficient position: selling {order.qty:g} {order.symbol} but only {have:g} available"
        return ""

    def _commission(self, qty: float) -> float:
        if not self.settings.commission_per_share and not self.settings.commission_min:
            return 0.0
        return round(max(qty * self.settings.commission_per_share, self.settings.commission_min), 4)

    def _next_fill_number(self, client_order_id: str) -> int:
        """1 + how many fills the order already has (counted once, then kept up to date)."""
        if self._fill_counts is None:
            self._fill_counts = {}
            for f in self.fills:
                cid = f["client_order_id"]
                self._fill_counts[cid] = self._fill_counts.get(cid, 0) + 1
        n = self._fill_counts.get(client_order_id, 0) + 1
        self._fill_counts[client_order_id] = n
        return n

    def _fill(self, order: dict[str, Any], price: float, on: str, cap: float | None = None) -> None:
        slip = self.settings.slippage_bps / 1e4
        px = price * (1 + slip) if order["side"] == "buy" else price * (1 - slip)
        if cap is not None:
            px = min(px, cap) if order["side"] == "buy" else max(px, cap)
        remaining = order["qty"] - order["filled_qty"]
        chunk = order["qty"] * self.settings.partial_fill_ratio
        if float(order["qty"]).is_integer():
            chunk = max(1.0, math.floor(chunk))
        qty = round(min(remaining, chunk), 9)
        commission = self._commission(qty)
        n = self._next_fill_number(order["client_order_id"])
        self.fills.append(
            {
                "fill_id": f"{order['broker_order_id']}-{n}",
                "client_order_id": order["client_order_id"],
                "symbol": order["symbol"],
                "side": order["side"],
                "qty": qty,
                "price": round(px, 6),
                "commission": commission,
                "ts": datetime.combine(date.fromisoformat(on), time(14, 30), tzinfo=UTC).isoformat(),
            }
        )
        total = order["filled_qty"] + qty
        avg = order["filled_avg_price"] or 0.0
        order["filled_avg_price"] = round((avg * order["filled_qty"] + px * qty) / total, 6)
        order["filled_qty"] = round(total, 9)
        order["status"] = "filled" if order["filled_qty"] >= order["qty"] - 1e-9 else "partially_filled"
        order["last_fill"] = on
        self.cash += (-1 if order["side"] == "buy" else 1) * qty * px - commission
        protect = order.get("protect")
        if protect and order["side"] == "buy":  # the entry filled: the stop goes on (the latest entry's levels)
            stop, tp = placed_levels(
                px, ProtectiveStop(distance=float(protect["distance"]), take_profit=protect.get("take_profit"))
            )
            self.stops[order["symbol"]] = {
                "stop": stop,
                "distance": float(protect["distance"]),
                "trailing": bool(protect.get("trailing")),
                "take_profit": tp,
                "entry": order["client_order_id"],
                "placed": on,
                "checked": on,  # checked from the session after the entry's fill
            }

    def _process_stops(self) -> None:
        """Trigger, fill or ratchet every working stop over the sessions after it was last checked."""
        if self.prices is None or not self.stops:
            return
        held = self.positions()
        opens, lows, highs, closes = (self.prices[f] for f in ("open", "low", "high", "close"))
        for sym in list(self.stops):
            stop = self.stops[sym]
            pos = held.get(sym)
            if pos is None or pos.qty <= 0:
                del self.stops[sym]
                continue
            if sym not in opens.columns:
                continue
            start = int(opens.index.searchsorted(pd.Timestamp(stop["checked"]), side="right"))
            for day in opens.index[start:]:
                o, lo, hi, c = (float(f.at[day, sym]) for f in (opens, lows, highs, closes))
                if not math.isfinite(o):
                    continue  # no bar for the symbol that session: nothing can trigger
                on = day.date().isoformat()
                px = stop_fill_price(float(stop["stop"]), o, lo)
                reason = "stop"
                if px is None and stop.get("take_profit"):
                    px, reason = take_profit_fill_price(float(stop["take_profit"]), o, hi), "take_profit"
                if px is not None:
                    self._stop_out(sym, pos.qty, px, on, reason)
                    break
                stop["checked"] = on
                if stop["trailing"]:
                    stop["stop"] = level(ratchet(float(stop["stop"]), c, float(stop["distance"])))

    def _process_stop_order(self, order: dict[str, Any]) -> None:
        """A resting sell stop: filled whole at the stop (or the gap open) on the first later session
        whose low reaches it; a trailing one ratchets on each close, as the protective stops do."""
        assert self.prices is not None
        sym = order["symbol"]
        if sym not in self.prices["open"].columns:
            return
        opens, lows, closes = (self.prices[f][sym] for f in ("open", "low", "close"))
        start = int(opens.index.searchsorted(pd.Timestamp(order.get("checked") or order["session"]), side="right"))
        for day in opens.index[start:]:
            o, lo, c = float(opens.at[day]), float(lows.at[day]), float(closes.at[day])
            if not math.isfinite(o):
                continue
            on = day.date().isoformat()
            px = stop_fill_price(float(order["stop_price"]), o, lo)
            if px is not None:
                qty = order["qty"] - order["filled_qty"]
                n = self._next_fill_number(order["client_order_id"])
                commission = self._commission(qty)
                self.fills.append(
                    {
                        "fill_id": f"{order['broker_order_id']}-{n}",
                        "client_order_id": order["client_order_id"],
                        "symbol": sym,
                        "side": "sell",
                        "qty": qty,
                        "price": round(px, 6),
                        "commission": commission,
                        "ts": datetime.combine(day.date(), time(14, 30), tzinfo=UTC).isoformat(),
                    }
                )
                order.update(status="filled", filled_qty=order["qty"], filled_avg_price=round(px, 6), last_fill=on)
                self.cash += qty * px - commission
                return
            order["checked"] = on
            if order["type"] == "trailing_stop" and order.get("trail_price"):
                order["stop_price"] = round(ratchet(float(order["stop_price"]), c, float(order["trail_price"])), 6)

    def _stop_out(self, sym: str, qty: float, price: float, on: str, reason: str) -> None:
        """Sell the whole position at ``price`` (no slippage: a daily-bar stop fills at its level or
        the gap open) as a broker-originated order the ledger learns about from the fill."""
        stop = self.stops.pop(sym)
        broker_id = f"paper-{len(self.orders) + 1:06d}"
        coid = f"{reason.replace('_', '')}-{broker_id}"  # e.g. stop-paper-000012: unique, ≤ 48 chars
        record = {
            "client_order_id": coid,
            "broker_order_id": broker_id,
            "symbol": sym,
            "side": "sell",
            "qty": float(qty),
            "type": "stop" if reason == "stop" else "limit",
            "limit_price": None,
            "reference_price": price,
            "session": on,
            "status": "accepted",
            "filled_qty": 0.0,
            "filled_avg_price": None,
            "message": f"{reason} at {price:g} (level {stop['stop'] if reason == 'stop' else stop['take_profit']:g})",
            "last_fill": None,
            "stop_of": stop["entry"],
        }
        self.orders[coid] = record
        commission = self._commission(qty)
        self.fills.append(
            {
                "fill_id": f"{record['broker_order_id']}-1",
                "client_order_id": coid,
                "symbol": sym,
                "side": "sell",
                "qty": float(qty),
                "price": round(price, 6),
                "commission": commission,
                "ts": datetime.combine(date.fromisoformat(on), time(14, 30), tzinfo=UTC).isoformat(),
                "reason": reason,  # stop | take_profit: the ledger's fill says why
            }
        )
        record.update(status="filled", filled_qty=float(qty), filled_avg_price=round(price, 6), last_fill=on)
        self.cash += qty * price - commission

    def open_orders(self) -> list[dict[str, Any]]:
        """The orders still open (accepted or partially filled), in submission order."""
        live = [c for c in self._maybe_open if self.orders[c]["status"] in OPEN_STATUSES]
        if len(live) != len(self._maybe_open):
            self._maybe_open = dict.fromkeys(live)
        return [self.orders[c] for c in live]

    def process(self) -> None:
        """Apply the run's corporate actions, then fill open orders at the open of every later
        session the price panel holds."""
        if self.pending_actions and self.session is not None:
            self.apply_corporate_actions(self.pending_actions, self.session)
        if self.prices is None or self.prices.empty:
            return
        waiting = self.open_orders()
        if (
            not waiting and not self.stops
        ):  # nothing to fill or protect: skip the price panels (the replay calls this every session)
            return
        opens, lows, highs = self.prices["open"], self.prices["low"], self.prices["high"]
        for order in waiting:
            if order["type"] in ("stop", "trailing_stop"):
                self._process_stop_order(order)
                continue
            while order["status"] in OPEN_STATUSES:
                after = order["last_fill"] or order["session"]
                sym = order["symbol"]
                if sym not in opens.columns:
                    break
                # the first later session with an open for the symbol (searchsorted: no scan of the history)
                start = int(opens.index.searchsorted(pd.Timestamp(after), side="right"))
                priced = np.flatnonzero(~np.isnan(opens[sym].to_numpy(dtype="float64")[start:]))
                if not priced.size:
                    break
                day = opens.index[start + int(priced[0])]
                open_px = float(opens.at[day, sym])
                limit = order["limit_price"]
                if limit is None:
                    self._fill(order, open_px, day.date().isoformat())
                elif order["side"] == "buy" and float(lows.at[day, sym]) <= limit:
                    self._fill(order, min(open_px, limit), day.date().isoformat(), cap=limit)
                elif order["side"] == "sell" and float(highs.at[day, sym]) >= limit:
                    self._fill(order, max(open_px, limit), day.date().isoformat(), cap=limit)
                else:  # a day limit order that never traded through expires
                    order["status"] = "expired"
                    order["message"] = f"limit {limit:g} not reached on {day.date()}"
        self._process_stops()

    # ------------------------------------------------------------ reports
    def account(self) -> Account:
        positions = self.positions()
        marks = self._last_closes(positions)
        value = 0.0
        for sym, pos in positions.items():
            value += pos.qty * marks[sym]
        return Account(equity=self.cash + value, cash=self.cash, buying_power=max(self.cash, 0.0), positions=positions)

    def _last_closes(self, positions: Mapping[str, Position]) -> dict[str, float]:
        """Each position's last known close (its average price when there is none)."""
        marks = {sym: pos.avg_price for sym, pos in positions.items()}
        if self.prices is None or not marks or not len(self.prices.index):
            return marks
        close = self.prices["close"]
        last_row = close.iloc[-1]  # one row, not the held symbols' whole history
        held = [sym for sym in marks if sym in close.columns]
        for sym, value in zip(held, last_row[held].to_numpy(dtype="float64").tolist()):
            if math.isfinite(value):
                marks[sym] = value
            else:  # no bar today (e.g. a halt): the last close it had
                closes = close[sym].to_numpy(dtype="float64")
                known = np.flatnonzero(np.isfinite(closes))
                if known.size:
                    marks[sym] = float(closes[known[-1]])
        return marks

    def result(self, order: Mapping[str, Any]) -> OrderResult:
        return OrderResult(
            client_order_id=order["client_order_id"],
            status=order["status"],
            symbol=order["symbol"],
            side=order["side"],
            qty=float(order["qty"]),
            filled_qty=float(order["filled_qty"]),
            filled_avg_price=order["filled_avg_price"],
            broker_order_id=order["broker_order_id"],
            message=order.get("message", ""),
        )

    @staticmethod
    def fill(data: Mapping[str, Any]) -> Fill:
        return Fill(
            fill_id=data["fill_id"],
            client_order_id=data["client_order_id"],
            symbol=data["symbol"],
            side=data["side"],
            qty=float(data["qty"]),
            price=float(data["price"]),
            commission=float(data.get("commission") or 0.0),
            ts=datetime.fromisoformat(data["ts"]) if data.get("ts") else None,
            reason=str(data.get("reason") or ""),
        )


def _state_path(context: BrokerContext) -> Path:
    if context.state_dir is not None:
        return Path(context.state_dir) / STATE_FILE
    if context.ledger_path is not None:
        return Path(context.ledger_path).with_name(STATE_FILE)
    raise ValueError("paper broker needs context.state_dir (run.yaml paths.state_dir)")


def _rebuild_from_ledger(context: BrokerContext, settings: PaperSettings) -> dict[str, Any]:
    """A fresh account, or the one the ledger describes when the state file was lost."""
    from regimeflex.ledger.views import load_state

    cash = float(settings.initial_cash or context.initial_equity or 100_000.0)
    orders: dict[str, dict[str, Any]] = {}
    fills: list[dict[str, Any]] = []
    actions: dict[str, dict[str, Any]] = {}
    ledger = context.ledger_path
    if ledger is not None and Path(ledger).exists():
        state = load_state(Path(ledger))
        for kind, f in state.book_events:  # fills and splits in ledger order
            if kind == "split":
                key = str(f["action_id"])
                actions[key] = {
                    "kind": "split",
                    "symbol": f["symbol"],
                    "ex_date": f["ex_date"],
                    "ratio": float(f["ratio"]),
                    "at_fill": len(fills),
                    "qty_before": f.get("qty_before"),
                }
                continue
            fills.append(
                {
                    k: f.get(k)
                    for k in ("fill_id", "client_order_id", "symbol", "side", "qty", "price", "commission", "ts")
                }
            )
            notional = float(f["qty"]) * float(f["price"])
            cash += (-notional if f["side"] == "buy" else notional) - float(f.get("commission") or 0.0)
        for key, entry in state.corporate_actions.items():  # dividends were credited to the account
            if entry.get("kind") == "dividend":
                actions[key] = {**entry, "at_fill": len(fills)}
                cash += float(entry.get("amount") or 0.0)
        for view in state.orders.values():
            if view.mode == "dry_run" or not (view.broker_order_id or "").startswith("paper-"):
                continue
            intent = view.intent
            orders[view.client_order_id] = {
                "client_order_id": view.client_order_id,
                "broker_order_id": view.broker_order_id,
                "symbol": intent["symbol"],
                "side": intent["side"],
                "qty": float(intent["qty"]),
                "type": intent.get("type", "market"),
                "limit_price": intent.get("limit_price"),
                "reference_price": intent.get("reference_price"),
                "session": intent.get("session"),
                "status": view.status,
                "filled_qty": view.filled_qty,
                "filled_avg_price": None,
                "message": view.message,
                "last_fill": None,
            }
            if intent.get("protect") and intent["side"] == "buy":  # the stop still goes on when it fills
                orders[view.client_order_id]["protect"] = dict(intent["protect"])
        for f in fills:  # broker-originated orders (stop-outs) keep their ids taken: new ids never repeat them
            coid = str(f["client_order_id"])
            if coid not in orders and coid.partition("-")[2].startswith("paper-"):
                broker_id = coid.partition("-")[2]
                orders[coid] = {
                    "client_order_id": coid,
                    "broker_order_id": broker_id,
                    "symbol": f["symbol"],
                    "side": f["side"],
                    "qty": float(f["qty"]),
                    "type": "stop",
                    "limit_price": None,
                    "reference_price": float(f["price"]),
                    "session": str(f.get("ts") or "")[:10] or None,
                    "status": "filled",
                    "filled_qty": float(f["qty"]),
                    "filled_avg_price": float(f["price"]),
                    "message": "stop-out (rebuilt from the ledger)",
                    "last_fill": str(f.get("ts") or "")[:10] or None,
                }
        stops = _stops_from_ledger(state, fills)
    else:
        stops = {}
    return {"cash": cash, "orders": orders, "fills": fills, "stops": stops, "actions": actions}


def _stops_from_ledger(state: Any, fills: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The stops working after the ledger's fills, placed as :meth:`PaperBook._fill` places them:
    each protected buy's fill puts its stop at ``fill price − distance`` (checked from that day, so
    the next processing re-ratchets a trailing stop over the closes since and triggers it on the
    same bars); a position sold to zero (planned exit or stop-out) has none."""
    stops: dict[str, dict[str, Any]] = {}
    held: dict[str, float] = {}
    for f in sorted(fills, key=lambda f: str(f.get("ts") or "")):
        sym, qty, on = str(f["symbol"]), float(f["qty"]), str(f.get("ts") or "")[:10]
        held[sym] = held.get(sym, 0.0) + (qty if f["side"] == "buy" else -qty)
        view = state.orders.get(f["client_order_id"])
        protect = view.intent.get("protect") if view is not None else None
        if f["side"] == "buy" and protect:
            px, tp = float(f["price"]), protect.get("take_profit")
            stops[sym] = {
                "stop": round(px - float(protect["distance"]), 6),
                "distance": float(protect["distance"]),
                "trailing": bool(protect.get("trailing")),
                "take_profit": round(px + float(tp), 6) if tp else None,
                "entry": f["client_order_id"],
                "placed": on,
                "checked": on,
            }
        elif held[sym] <= 1e-9:
            stops.pop(sym, None)
    return stops
