"""The paper broker applies the held stock's split and dividends itself, as a real broker does, so the
ledger (which records them from the data provider) and the paper account agree and reconcile stays matched."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from regimeflex.execution.simulator import PaperBook, PaperSettings
from regimeflex.types import CorporateAction, Order
from tests.corporate.conftest import seed_position

EX = date(2014, 8, 7)
SPLIT = CorporateAction("DISCK", EX, "split", ratio=2.0, source="DISC-actions.csv")


def book_holding(qty: float = 100.0, price: float = 82.37, day: str = "2014-08-05") -> PaperBook:
    book = PaperBook.in_memory(PaperSettings(fill_at="reference", slippage_bps=0.0), cash=100_000.0)
    book.submit(Order("DISCK", "buy", qty, "buy-1", reference_price=price, session=date.fromisoformat(day)))
    return book


def test_a_split_doubles_the_paper_position_and_halves_its_cost() -> None:
    book = book_holding()
    (record,) = book.apply_corporate_actions([SPLIT], through=EX)
    pos = book.positions()["DISCK"]
    assert (record["qty_before"], pos.qty, pos.avg_price) == (100.0, 200.0, pytest.approx(41.185))
    assert book.cash == pytest.approx(100_000.0 - 8_237.0)  # a split moves no cash


def test_the_split_is_applied_once_and_not_before_its_ex_date() -> None:
    book = book_holding()
    assert book.apply_corporate_actions([SPLIT], through=date(2014, 8, 6)) == []
    book.apply_corporate_actions([SPLIT], through=EX)
    assert book.apply_corporate_actions([SPLIT], through=date(2014, 8, 8)) == []
    assert book.positions()["DISCK"].qty == 200.0


def test_shares_bought_on_the_ex_date_are_not_split_again() -> None:
    book = book_holding(price=41.17, day="2014-08-07")
    assert book.apply_corporate_actions([SPLIT], through=EX) == []
    assert book.positions()["DISCK"].qty == 100.0


def test_fills_after_the_split_fold_on_the_post_split_position() -> None:
    book = book_holding()
    book.apply_corporate_actions([SPLIT], through=EX)
    book.submit(Order("DISCK", "sell", 150, "sell-1", reference_price=40.975, session=EX))
    assert book.positions()["DISCK"].qty == 50.0


def test_an_order_still_open_from_before_the_ex_date_is_canceled_by_the_split() -> None:
    book = PaperBook.in_memory(PaperSettings(), cash=100_000.0)
    book.submit(Order("DISCK", "buy", 10, "buy-1", reference_price=82.37, session=date(2014, 8, 5)))
    book.fills.append(
        {
            "fill_id": "f0",
            "client_order_id": "x",
            "symbol": "DISCK",
            "side": "buy",
            "qty": 5.0,
            "price": 80.0,
            "commission": 0.0,
            "ts": "2014-08-01T14:30:00+00:00",
        }
    )
    book.submit(Order("DISCK", "buy", 10, "buy-2", reference_price=81.22, session=date(2014, 8, 6)))
    book.apply_corporate_actions([SPLIT], through=EX)
    assert {c: o["status"] for c, o in book.orders.items()} == {"buy-1": "canceled", "buy-2": "canceled"}
    assert "split 2-for-1 on 2014-08-07" in book.orders["buy-2"]["message"]


def test_a_cash_dividend_credits_the_paper_cash_on_the_ex_date() -> None:
    book = book_holding()
    dividend = CorporateAction("DISCK", EX, "dividend", cash=0.25)
    (record,) = book.apply_corporate_actions([dividend], through=EX)
    assert record["amount"] == 25.0
    assert book.cash == pytest.approx(100_000.0 - 8_237.0 + 25.0)


def test_a_held_stocks_split_in_the_paper_account_leaves_reconcile_matched(run_cli, disc_project: Path) -> None:
    """The issue's done-when: the next run records the split, the paper account applies it, reconcile matches."""
    from regimeflex.ledger import load_state

    seed_position(disc_project, qty=100, price=82.37, day="2014-08-05")
    code, out, _ = run_cli("--config", str(disc_project), "run", "--as-of", "2014-08-06", "--json")
    assert code == 0 and json.loads(out)["corporate_actions"]["recorded"] == []
    code, out, err = run_cli("--config", str(disc_project), "run", "--as-of", "2014-08-07", "--json")
    summary = json.loads(out)
    assert code == 0, err
    assert "position_drift" not in err and "Reconcile mismatch" not in err
    state = load_state(disc_project.parent / "logs/audit/ledger.jsonl")
    assert "split:DISCK:2014-08-07" in state.corporate_actions
    paper = json.loads((disc_project.parent / "state/paper_broker.json").read_text())
    assert paper["actions"]["split:DISCK:2014-08-07"]["ratio"] == 2.0
    # the account is worth what it was worth, not half: 200 shares at the post-split close
    assert summary["equity"] == pytest.approx(100_000.0 - 8_237.0 + 200 * 39.78, abs=0.01)
    code, out, err = run_cli("--config", str(disc_project), "reconcile", "--json")
    assert code == 0, out + err
