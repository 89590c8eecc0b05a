"""Event-sourced views of the ledger: orders, fills, positions, open intents, breakers.

Nothing here is stored anywhere else: a restart rebuilds every view by
replaying the ledger (:func:`load_state`), and the execution layer keeps the
same :class:`LedgerState` current by applying each entry it writes. Fills are
keyed by their broker-unique ``fill_id``, so replaying or re-reporting a fill
never counts it twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from regimeflex.ledger.store import read_entries
from regimeflex.types import Fill, Position

#: Order statuses after which nothing more can happen to an order (``abandoned``: an intent of a
#: plan that was never committed — it was never sent, and its session is planned again).
TERMINAL_STATUSES = frozenset({"filled", "canceled", "rejected", "expired", "abandoned"})


@dataclass
class OrderView:
    """Everything the ledger knows about one ``client_order_id``."""

    client_order_id: str
    intent: dict[str, Any]
    height: int
    sent: bool = False
    status: str = "planned"
    broker_order_id: str | None = None
    filled_qty: float = 0.0
    broker_filled_qty: float = 0.0
    message: str = ""
    #: covered by a ``plan_commit`` whose digest (and, with the key set, signature) matches:
    #: only committed intents are ever sent
    committed: bool = False

    @property
    def session(self) -> str:
        return str(self.intent.get("session", ""))

    @property
    def mode(self) -> str:
        return str(self.intent.get("mode", ""))

    @property
    def qty(self) -> float:
        return float(self.intent.get("qty", 0.0))

    @property
    def awaiting_fills(self) -> bool:
        """The broker reported more filled quantity than the ledger has fills for."""
        return self.broker_filled_qty > self.filled_qty + 1e-9

    @property
    def is_open(self) -> bool:
        """Sent (or possibly sent) to a broker and either not finished or missing fills in the ledger."""
        return self.mode != "dry_run" and (self.status not in TERMINAL_STATUSES or self.awaiting_fills)


@dataclass
class LedgerState:
    """The views, rebuilt by replaying entries in order."""

    height: int = 0
    entries: int = 0
    sessions: dict[int, str] = field(default_factory=dict)
    orders: dict[str, OrderView] = field(default_factory=dict)
    fills: dict[str, dict[str, Any]] = field(default_factory=dict)
    breakers: dict[str, dict[str, Any]] = field(default_factory=dict)
    kills: list[dict[str, Any]] = field(default_factory=list)
    #: plan_commit entries that commit nothing, with the reason (edited intents, bad signature)
    bad_commits: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    #: equity at the end of each session's run, from ``run_end`` entries (a rerun replaces its session's)
    equity: dict[str, float] = field(default_factory=dict)
    #: ``split``/``dividend`` entries by action id (:mod:`regimeflex.ledger.corporate`)
    corporate_actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: fills and splits in ledger order: what positions are folded from
    book_events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: cash from recorded dividends
    dividend_cash: float = 0.0
    #: fill id → the session of the run that recorded it (its date when the fill has no ``ts``)
    fill_sessions: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------- replay
    def apply(self, kind: str, data: Mapping[str, Any], height: int) -> None:
        self.entries += 1
        self.height = max(self.height, height)
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(data, height)

    def _on_run_start(self, data: Mapping[str, Any], height: int) -> None:
        if data.get("session"):
            self.sessions[height] = str(data["session"])

    def _on_intent(self, data: Mapping[str, Any], height: int) -> None:
        coid = str(data["client_order_id"])
        known = self.orders.get(coid)
        # a dry-run intent never reached a broker; a later real intent with the same id supersedes it
        # an abandoned intent (uncommitted plan) is planned again with the same id
        if known is None or known.status == "abandoned" or (known.mode == "dry_run" and data.get("mode") != "dry_run"):
            self.orders[coid] = OrderView(coid, dict(data), height)

    def _on_plan_commit(self, data: Mapping[str, Any], height: int) -> None:
        from regimeflex.ledger.anchor import plan_commit_problem

        coids = [str(c) for c in data.get("intents") or []]
        views = [self.orders.get(c) for c in coids]
        intents = None if any(v is None for v in views) else [v.intent for v in views if v is not None]
        problem = plan_commit_problem(data, intents)
        if problem is not None:
            self.bad_commits.append({"session": data.get("session"), "intents": coids, "problem": problem})
            return
        for view in views:
            if view is not None and view.status == "planned" and not view.sent:
                view.committed = True

    def _on_plan_abandoned(self, data: Mapping[str, Any], height: int) -> None:
        for coid in data.get("intents") or []:
            view = self.orders.get(str(coid))
            if view is not None and not view.committed and not view.sent:
                view.status = "abandoned"
                view.message = str(data.get("reason") or "")

    def _on_checkpoint(self, data: Mapping[str, Any], height: int) -> None:
        self.checkpoints.append({**data, "height": height})

    def _on_order_sent(self, data: Mapping[str, Any], height: int) -> None:
        view = self.orders.get(str(data.get("client_order_id")))
        if view is not None:
            view.sent = True

    def _on_order_ack(self, data: Mapping[str, Any], height: int) -> None:
        view = self.orders.get(str(data.get("client_order_id")))
        if view is None:
            return
        view.sent = True
        if data.get("status"):
            view.status = str(data["status"])
        if data.get("broker_order_id"):
            view.broker_order_id = str(data["broker_order_id"])
        if data.get("filled_qty") is not None:
            view.broker_filled_qty = max(view.broker_filled_qty, float(data["filled_qty"]))
        view.message = str(data.get("message") or view.message)

    _on_order_update = _on_order_ack
    _on_cancel = _on_order_ack

    def _on_fill(self, data: Mapping[str, Any], height: int) -> None:
        fid = str(data["fill_id"])
        if fid in self.fills:
            return
        self.fills[fid] = dict(data)
        self.book_events.append(("fill", self.fills[fid]))
        if height in self.sessions:
            self.fill_sessions[fid] = self.sessions[height]
        view = self.orders.get(str(data.get("client_order_id")))
        if view is not None:
            view.filled_qty += float(data["qty"])

    def _on_split(self, data: Mapping[str, Any], height: int) -> None:
        key = str(data["action_id"])
        if key not in self.corporate_actions:
            self.corporate_actions[key] = {**data, "kind": "split"}
            self.book_events.append(("split", dict(data)))

    def _on_dividend(self, data: Mapping[str, Any], height: int) -> None:
        key = str(data["action_id"])
        if key not in self.corporate_actions:
            self.corporate_actions[key] = {**data, "kind": "dividend"}
            self.dividend_cash += float(data.get("amount") or 0.0)

    def _on_breaker(self, data: Mapping[str, Any], height: int) -> None:
        name = str(data.get("name", "breaker"))
        self.breakers[name] = {**data, "height": height}

    def _on_run_end(self, data: Mapping[str, Any], height: int) -> None:
        if data.get("equity") is not None and data.get("session"):
            self.equity[str(data["session"])] = float(data["equity"])

    def equity_before(self, session: date | str) -> float | None:
        """Equity at the end of the last run of an earlier session: the daily-loss base (a rerun of
        the same session must not become its own base)."""
        earlier = [s for s in self.equity if s < str(session)]
        return self.equity[max(earlier)] if earlier else None

    def _on_kill(self, data: Mapping[str, Any], height: int) -> None:
        self.kills.append({**data, "height": height})

    # -------------------------------------------------------------- views
    @property
    def last_session(self) -> str | None:
        return self.sessions[max(self.sessions)] if self.sessions else None

    def height_for(self, session: date | str) -> int:
        """The block number of ``session``: the current one on a rerun, the next one on a new day."""
        key = str(session)
        if self.last_session == key:
            return max(self.sessions)
        return self.height + 1

    def uncommitted(self, session: date | str) -> list[OrderView]:
        """Intents of ``session`` never sent and not covered by a valid ``plan_commit``: a plan torn
        by a crash, or intents added by someone else. They are never sent."""
        key = str(session)
        return [
            v
            for v in self.orders.values()
            if v.session == key and not v.committed and not v.sent and v.status == "planned"
        ]

    def open_orders(self) -> list[OrderView]:
        """Intents that were (or may have been) sent and have not reached a final status."""
        return [v for v in self.orders.values() if v.is_open]

    def orders_for(self, session: date | str, strategy: str | None = None) -> list[OrderView]:
        key = str(session)
        return [
            v
            for v in self.orders.values()
            if v.session == key
            and v.status != "abandoned"
            and (strategy is None or v.intent.get("strategy", "") == strategy)
        ]

    def fill_list(self) -> list[Fill]:
        return [
            Fill(
                fill_id=f["fill_id"],
                client_order_id=f.get("client_order_id", ""),
                symbol=f["symbol"],
                side=f["side"],
                qty=float(f["qty"]),
                price=float(f["price"]),
                commission=float(f.get("commission", 0.0)),
            )
            for f in self.fills.values()
        ]

    def positions(self) -> dict[str, Position]:
        """Net quantity and average cost per symbol, from the ledger's fills and splits in order
        (a split multiplies the quantity by its ratio and divides the average cost by it)."""
        book: FoldedBook = {}
        for kind, data in self.book_events:
            if kind == "fill":
                fold_fills(book, (data,))
            else:
                apply_split(book, str(data["symbol"]), float(data["ratio"]))
        return positions_of(book)

    def held_since(self) -> dict[str, date]:
        """Each open position's opening day: the New York date of the fill that took it from flat
        to held (a corporate action concerns it only from the next day on)."""
        qty: dict[str, float] = {}
        opened: dict[str, date] = {}
        for kind, data in self.book_events:
            symbol = str(data["symbol"])
            before = qty.get(symbol, 0.0)
            if kind == "split":
                qty[symbol] = before * float(data["ratio"])
                continue
            signed = float(data["qty"]) if data["side"] == "buy" else -float(data["qty"])
            qty[symbol] = _clean(before + signed)
            if abs(before) < 1e-9 and qty[symbol] != 0:
                opened[symbol] = _fill_day(data, self.fill_sessions.get(str(data["fill_id"])))
        return {s: d for s, d in sorted(opened.items()) if qty.get(s)}

    def tripped_breakers(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.breakers.items() if v.get("state", "tripped") == "tripped"}


def positions_from_fills(fills: Iterable[Mapping[str, Any]]) -> dict[str, Position]:
    """Replay fills into positions: average cost moves on adds, resets when a position flips."""
    return positions_of(fold_fills({}, fills))


#: a running book: symbol → (quantity, average price), as :func:`fold_fills` keeps it
FoldedBook = dict[str, tuple[float, float]]


def fold_fills(book: FoldedBook, fills: Iterable[Mapping[str, Any]]) -> FoldedBook:
    """Apply ``fills`` in order to ``book`` (updated in place and returned), so a caller holding an
    append-only list of fills can fold only the new ones."""
    for f in fills:
        qty = float(f["qty"]) * (1 if f["side"] == "buy" else -1)
        price = float(f["price"])
        held, avg = book.get(f["symbol"], (0.0, 0.0))
        new = held + qty
        if held == 0 or (held > 0) != (new > 0) and new != 0:
            avg = price
        elif (held > 0) == (qty > 0):
            avg = (held * avg + qty * price) / new
        book[f["symbol"]] = (_clean(new), avg if new != 0 else 0.0)
    return book


def _fill_day(fill: Mapping[str, Any], session: str | None) -> date:
    """The New York date of a fill (its ``ts``), else the session of the run that recorded it."""
    from zoneinfo import ZoneInfo

    ts = fill.get("ts")
    if ts:
        stamp = datetime.fromisoformat(str(ts))
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(ZoneInfo("America/New_York"))
        return stamp.date()
    return date.fromisoformat(session) if session else date.min


def apply_split(book: FoldedBook, symbol: str, ratio: float) -> FoldedBook:
    """A ``ratio``-for-1 split of ``symbol`` in ``book`` (in place): same cost basis, more shares."""
    if symbol in book and ratio > 0:
        qty, avg = book[symbol]
        book[symbol] = (_clean(qty * ratio), avg / ratio)
    return book


def positions_of(book: FoldedBook) -> dict[str, Position]:
    """The open positions of a folded book, by symbol."""
    return {s: Position(s, q, a) for s, (q, a) in sorted(book.items()) if q != 0}


def _clean(qty: float) -> float:
    """Drop float dust from summing fractional fills."""
    return round(qty, 9)


def load_state(path: Path) -> LedgerState:
    """Replay the whole ledger into its views."""
    state = LedgerState()
    for entry in read_entries(Path(path)):
        state.apply(str(entry["kind"]), entry.get("data") or {}, int(entry["height"]))
    return state
