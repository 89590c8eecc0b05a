"""Reconciliation: the ledger against the broker — statuses, fills, orders, positions.

Owns step 8 of the daily cycle and the start-of-run recovery (DESIGN §4):
ask the broker about every order the ledger still considers open, record
status changes, write every broker fill the ledger lacks (fills are keyed by
the broker's ``fill_id``, so this is idempotent), expire intents of earlier
sessions that never reached the broker (they are never resent on a later
day), and report each mismatch — unknown broker order, missing order,
quantity or price difference, position drift — as a row of a table and a
RISK event. ``regimeflex reconcile`` runs the same code on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from regimeflex.ledger import faults
from regimeflex.ledger.journal import Journal
from regimeflex.ledger.views import TERMINAL_STATUSES, OrderView
from regimeflex.log import get_logger
from regimeflex.types import BrokerContext, Event, Fill, Level, OrderResult

if TYPE_CHECKING:
    from regimeflex.plugins.protocols import BrokerHost


log = get_logger("reconcile")

#: Relative tolerance for price comparisons (brokers round averages).
PRICE_TOLERANCE = 1e-6
QTY_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Mismatch:
    """One disagreement between the ledger and the broker."""

    kind: str  # unknown_order | missing_order | qty_difference | price_difference | position_drift
    symbol: str
    detail: str
    client_order_id: str = ""
    ledger: Any = None
    broker: Any = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncResult:
    """What one pass over the broker changed in the ledger."""

    updated: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    fills_written: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    broker_orders: dict[str, OrderResult] = field(default_factory=dict)


@dataclass
class ReconcileReport:
    """The reconcile table: mismatches plus what was written to the ledger."""

    session: str | None
    sync: SyncResult
    mismatches: list[Mismatch]
    positions: dict[str, dict[str, float]]

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "ok": self.ok,
            "fills_written": self.sync.fills_written,
            "orders_updated": self.sync.updated,
            "intents_expired": self.sync.expired,
            "mismatches": [m.as_dict() for m in self.mismatches],
            "positions": self.positions,
        }


def result_data(result: OrderResult) -> dict[str, Any]:
    """An order result as ledger data (order_ack / order_update)."""
    return {
        "client_order_id": result.client_order_id,
        "status": result.status,
        "broker_order_id": result.broker_order_id,
        "symbol": result.symbol,
        "side": result.side,
        "qty": result.qty,
        "filled_qty": result.filled_qty,
        "filled_avg_price": result.filled_avg_price,
        "message": result.message,
    }


def fill_data(fill: Fill) -> dict[str, Any]:
    reason = {"reason": fill.reason} if fill.reason else {}  # stop | take_profit (a protective exit)
    return {
        "fill_id": fill.fill_id,
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side,
        "qty": float(fill.qty),
        "price": float(fill.price),
        "commission": float(fill.commission),
        "ts": fill.ts.isoformat() if fill.ts else None,
        **reason,
    }


def fills_since(journal: Journal, session: date | None = None) -> datetime | None:
    """The earliest moment a missing fill could date from: the oldest open order's session."""
    sessions = [v.session for v in journal.state.open_orders() if v.session]
    if session is not None:
        sessions.append(session.isoformat())
    elif journal.state.last_session:
        sessions.append(journal.state.last_session)
    if not sessions:
        return None
    return datetime.combine(date.fromisoformat(min(sessions)), time(0), tzinfo=UTC)


def write_missing_fills(journal: Journal, fills: list[Fill]) -> int:
    """Record each fill the ledger lacks, one durable entry each; returns how many were new."""
    written = 0
    for fill in fills:
        if fill.fill_id in journal.state.fills:
            continue
        journal.record("fill", fill_data(fill))
        written += 1
    return written


def current_session(session: date | None, today: date | None = None) -> date:
    """The session a sync is for: the run's, else today's date in New York (a bare ``reconcile``)."""
    if session is not None:
        return session
    if today is not None:
        return today
    from regimeflex.data.calendar import ny_today

    today_ny: date = ny_today().date()
    return today_ny


def sync_with_broker(
    journal: Journal,
    host: BrokerHost,
    broker: str,
    context: BrokerContext,
    *,
    session: date | None = None,
    today: date | None = None,
    notify: Callable[[Event], None] | None = None,
) -> SyncResult:
    """Bring the ledger up to date with the broker (the recovery procedure).

    For every open order: record a changed status; an intent of an *earlier*
    session (before ``session``, or before ``today`` — New York's date — when no
    session is given) that the broker does not know is expired (never resent on
    a later day), and the expiry is a RISK event with the count; one of the
    current or a later session stays open so a run may send it.
    Then every broker fill since the oldest open order is written if missing.
    """
    out = SyncResult()
    current = current_session(session, today).isoformat()
    since = fills_since(journal, session)
    open_views = journal.state.open_orders()
    if open_views:
        results = host.broker_orders(broker, client_order_ids=[v.client_order_id for v in open_views], context=context)
        by_id = {r.client_order_id: r for r in results}
        out.broker_orders.update(by_id)
        for view in open_views:
            found = by_id.get(view.client_order_id)
            if found is not None:
                if _changed(view, found):
                    journal.record("order_update", {**result_data(found), "source": "reconcile"})
                    out.updated.append(view.client_order_id)
                continue
            if view.broker_order_id:  # the broker acknowledged it once, so it must know it
                out.mismatches.append(
                    Mismatch(
                        "missing_order",
                        str(view.intent.get("symbol", "")),
                        f"the ledger has {view.client_order_id} as {view.status} but the broker does not know it",
                        view.client_order_id,
                        ledger=view.status,
                        broker=None,
                    )
                )
                out.not_found.append(view.client_order_id)
            elif view.session and view.session < current:
                journal.record(
                    "order_update",
                    {
                        "client_order_id": view.client_order_id,
                        "status": "expired",
                        "source": "recovery",
                        "message": "never reached the broker (unknown by client order id); "
                        "not resent on a later session",
                    },
                )
                out.expired.append(view.client_order_id)
            else:
                out.not_found.append(view.client_order_id)
    if out.expired:
        log.risk(
            "%d unsent intent(s) of sessions before %s expired (never reached the broker; not sent later)",
            len(out.expired),
            current,
        )
        if notify is not None:
            notify(
                Event(
                    kind="intents_expired",
                    level=Level.RISK,
                    title=f"{len(out.expired)} unsent intent(s) of past sessions expired",
                    body=f"intents of sessions before {current} never reached the broker and will not be sent: "
                    + ", ".join(out.expired),
                    data={"count": len(out.expired), "expired": list(out.expired), "before": current},
                )
            )
    fills = host.broker_fills(broker, since=since, context=context)
    faults.hit("before_fills")
    out.fills_written = write_missing_fills(journal, fills)
    return out


def _changed(view: OrderView, result: OrderResult) -> bool:
    return (
        result.status != view.status
        or abs(result.filled_qty - view.broker_filled_qty) > QTY_TOLERANCE
        or (result.broker_order_id or None) != view.broker_order_id
    )


def reconcile(
    journal: Journal,
    host: BrokerHost,
    broker: str,
    context: BrokerContext,
    *,
    session: date | None = None,
    today: date | None = None,
    notify: Callable[[Event], None] | None = None,
) -> ReconcileReport:
    """Sync with the broker, then compare orders, fills and positions; record a ``reconcile`` entry.

    Without ``session`` (a bare ``regimeflex reconcile``) only intents of sessions before ``today``
    (default: New York's date) may expire; today's unsent intents stay for the run to send."""
    sync = sync_with_broker(journal, host, broker, context, session=session, today=today, notify=notify)
    mismatches = list(sync.mismatches)

    open_at_broker = host.broker_orders(broker, client_order_ids=[], context=context)
    for result in open_at_broker:
        if result.client_order_id not in journal.state.orders:
            mismatches.append(
                Mismatch(
                    "unknown_order",
                    result.symbol,
                    f"the broker has an open order {result.client_order_id} ({result.side} {result.qty:g}) "
                    "that no RegimeFlex intent explains",
                    result.client_order_id,
                    ledger=None,
                    broker=result.status,
                )
            )

    checked = {**{r.client_order_id: r for r in open_at_broker}, **sync.broker_orders}
    for coid, result in checked.items():
        view = journal.state.orders.get(coid)
        if view is None:
            continue
        if result.qty and abs(result.qty - view.qty) > QTY_TOLERANCE:
            mismatches.append(
                Mismatch(
                    "qty_difference",
                    view.intent.get("symbol", ""),
                    f"{coid}: intent qty {view.qty:g}, broker qty {result.qty:g}",
                    coid,
                    view.qty,
                    result.qty,
                )
            )
        ledger_avg = _ledger_avg_price(journal, coid)
        if (
            result.filled_avg_price
            and ledger_avg is not None
            and view.status in TERMINAL_STATUSES
            and abs(ledger_avg - result.filled_avg_price) > PRICE_TOLERANCE * result.filled_avg_price
        ):
            mismatches.append(
                Mismatch(
                    "price_difference",
                    view.intent.get("symbol", ""),
                    f"{coid}: ledger fills average {ledger_avg:g}, broker reports {result.filled_avg_price:g}",
                    coid,
                    ledger_avg,
                    result.filled_avg_price,
                )
            )

    positions: dict[str, dict[str, float]] = {}
    account = host.broker_account(broker, context=context)
    ledger_pos = {s: p.qty for s, p in journal.state.positions().items()}
    if account is not None:
        broker_pos = {s: p.qty for s, p in account.positions.items() if p.qty}
        for sym in sorted(set(ledger_pos) | set(broker_pos)):
            lq, bq = ledger_pos.get(sym, 0.0), broker_pos.get(sym, 0.0)
            positions[sym] = {"ledger": lq, "broker": bq}
            if abs(lq - bq) > QTY_TOLERANCE:
                mismatches.append(
                    Mismatch(
                        "position_drift", sym, f"{sym}: ledger holds {lq:g}, broker holds {bq:g}", ledger=lq, broker=bq
                    )
                )
    else:
        positions = {s: {"ledger": q, "broker": float("nan")} for s, q in ledger_pos.items()}

    report = ReconcileReport(
        session.isoformat() if session else journal.state.last_session, sync, mismatches, positions
    )
    summary = report.as_dict()
    summary["positions"] = {s: {k: (None if v != v else v) for k, v in p.items()} for s, p in positions.items()}
    journal.record("reconcile", summary)
    for m in mismatches:
        log.risk("reconcile: %s", m.detail)
        if notify is not None:
            notify(
                Event(
                    kind="reconcile",
                    level=Level.RISK,
                    title=f"Reconcile mismatch: {m.kind}",
                    body=m.detail,
                    data=m.as_dict(),
                )
            )
    return report


def _ledger_avg_price(journal: Journal, coid: str) -> float | None:
    fills = [f for f in journal.state.fills.values() if f.get("client_order_id") == coid]
    qty = sum(float(f["qty"]) for f in fills)
    if not qty:
        return None
    return sum(float(f["qty"]) * float(f["price"]) for f in fills) / qty


def mismatch_rows(mismatches: list[Mismatch]) -> list[Mapping[str, Any]]:
    return [m.as_dict() for m in mismatches]
