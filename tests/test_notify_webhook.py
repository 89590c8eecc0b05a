"""The webhook notifier against a local HTTP server: body, signature, errors, secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from regimeflex.builtins import webhook
from regimeflex.errors import DeliveryError
from regimeflex.types import Event, Level, NotifyContext

SECRET = "test-webhook-secret-not-real"
EVENT = Event(
    kind="breaker",
    level=Level.RISK,
    title="Breaker tripped",
    body="drawdown 12% > 10%",
    data={"drawdown": 0.12, "symbols": ["SPY"]},
)


def context(**settings: object) -> NotifyContext:
    return NotifyContext(channel="ops-hook", settings=webhook.WebhookSettings.model_validate(settings))


def test_webhook_posts_the_event_as_json(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    webhook.notify(event=EVENT, context=context(url=httpserver.url_for("/hook")))
    request, _ = httpserver.log[0]
    body = json.loads(request.data)
    assert {k: body[k] for k in ("source", "channel", "kind", "level", "title", "body", "data")} == {
        "source": "regimeflex",
        "channel": "ops-hook",
        "kind": "breaker",
        "level": "RISK",
        "title": "Breaker tripped",
        "body": "drawdown 12% > 10%",
        "data": {"drawdown": 0.12, "symbols": ["SPY"]},
    }
    assert request.headers["Content-Type"] == "application/json"


def test_webhook_signs_the_exact_body_when_the_secret_is_set(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGIMEFLEX_WEBHOOK_SECRET", SECRET)
    httpserver.expect_oneshot_request("/hook").respond_with_data("ok")
    webhook.notify(event=EVENT, context=context(url=httpserver.url_for("/hook")))
    request, _ = httpserver.log[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), request.data, hashlib.sha256).hexdigest()
    assert request.headers["X-RegimeFlex-Signature-256"] == expected


def test_webhook_without_secret_sends_no_signature(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGIMEFLEX_WEBHOOK_SECRET", raising=False)
    httpserver.expect_oneshot_request("/hook").respond_with_data("ok")
    webhook.notify(event=EVENT, context=context(url=httpserver.url_for("/hook")))
    request, _ = httpserver.log[0]
    assert "X-RegimeFlex-Signature-256" not in request.headers


def test_webhook_that_must_sign_without_secret_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGIMEFLEX_WEBHOOK_SECRET", raising=False)
    with pytest.raises(
        DeliveryError,
        match=r"^webhook: sign is true but REGIMEFLEX_WEBHOOK_SECRET is not set; "
        r"export the shared secret or set sign: false$",
    ) as info:
        webhook.notify(event=EVENT, context=context(url="http://127.0.0.1:9/hook", sign=True))
    assert info.value.permanent


def test_webhook_url_can_come_from_the_environment(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_WEBHOOK_URL", httpserver.url_for("/services/T000/B000/test-token-not-real"))
    httpserver.expect_oneshot_request("/services/T000/B000/test-token-not-real").respond_with_data("ok")
    webhook.notify(event=EVENT, context=context(url_env="OPS_WEBHOOK_URL"))
    assert len(httpserver.log) == 1


def test_webhook_url_env_that_is_unset_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPS_WEBHOOK_URL", raising=False)
    with pytest.raises(
        DeliveryError,
        match=r"^webhook: url_env names OPS_WEBHOOK_URL, which is not set; "
        r"export it \(or put it in .env\)$",
    ):
        webhook.notify(event=EVENT, context=context(url_env="OPS_WEBHOOK_URL"))


def test_webhook_client_error_is_permanent_and_names_host_and_status(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("invalid_token", status=403)
    with pytest.raises(DeliveryError, match=r"^webhook localhost: HTTP 403: invalid_token$") as info:
        webhook.notify(event=EVENT, context=context(url=httpserver.url_for("/hook")))
    assert info.value.permanent


def test_webhook_server_error_is_retried_then_reported_as_transient(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("upstream down", status=503)
    with pytest.raises(DeliveryError, match=r"^webhook localhost: ") as info:
        webhook.notify(event=EVENT, context=context(url=httpserver.url_for("/hook"), retries=1))
    assert not info.value.permanent
    assert len(httpserver.log) == 2


def test_webhook_retry_carries_the_same_delivery_id(httpserver: HTTPServer) -> None:
    answers = iter([Response("busy", status=503, headers={"Retry-After": "0"}), Response("ok")])

    def handler(request: Request) -> Response:
        return next(answers)

    httpserver.expect_request("/hook").respond_with_handler(handler)
    webhook.notify(event=EVENT, context=context(url=httpserver.url_for("/hook"), retries=1))
    ids = [req.headers["X-RegimeFlex-Delivery"] for req, _ in httpserver.log]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_webhook_errors_and_logs_never_show_a_token_in_the_url(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = "/services/T000/B000/test-token-not-real"
    monkeypatch.setenv("OPS_WEBHOOK_URL", httpserver.url_for(path))
    httpserver.expect_request(path).respond_with_data(f"no such hook {path}", status=404)
    with pytest.raises(DeliveryError) as info:
        webhook.notify(event=EVENT, context=context(url_env="OPS_WEBHOOK_URL"))
    assert str(info.value) == "webhook localhost: HTTP 404: no such hook /<path>"
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # werkzeug is the test server
    assert ours and not any("test-token-not-real" in line for line in ours)


def test_unreachable_webhook_is_a_transient_failure() -> None:
    with pytest.raises(DeliveryError, match=r"^webhook 127.0.0.1: ConnectionError: ") as info:
        webhook.notify(event=EVENT, context=context(url="http://127.0.0.1:9/hook", retries=0, timeout_seconds=2))
    assert not info.value.permanent


def test_webhook_settings_need_exactly_one_url() -> None:
    with pytest.raises(ValidationError, match="give exactly one of url \\(in YAML\\) or url_env"):
        webhook.WebhookSettings.model_validate({})


def test_webhook_settings_reject_non_http_url() -> None:
    with pytest.raises(ValidationError, match="url must start with http:// or https://, got 'ftp://x'"):
        webhook.WebhookSettings.model_validate({"url": "ftp://x"})


def test_credential_header_value_comes_from_the_environment(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_HOOK_AUTH", "Bearer test-auth-not-real")
    httpserver.expect_oneshot_request("/hook").respond_with_data("ok")
    webhook.notify(
        event=EVENT, context=context(url=httpserver.url_for("/hook"), headers_env={"Authorization": "OPS_HOOK_AUTH"})
    )
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer test-auth-not-real"


def test_credential_header_in_yaml_is_refused() -> None:
    with pytest.raises(
        ValidationError,
        match="header 'Authorization' carries a credential; put its value in an "
        "environment variable and name it under headers_env instead",
    ):
        webhook.WebhookSettings.model_validate(
            {"url": "https://example.com/h", "headers": {"Authorization": "Bearer x"}}
        )


def test_header_env_that_is_unset_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPS_HOOK_AUTH", raising=False)
    with pytest.raises(
        DeliveryError,
        match=r"^webhook: headers_env.Authorization names OPS_HOOK_AUTH, which is "
        r"not set; export it \(or put it in .env\)$",
    ):
        webhook.notify(
            event=EVENT, context=context(url="http://127.0.0.1:9/hook", headers_env={"Authorization": "OPS_HOOK_AUTH"})
        )
