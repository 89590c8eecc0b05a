"""The equity curve is a ledger view: built from ``run_end`` entries while replaying, never by rereading the file."""

from __future__ import annotations

from regimeflex.ledger.views import LedgerState


def _replay(*entries: tuple[str, dict]) -> LedgerState:
    state = LedgerState()
    for height, (kind, data) in enumerate(entries, start=1):
        state.apply(kind, data, height)
    return state


def test_each_sessions_closing_equity_comes_from_its_run_end():
    state = _replay(
        ("run_end", {"session": "2019-06-13", "equity": 100_000.0}),
        ("run_end", {"session": "2019-06-14", "equity": 101_500.0}),
    )
    assert state.equity == {"2019-06-13": 100_000.0, "2019-06-14": 101_500.0}


def test_a_rerun_replaces_its_sessions_equity_and_a_failed_run_adds_none():
    state = _replay(
        ("run_end", {"session": "2019-06-14", "equity": 101_500.0}),
        ("run_end", {"session": "2019-06-14", "status": "failed", "error": "disk full"}),
        ("run_end", {"session": "2019-06-14", "equity": 101_480.0}),
    )
    assert state.equity == {"2019-06-14": 101_480.0}


def test_the_daily_loss_base_is_the_last_earlier_session_not_a_rerun_of_the_same_one():
    state = _replay(
        ("run_end", {"session": "2019-06-12", "equity": 99_000.0}),
        ("run_end", {"session": "2019-06-13", "equity": 100_000.0}),
        ("run_end", {"session": "2019-06-14", "equity": 101_500.0}),
    )
    assert state.equity_before("2019-06-14") == 100_000.0
    assert state.equity_before("2019-06-12") is None
