"""Splits and cash dividends on held positions: ledger entries on the ex-date, views that apply them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from regimeflex.execution.session import ledger_account
from regimeflex.ledger import load_state, read_entries
from regimeflex.ledger.corporate import record_corporate_actions
from regimeflex.ledger.journal import open_journal
from regimeflex.types import CorporateAction

DATA = Path(__file__).resolve().parents[1] / "data" / "corporate"


def polygon_split(ticker: str) -> CorporateAction:
    """The ticker's first split in the real Polygon /v3/reference/splits body."""
    body = json.loads((DATA / "polygon_splits.json").read_text())
    row = next(r for r in body["results"] if r["ticker"] == ticker)
    return CorporateAction(
        ticker,
        date.fromisoformat(row["execution_date"]),
        "split",
        ratio=row["split_to"] / row["split_from"],
        source="polygon",
    )


def polygon_dividend(ticker: str) -> CorporateAction:
    body = json.loads((DATA / "polygon_dividends.json").read_text())
    row = next(r for r in body["results"] if r["ticker"] == ticker)
    return CorporateAction(
        ticker, date.fromisoformat(row["ex_dividend_date"]), "dividend", cash=row["cash_amount"], source="polygon"
    )


def buy(journal, symbol: str, qty: float, price: float, fid: str = "f1") -> None:
    journal.record(
        "fill",
        {"fill_id": fid, "client_order_id": "c-" + fid, "symbol": symbol, "side": "buy", "qty": qty, "price": price},
    )


@pytest.fixture
def journal(tmp_path: Path):
    j = open_journal(tmp_path / "ledger.jsonl")
    yield j
    j.close()


def test_a_split_of_a_held_symbol_multiplies_the_quantity_and_keeps_the_cost_basis(journal):
    amzn = polygon_split("AMZN")  # 20-for-1, ex 2022-06-06
    buy(journal, "AMZN", 3, 2_447.0)
    written = record_corporate_actions(journal, [amzn], through=date(2022, 6, 6))
    assert written == [
        {
            "action_id": "split:AMZN:2022-06-06",
            "symbol": "AMZN",
            "ex_date": "2022-06-06",
            "ratio": 20.0,
            "qty_before": 3.0,
            "qty_after": 60.0,
            "source": "polygon",
        }
    ]
    pos = journal.state.positions()["AMZN"]
    assert (pos.qty, pos.avg_price) == (60.0, pytest.approx(122.35))
    assert pos.qty * pos.avg_price == pytest.approx(3 * 2_447.0)


def test_the_split_is_recorded_once_and_the_replayed_ledger_agrees(journal):
    buy(journal, "AMZN", 3, 2_447.0)
    record_corporate_actions(journal, [polygon_split("AMZN")], through=date(2022, 6, 6))
    assert record_corporate_actions(journal, [polygon_split("AMZN")], through=date(2022, 6, 7)) == []
    assert [e["kind"] for e in read_entries(journal.path)] == ["fill", "split"]
    assert load_state(journal.path).positions()["AMZN"].qty == 60.0


def test_fills_after_the_split_fold_on_the_post_split_quantity(journal):
    buy(journal, "AMZN", 3, 2_447.0)
    record_corporate_actions(journal, [polygon_split("AMZN")], through=date(2022, 6, 6))
    journal.record(
        "fill",
        {"fill_id": "f2", "client_order_id": "c2", "symbol": "AMZN", "side": "sell", "qty": 20, "price": 125.0},
    )
    assert journal.state.positions()["AMZN"].qty == 40.0


def test_actions_before_their_ex_date_or_of_symbols_not_held_are_not_recorded(journal):
    buy(journal, "AMZN", 3, 2_447.0)
    assert record_corporate_actions(journal, [polygon_split("AMZN")], through=date(2022, 6, 3)) == []
    assert record_corporate_actions(journal, [polygon_split("GOOGL")], through=date(2022, 12, 31)) == []
    assert journal.state.positions()["AMZN"].qty == 3.0


def test_a_dividend_pays_cash_per_share_held_into_the_ledger_cash(journal):
    div = polygon_dividend("CSSEN")  # 0.59375 a share, ex 2025-06-12
    buy(journal, "CSSEN", 100, 25.0)
    (data,) = record_corporate_actions(journal, [div], through=date(2025, 6, 12))
    assert (data["cash_per_share"], data["qty"], data["amount"]) == (0.59375, 100.0, 59.375)
    account = ledger_account(journal, {"CSSEN": 25.0}, initial_equity=10_000.0)
    assert account.cash == pytest.approx(10_000.0 - 2_500.0 + 59.375)
    assert account.positions["CSSEN"].qty == 100.0


def test_a_split_with_no_ratio_is_refused_by_name(journal):
    buy(journal, "AMZN", 3, 2_447.0)
    bad = CorporateAction("AMZN", date(2022, 6, 6), "split", ratio=None)
    with pytest.raises(ValueError, match="corporate action split:AMZN:2022-06-06: split ratio must be > 0"):
        record_corporate_actions(journal, [bad], through=date(2022, 6, 6))


class PostSplitBroker:
    """A broker host that, like Alpaca after AMZN's split, reports 60 shares."""

    def broker_orders(self, plugin, *, client_order_ids, context):
        return []

    def broker_fills(self, plugin, *, since, context):
        return []

    def broker_account(self, plugin, *, context):
        from regimeflex.types import Account, Position

        return Account(equity=0.0, cash=0.0, buying_power=0.0, positions={"AMZN": Position("AMZN", 60.0, 122.35)})


def test_reconcile_expects_the_brokers_post_split_quantity(journal):
    from regimeflex.execution.reconcile import reconcile
    from regimeflex.types import BrokerContext

    buy(journal, "AMZN", 3, 2_447.0)
    ctx = BrokerContext(mode="paper", session=date(2022, 6, 6), settings={})
    before = reconcile(journal, PostSplitBroker(), "fake", ctx, session=date(2022, 6, 6))
    assert [m.kind for m in before.mismatches] == ["position_drift"]  # without the split entry: a mismatch
    record_corporate_actions(journal, [polygon_split("AMZN")], through=date(2022, 6, 6))
    after = reconcile(journal, PostSplitBroker(), "fake", ctx, session=date(2022, 6, 6))
    assert after.ok
    assert after.positions == {"AMZN": {"ledger": 60.0, "broker": 60.0}}
