"""Corporate actions on held positions: ``split`` and ``dividend`` ledger entries on the ex-date.

Owns turning the data vendor's actions (:class:`~regimeflex.types.CorporateAction`, from the
``provide_corporate_actions`` hook) into ledger entries for the symbols the ledger holds:

* ``split`` ``{action_id, symbol, ex_date, ratio, qty_before, qty_after}`` — the position's
  quantity is multiplied by ``ratio`` (new shares per old share) and its average cost divided
  by it, so cost basis is unchanged and reconcile expects the broker's post-split quantity;
* ``dividend`` ``{action_id, symbol, ex_date, cash_per_share, qty, amount}`` — ``amount``
  (cash per share × the quantity held before the ex-date) is added to the ledger's cash.

Each action is recorded at most once (its ``action_id``), only once its ex-date has come
(``through``), and only when the symbol was held before the ex-date (the position was opened on
an earlier day: shares bought on the ex-date are already post-split and earn no dividend); the
views in :mod:`.views` apply them in ledger order together with the fills.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from regimeflex.ledger.journal import Journal
from regimeflex.types import CorporateAction


def action_id(action: CorporateAction) -> str:
    """The action's stable key in the ledger: ``kind:SYMBOL:ex_date``."""
    return f"{action.kind}:{action.symbol}:{action.ex_date.isoformat()}"


def record_corporate_actions(
    journal: Journal, actions: Iterable[CorporateAction], through: date
) -> list[dict[str, Any]]:
    """Record each not-yet-recorded action of a held symbol with ``ex_date <= through``, in
    ex-date order; returns the entries' data (one durable entry each)."""
    written: list[dict[str, Any]] = []
    opened = journal.state.held_since()
    for action in sorted(actions, key=lambda a: (a.ex_date, a.symbol, a.kind)):
        key = action_id(action)
        if action.ex_date > through or key in journal.state.corporate_actions:
            continue
        held = journal.state.positions().get(action.symbol)
        if held is None or not held.qty or opened.get(action.symbol, date.min) >= action.ex_date:
            continue
        data: dict[str, Any] = {"action_id": key, "symbol": action.symbol, "ex_date": action.ex_date.isoformat()}
        if action.kind == "split":
            ratio = float(action.ratio or 0.0)
            if ratio <= 0:
                raise ValueError(f"corporate action {key}: split ratio must be > 0, got {action.ratio!r}")
            data.update(ratio=ratio, qty_before=held.qty, qty_after=round(held.qty * ratio, 9))
        else:
            cash = float(action.cash or 0.0)
            data.update(cash_per_share=cash, qty=held.qty, amount=round(cash * held.qty, 6))
        if action.source:
            data["source"] = action.source
        journal.record(action.kind, data)
        written.append(data)
    return written
