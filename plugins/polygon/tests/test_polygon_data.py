"""The polygon data plugin against a local server serving real Polygon bodies."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from werkzeug import Response

from regimeflex.errors import ConfigError, ProviderError
from regimeflex.plugins import PluginHost
from regimeflex.testing import DataProviderContract
from regimeflex.testing.subject import DataWindow
from regimeflex.types import BarsRequest, check_bars
from regimeflex_polygon import hooks
from regimeflex_polygon.client import PolygonClient
from regimeflex_polygon.config import PolygonSettings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KEY = "test-key-not-real-polygon"
AGGS_PATH = "/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04"


def body(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def polygon_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", KEY)


@pytest.fixture
def settings(httpserver) -> dict:
    return {"base_url": httpserver.url_for("/").rstrip("/"), "max_retries": 2, "backoff": 0.0, "timeout": 2.0}


def fetch(settings: dict, symbols=("AAPL",), start=date(2005, 4, 1), end=date(2005, 4, 4), adjusted=True):
    return hooks.provide_bars(BarsRequest(tuple(symbols), start, end, adjusted, settings))


def test_daily_aggregates_become_bars_on_new_york_session_dates(httpserver, settings) -> None:
    httpserver.expect_request(
        AGGS_PATH, query_string={"adjusted": "true", "sort": "asc", "limit": "50000"}
    ).respond_with_json(body("aggs_daily.json"))
    bars = check_bars(fetch(settings))
    results = body("aggs_daily.json")["results"]
    assert list(bars.index) == [pd.Timestamp("2005-04-01"), pd.Timestamp("2005-04-04")]
    assert bars["close"]["AAPL"].tolist() == [r["c"] for r in results]
    assert bars["volume"]["AAPL"].tolist() == [r["v"] for r in results]


def test_raw_prices_are_asked_with_adjusted_false(httpserver, settings) -> None:
    httpserver.expect_request(
        AGGS_PATH, query_string={"adjusted": "false", "sort": "asc", "limit": "50000"}
    ).respond_with_json(body("aggs_daily.json"))
    assert not fetch(settings, adjusted=False).empty


def test_next_url_is_followed_on_the_configured_host(httpserver, settings) -> None:
    page1 = body("aggs_daily_with_next_url_openapi_example.json")
    httpserver.expect_ordered_request("/v2/aggs/ticker/AAPL/range/1/day/2005-01-03/2020-01-10").respond_with_json(page1)
    # the cursor points at api.massive.com; the client follows its path and query on base_url
    httpserver.expect_ordered_request(
        "/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10", query_string="cursor=bGltaXQ9MiZzb3J0PWFzYw"
    ).respond_with_json(body("aggs_daily.json"))
    bars = fetch(settings, start=date(2005, 1, 3), end=date(2020, 1, 10))
    assert len(httpserver.log) == 2
    assert list(bars.index.strftime("%Y-%m-%d")) == ["2005-04-01", "2005-04-04", "2020-01-02", "2020-01-03"]


def test_key_travels_in_the_authorization_header_never_in_a_url_or_log(httpserver, settings, caplog) -> None:
    httpserver.expect_request(AGGS_PATH).respond_with_json(body("aggs_daily.json"))
    caplog.set_level(logging.DEBUG)
    fetch(settings)
    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in request.url
    assert KEY not in caplog.text


def test_429_is_retried_after_the_retry_after_delay(httpserver, settings, monkeypatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", slept.append)
    httpserver.expect_ordered_request(AGGS_PATH).respond_with_json(
        body("error_429.json"), status=429, headers={"Retry-After": "7"}
    )
    httpserver.expect_ordered_request(AGGS_PATH).respond_with_json(body("aggs_daily.json"))
    bars = fetch(settings)
    assert len(httpserver.log) == 2 and 7.0 in slept
    assert len(bars) == 2


def test_429_until_retries_run_out_is_a_provider_error_with_the_vendor_text(httpserver, settings, monkeypatch) -> None:
    monkeypatch.setattr("urllib3.util.retry.time.sleep", lambda s: None)
    httpserver.expect_request(AGGS_PATH).respond_with_json(body("error_429.json"), status=429)
    with pytest.raises(ProviderError) as err:
        fetch(settings)
    url = httpserver.url_for(AGGS_PATH)
    assert str(err.value) == (
        f"polygon: GET {url} → HTTP 429: "
        f"{body('error_429.json')['error']} (rate limit: wait, lower the request rate "
        f"or upgrade the plan)"
    )
    assert len(httpserver.log) == 3


def test_5xx_then_success_returns_the_bars(httpserver, settings) -> None:
    httpserver.expect_ordered_request(AGGS_PATH).respond_with_data("upstream hiccup", status=502)
    httpserver.expect_ordered_request(AGGS_PATH).respond_with_json(body("aggs_daily.json"))
    assert len(fetch(settings)) == 2


def test_timeout_is_a_provider_error_naming_the_endpoint(httpserver, settings) -> None:
    def slow(_request):
        time.sleep(0.5)
        return Response(json.dumps(body("aggs_daily.json")), content_type="application/json")

    httpserver.expect_request(AGGS_PATH).respond_with_handler(slow)
    with pytest.raises(ProviderError) as err:
        fetch({**settings, "timeout": 0.1, "max_retries": 0})
    assert str(err.value) == (
        f"polygon: GET {httpserver.url_for(AGGS_PATH)} failed: TimeoutError: HTTPConnectionPool("
        f"host='{httpserver.host}', port={httpserver.port}): Read timed out. "
        f"(read timeout=0.1)"
    )


def test_malformed_body_is_a_provider_error(httpserver, settings) -> None:
    httpserver.expect_request(AGGS_PATH).respond_with_data("<html>maintenance</html>", content_type="text/html")
    with pytest.raises(ProviderError) as err:
        fetch(settings)
    assert str(err.value).endswith("returned a body that is not JSON (status 200, starts '<html>maintenance</html>')")


def test_results_of_the_wrong_shape_are_a_provider_error(httpserver, settings) -> None:
    bad = {**body("aggs_daily.json"), "results": {"c": 1}}
    httpserver.expect_request(AGGS_PATH).respond_with_json(bad)
    with pytest.raises(ProviderError) as err:
        fetch(settings)
    assert str(err.value) == "polygon: aggs AAPL: 'results' is not a list of bars"


def test_empty_result_is_a_panel_without_rows(httpserver, settings) -> None:
    empty = {k: v for k, v in body("aggs_daily.json").items() if k != "results"} | {"resultsCount": 0}
    httpserver.expect_request(AGGS_PATH).respond_with_json(empty)
    bars = fetch(settings)
    assert bars.empty and list(bars["close"].columns) == ["AAPL"]


def test_403_explains_the_plan(httpserver, settings) -> None:
    httpserver.expect_request(AGGS_PATH).respond_with_json(body("error_403_not_authorized.json"), status=403)
    with pytest.raises(ProviderError) as err:
        fetch(settings)
    assert str(err.value).endswith(
        f"→ HTTP 403: {body('error_403_not_authorized.json')['message']} (your Polygon plan does not include this data)"
    )


def test_missing_key_is_a_config_error(settings, monkeypatch) -> None:
    monkeypatch.delenv("POLYGON_API_KEY")
    with pytest.raises(ConfigError) as err:
        fetch(settings)
    assert str(err.value) == (
        "polygon: POLYGON_API_KEY is not set; put it in the environment or in .env (never in data.yaml)"
    )


def test_large_universe_uses_one_grouped_call_per_session(httpserver, settings) -> None:
    grouped = body("grouped_daily_openapi_example.json")
    httpserver.expect_request(
        "/v2/aggs/grouped/locale/us/market/stocks/2020-10-14", query_string="adjusted=true"
    ).respond_with_json(grouped)
    bars = fetch(
        {**settings, "grouped_min_symbols": 2},
        symbols=("VSAT", "TANH", "NOPE"),
        start=date(2020, 10, 14),
        end=date(2020, 10, 14),
    )
    assert len(httpserver.log) == 1
    assert bars["close"].loc["2020-10-14"].to_dict() == {
        "NOPE": pytest.approx(float("nan"), nan_ok=True),
        "TANH": 23.4,
        "VSAT": 34.24,
    }
    assert bars["volume"]["TANH"].iloc[0] == 25933.6


def test_grouped_bar_takes_the_requested_session_as_its_date(httpserver, settings) -> None:
    # the mock's own t is 2020-10-14 although 2005-04-04 was asked for
    httpserver.expect_request("/v2/aggs/grouped/locale/us/market/stocks/2005-04-04").respond_with_json(
        body("grouped_daily.json")
    )
    ticker = body("grouped_daily.json")["results"][0]["T"]
    bars = fetch(
        {**settings, "grouped_min_symbols": 1}, symbols=(ticker,), start=date(2005, 4, 4), end=date(2005, 4, 4)
    )
    assert list(bars.index) == [pd.Timestamp("2005-04-04")]


def test_unknown_setting_is_refused_by_the_model() -> None:
    host = PluginHost.from_plugins({"polygon": hooks})
    with pytest.raises(ConfigError) as err:
        host.validate_settings("polygon", {"api_key": "x"}, where="data.yaml: providers.polygon")
    assert str(err.value).startswith("data.yaml: providers.polygon.api_key: unknown key")


def test_client_resolves_vendor_cursor_urls_on_the_configured_host() -> None:
    client = PolygonClient(PolygonSettings(base_url="http://127.0.0.1:9/"), api_key=KEY)
    assert client.url("https://api.massive.com/v2/x?cursor=abc") == "http://127.0.0.1:9/v2/x?cursor=abc"


def aggs_or_404(request):
    if request.path.startswith("/v2/aggs/ticker/AAPL/"):
        return Response(json.dumps(body("aggs_daily.json")), content_type="application/json")
    empty = {k: v for k, v in body("aggs_daily.json").items() if k != "results"} | {"resultsCount": 0}
    return Response(json.dumps(empty), content_type="application/json")


class TestPolygonConformance(DataProviderContract):
    plugin = hooks
    data_window = DataWindow(symbols=("AAPL",), start=date(2005, 4, 1), end=date(2005, 4, 4))

    @pytest.fixture
    def params(self, httpserver, polygon_key) -> dict:
        httpserver.expect_request(re.compile(r"^/v2/aggs/.*")).respond_with_handler(aggs_or_404)
        return {"base_url": httpserver.url_for("/").rstrip("/"), "max_retries": 0}


def test_doctor_learns_the_key_variable_name() -> None:
    assert PluginHost.from_plugins({"polygon": hooks}).required_env("polygon") == ["POLYGON_API_KEY"]


def test_bars_source_names_only_the_settings_that_change_the_bars() -> None:
    def answer(**settings):
        return hooks.bars_source(BarsRequest(("SPY",), date(2024, 1, 2), date(2024, 1, 5), settings=settings))

    assert answer() == {"settings": {"base_url": "https://api.polygon.io"}}
    assert answer(timeout=30.0, max_retries=5) == answer()  # a changed timeout re-fetches nothing
    assert answer(base_url="http://127.0.0.1:9") != answer()
