"""provide_corporate_actions: Polygon's splits and dividends reference endpoints, real bodies, local server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from regimeflex.types import CorporateAction
from regimeflex_polygon import hooks

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def body(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def polygon_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", "test-key-not-real-polygon")


@pytest.fixture
def settings(httpserver) -> dict:
    return {"base_url": httpserver.url_for("/").rstrip("/"), "max_retries": 2, "backoff": 0.0, "timeout": 2.0}


def test_splits_and_cash_dividends_become_corporate_actions(httpserver, settings) -> None:
    httpserver.expect_request(
        "/v3/reference/splits",
        query_string={
            "ticker": "AMZN",
            "limit": "1000",
            "execution_date.gte": "2022-01-01",
            "execution_date.lte": "2022-12-31",
        },
    ).respond_with_json(body("splits.json"))
    httpserver.expect_request(
        "/v3/reference/dividends",
        query_string={
            "ticker": "AMZN",
            "limit": "1000",
            "ex_dividend_date.gte": "2022-01-01",
            "ex_dividend_date.lte": "2022-12-31",
        },
    ).respond_with_json(body("dividends.json"))
    actions = hooks.provide_corporate_actions(["AMZN"], date(2022, 1, 1), date(2022, 12, 31), settings)
    assert actions == [CorporateAction("AMZN", date(2022, 6, 6), "split", ratio=20.0, source="polygon")]


def test_dividend_rows_carry_the_cash_per_share(httpserver, settings) -> None:
    httpserver.expect_request("/v3/reference/splits").respond_with_json({"results": [], "status": "OK"})
    httpserver.expect_request("/v3/reference/dividends").respond_with_json(body("dividends.json"))
    actions = hooks.provide_corporate_actions(["CSSEN"], date(2025, 1, 1), date(2025, 12, 31), settings)
    assert actions == [
        CorporateAction("CSSEN", date(2025, 6, 12), "dividend", cash=0.59375, source="polygon"),
        CorporateAction("CSSEN", date(2025, 3, 13), "dividend", cash=0.59375, source="polygon"),
    ]
