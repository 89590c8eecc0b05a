"""The alpaca data plugin against a local server serving real Alpaca bodies."""

from __future__ import annotations

import json
import logging
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from werkzeug import Response

from regimeflex.errors import ConfigError, ProviderError
from regimeflex.testing import DataProviderContract
from regimeflex.testing.subject import DataWindow
from regimeflex.types import BarsRequest, check_bars
from regimeflex_alpaca import hooks
from regimeflex_alpaca.client import AlpacaClient, AlpacaError
from regimeflex_alpaca.config import AlpacaDataSettings, AlpacaSettings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KEY_ID, SECRET = "test-key-id-not-real", "test-secret-not-real"
BARS = "/v2/stocks/bars"


def body(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def alpaca_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)


@pytest.fixture
def settings(httpserver) -> dict:
    return {"data_url": httpserver.url_for("/").rstrip("/"), "max_retries": 2, "backoff": 0.0, "timeout": 2.0}


def fetch(settings: dict, symbols=("AAPL", "TSLA"), start=date(2022, 2, 1), end=date(2022, 3, 9), adjusted=True):
    return hooks.provide_bars(BarsRequest(tuple(symbols), start, end, adjusted, settings))


def test_multi_symbol_bars_become_a_panel_on_new_york_dates(httpserver, settings) -> None:
    httpserver.expect_request(
        BARS,
        query_string={
            "symbols": "AAPL,TSLA",
            "timeframe": "1Day",
            "start": "2022-02-01",
            "end": "2022-03-09",
            "limit": "10000",
            "adjustment": "all",
            "feed": "iex",
            "sort": "asc",
        },
    ).respond_with_json(body("bars_stocks.json"))
    bars = check_bars(fetch(settings))
    assert list(bars.index) == [pd.Timestamp("2022-03-09")]
    assert bars["close"].iloc[0].to_dict() == {"AAPL": 162.95, "TSLA": 858.97}


def test_page_token_is_followed_until_null(httpserver, settings) -> None:
    page1 = body("bars_stocks_page_with_next_page_token.json")
    httpserver.expect_ordered_request(BARS).respond_with_json(page1)
    httpserver.expect_ordered_request(BARS).respond_with_json(body("bars_stocks.json"))
    bars = fetch(settings)
    assert [r.args.get("page_token") for r, _ in httpserver.log] == [None, page1["next_page_token"]]
    assert list(bars.index.strftime("%Y-%m-%d")) == ["2022-02-01", "2022-02-02", "2022-03-09"]
    assert bars["close"]["TSLA"].notna().sum() == 1


def test_newest_first_pages_are_sorted_ascending(httpserver, settings) -> None:
    httpserver.expect_ordered_request(BARS).respond_with_json(body("bars_stocks_desc.json"))
    httpserver.expect_ordered_request(BARS).respond_with_json(body("bars_stocks_empty.json"))
    bars = check_bars(fetch(settings, symbols=("TSLA",), start=date(2023, 9, 1), end=date(2023, 9, 30)))
    desc = body("bars_stocks_desc.json")["bars"]["TSLA"]
    assert bars["close"]["TSLA"].tolist() == [b["c"] for b in reversed(desc)]
    # 2023-09-27T04:00:00Z is midnight in New York (EDT): the session date is the 27th
    assert bars.index[-1] == pd.Timestamp("2023-09-27")


def test_symbols_are_batched_per_request(httpserver, settings) -> None:
    httpserver.expect_request(BARS).respond_with_json(body("bars_stocks_empty.json"))
    fetch({**settings, "symbols_per_request": 1}, symbols=("TSLA", "AAPL", "MSFT"))
    assert [r.args["symbols"] for r, _ in httpserver.log] == ["AAPL", "MSFT", "TSLA"]


def test_feed_and_raw_adjustment_come_from_config(httpserver, settings) -> None:
    httpserver.expect_request(BARS).respond_with_json(body("bars_stocks_empty.json"))
    fetch({**settings, "feed": "sip"}, adjusted=False)
    args = httpserver.log[0][0].args
    assert (args["feed"], args["adjustment"]) == ("sip", "raw")


def test_adjustment_contradicting_data_yaml_is_a_config_error(settings) -> None:
    with pytest.raises(ConfigError) as err:
        fetch({**settings, "adjustment": "raw"}, adjusted=True)
    assert str(err.value) == (
        "data.yaml: providers.alpaca.adjustment is 'raw' but adjusted is true (adjusted "
        "prices); remove adjustment or make them agree"
    )


def test_empty_result_is_a_panel_without_rows(httpserver, settings) -> None:
    httpserver.expect_request(BARS).respond_with_json(body("bars_stocks_empty.json"))
    bars = fetch(settings)
    assert bars.empty and list(bars["close"].columns) == ["AAPL", "TSLA"]


def test_keys_travel_in_headers_never_in_a_url_or_log(httpserver, settings, caplog) -> None:
    httpserver.expect_request(BARS).respond_with_json(body("bars_stocks.json"))
    caplog.set_level(logging.DEBUG)
    fetch(settings)
    request = httpserver.log[0][0]
    assert (request.headers["APCA-API-KEY-ID"], request.headers["APCA-API-SECRET-KEY"]) == (KEY_ID, SECRET)
    assert KEY_ID not in request.url and SECRET not in request.url
    assert KEY_ID not in caplog.text and SECRET not in caplog.text


def test_401_is_a_provider_error_with_alpacas_message_and_the_fix(httpserver, settings) -> None:
    httpserver.expect_request(BARS).respond_with_json(body("error_401_not_authorized.json"), status=401)
    with pytest.raises(ProviderError) as err:
        fetch(settings)
    assert str(err.value) == (
        f"alpaca data: GET {httpserver.url_for(BARS)} → HTTP 401: request is not authorized "
        f"(check APCA_API_KEY_ID and APCA_API_SECRET_KEY)"
    )


def test_429_is_retried_after_the_retry_after_delay(httpserver, settings, monkeypatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", slept.append)
    # Alpaca answers 429 with plain text, not JSON (see the shared fixtures' SOURCES.md)
    httpserver.expect_ordered_request(BARS).respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "3"}
    )
    httpserver.expect_ordered_request(BARS).respond_with_json(body("bars_stocks.json"))
    assert len(fetch(settings)) == 1 and 3.0 in slept


def test_5xx_then_success_returns_the_bars(httpserver, settings) -> None:
    httpserver.expect_ordered_request(BARS).respond_with_data("bad gateway", status=502)
    httpserver.expect_ordered_request(BARS).respond_with_json(body("bars_stocks.json"))
    assert len(fetch(settings)) == 1 and len(httpserver.log) == 2


def test_timeout_is_a_provider_error(httpserver, settings) -> None:
    def slow(_request):
        time.sleep(0.5)
        return Response(json.dumps(body("bars_stocks.json")), content_type="application/json")

    httpserver.expect_request(BARS).respond_with_handler(slow)
    with pytest.raises(ProviderError) as err:
        fetch({**settings, "timeout": 0.1, "max_retries": 0})
    assert str(err.value) == (
        f"alpaca data: GET {httpserver.url_for(BARS)} failed: TimeoutError: "
        f"HTTPConnectionPool(host='{httpserver.host}', port={httpserver.port}): "
        f"Read timed out. (read timeout=0.1)"
    )


def test_malformed_body_is_a_provider_error(httpserver, settings) -> None:
    httpserver.expect_request(BARS).respond_with_data('{"bars": [', content_type="application/json")
    with pytest.raises(ProviderError) as err:
        fetch(settings)
    assert str(err.value).endswith("returned a body that is not JSON (status 200, starts '{\"bars\": [')")


def test_bars_of_the_wrong_shape_are_a_provider_error(httpserver, settings) -> None:
    httpserver.expect_request(BARS).respond_with_json({"bars": {"AAPL": [{"x": 1}]}, "next_page_token": None})
    with pytest.raises(ProviderError) as err:
        fetch(settings)
    assert str(err.value) == "alpaca: bars AAPL…TSLA: bars of AAPL are not a list of bars with t and c"


def test_missing_keys_are_a_config_error_naming_both(settings, monkeypatch) -> None:
    monkeypatch.delenv("APCA_API_KEY_ID")
    monkeypatch.delenv("APCA_API_SECRET_KEY")
    with pytest.raises(ConfigError) as err:
        fetch(settings)
    assert str(err.value) == (
        "alpaca: APCA_API_KEY_ID and APCA_API_SECRET_KEY are not set; put them in the "
        "environment or in .env (never in YAML)"
    )


def test_trading_url_defaults_to_paper() -> None:
    assert AlpacaDataSettings().base_url == "https://paper-api.alpaca.markets"
    assert AlpacaDataSettings().data_url == "https://data.alpaca.markets"


def test_client_post_and_delete_return_parsed_json(httpserver) -> None:
    httpserver.expect_request("/v2/orders", method="POST", json={"symbol": "SPY"}).respond_with_json({"id": "1"})
    httpserver.expect_request("/v2/orders", method="DELETE").respond_with_json([], status=207)
    client = AlpacaClient(httpserver.url_for("/"), AlpacaSettings(max_retries=0))
    assert client.post("/v2/orders", {"symbol": "SPY"}) == {"id": "1"}
    assert client.delete("/v2/orders") == []


def test_client_error_carries_status_and_alpaca_code(httpserver) -> None:
    httpserver.expect_request("/v2/account").respond_with_json(body("error_401_not_authorized.json"), status=401)
    with pytest.raises(AlpacaError) as err:
        AlpacaClient(httpserver.url_for("/"), AlpacaSettings(max_retries=0)).get("/v2/account")
    assert (err.value.status, err.value.code) == (401, 40110000)


def bars_handler(request):
    if "AAPL" in request.args.get("symbols", "") and request.args.get("start", "") <= "2022-03-09" <= request.args.get(
        "end", ""
    ):
        data = body("bars_stocks.json")
        data["bars"] = {s: b for s, b in data["bars"].items() if s in request.args["symbols"].split(",")}
        return Response(json.dumps(data), content_type="application/json")
    return Response(json.dumps(body("bars_stocks_empty.json")), content_type="application/json")


class TestAlpacaConformance(DataProviderContract):
    plugin = hooks
    data_window = DataWindow(symbols=("AAPL", "TSLA"), start=date(2022, 3, 7), end=date(2022, 3, 11))

    @pytest.fixture
    def params(self, httpserver, alpaca_keys) -> dict:
        httpserver.expect_request(BARS).respond_with_handler(bars_handler)
        return {"data_url": httpserver.url_for("/").rstrip("/"), "max_retries": 0}


def test_doctor_learns_both_key_variable_names() -> None:
    from regimeflex.plugins import PluginHost

    assert PluginHost.from_plugins({"alpaca": hooks}).required_env("alpaca") == [
        "APCA_API_KEY_ID",
        "APCA_API_SECRET_KEY",
    ]


def test_bars_source_names_only_the_settings_that_change_the_bars() -> None:
    from regimeflex_alpaca import hooks as alpaca_hooks

    def answer(**settings):
        request = BarsRequest(("SPY",), date(2024, 1, 2), date(2024, 1, 5), settings=settings)
        return alpaca_hooks.bars_source(request)["settings"]

    assert set(answer()) == {"feed", "adjustment", "data_url"}
    assert answer(timeout=30.0, page_limit=500) == answer()  # a changed timeout re-fetches nothing
    assert answer(feed="sip") != answer()
