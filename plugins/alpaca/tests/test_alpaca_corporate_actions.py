"""The alpaca plugin's corporate actions (/v1/corporate-actions) against the local emulator serving Alpaca's
real response body (fixtures/corporate_actions.json, see fixtures/SOURCES.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from alpaca_emulator import AlpacaEmulator

from regimeflex.errors import ProviderError
from regimeflex_alpaca import hooks

KEY, SECRET = "test-key-id-not-real", "test-secret-not-real"
BODY_TOKEN = "MDA3Q1ZSMDIwfDIwMjQtMDItMTV8NjBiZjkxYzItMDc0Ni00ZDliLThjOWUtYTgwYmIzMDhmZDkx"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[AlpacaEmulator]:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    emulator = AlpacaEmulator(key=KEY, secret=SECRET, prices={})
    emulator.data_url = emulator.start()
    yield emulator
    emulator.stop()


def actions(emu: AlpacaEmulator, symbols=("SRE", "MNTS", "FCF", "MSBC", "JUPW"), **settings):
    cfg = {"data_url": emu.data_url, "max_retries": 0, "backoff": 0.0, **settings}
    return hooks.provide_corporate_actions(
        symbols=list(symbols), start=date(2023, 1, 1), end=date(2023, 12, 31), settings=cfg
    )


def test_forward_and_reverse_splits_and_cash_dividends_map_to_corporate_actions(emu) -> None:
    got = [(a.symbol, a.ex_date.isoformat(), a.kind, a.ratio, a.cash, a.source) for a in actions(emu)]
    assert got == [
        ("FCF", "2023-05-04", "dividend", None, 0.125, "alpaca"),
        ("SRE", "2023-08-22", "split", 2.0, None, "alpaca"),  # 2 new per 1 old
        ("MNTS", "2023-08-24", "split", 0.02, None, "alpaca"),  # reverse 1-for-50
    ]


def test_only_the_types_the_core_applies_are_asked_for(emu) -> None:
    actions(emu)
    (query,) = [q for q in emu.queries if q["path"] == "/v1/corporate-actions"]
    assert query["types"] == "forward_split,reverse_split,cash_dividend"
    assert query["symbols"] == "FCF,JUPW,MNTS,MSBC,SRE"
    assert (query["start"], query["end"]) == ("2023-01-01", "2023-12-31")


def test_every_page_is_followed_with_its_page_token(emu) -> None:
    paged = actions(emu, page_limit=1)
    assert paged == actions(emu)
    tokens = [q.get("page_token") for q in emu.queries if q["path"] == "/v1/corporate-actions"][:3]
    assert tokens == [None, BODY_TOKEN, "page:2"]


def test_the_keys_travel_only_in_headers(emu) -> None:
    actions(emu)
    for query in emu.queries:
        assert KEY not in str(query) and SECRET not in str(query)


def test_wrong_keys_are_a_provider_error_naming_the_variables(emu, monkeypatch) -> None:
    monkeypatch.setenv("APCA_API_SECRET_KEY", "wrong-secret")
    with pytest.raises(ProviderError, match="APCA_API_KEY_ID and APCA_API_SECRET_KEY") as err:
        actions(emu)
    assert "wrong-secret" not in str(err.value)
