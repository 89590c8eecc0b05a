"""The Telegram plugin against a local Bot API stand-in serving real response bodies."""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from regimeflex.errors import DeliveryError
from regimeflex.notify.dispatch import Channel, Dispatcher
from regimeflex.plugins import PluginHost
from regimeflex.types import Event, Level, NotifyContext
from regimeflex_telegram import hooks
from regimeflex_telegram.client import TelegramClient, retry_after_seconds
from regimeflex_telegram.config import TelegramSettings
from regimeflex_telegram.notifier import MAX_MESSAGE, format_messages, tg_len

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "123456789:test-token-not-real"
CHAT = "-1001234567890"


def body(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def reply(name: str, status: int) -> Response:
    return Response(body(name), status=status, content_type="application/json")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_CHAT_ID", CHAT)


def settings(server: HTTPServer, **extra: object) -> TelegramSettings:
    return TelegramSettings.model_validate({"api_url": server.url_for("/").rstrip("/"), **extra})


def notify(event: Event, server: HTTPServer, **extra: object) -> None:
    hooks.notify(event=event, context=NotifyContext(channel="tg", settings=settings(server, **extra)))


def client(server: HTTPServer, waits: list[float], **extra: object) -> TelegramClient:
    return TelegramClient(TOKEN, api_url=server.url_for("/").rstrip("/"), sleep=waits.append, **extra)


def sent_texts(server: HTTPServer) -> list[str]:
    return [json.loads(req.data)["text"] for req, _ in server.log if req.path.endswith("/sendMessage")]


def test_send_message_posts_html_to_the_chat(httpserver: HTTPServer, env: None) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage", method="POST").respond_with_data(
        body("sendMessage_ok.json"), content_type="application/json"
    )
    notify(Event(kind="run", level=Level.RISK, title="Breaker tripped", body="drawdown 12%"), httpserver)
    payload = json.loads(httpserver.log[0][0].data)
    assert (payload["chat_id"], payload["parse_mode"], payload["text"]) == (
        CHAT,
        "HTML",
        "⚠️ <b>Breaker tripped</b>\ndrawdown 12%",
    )
    assert payload["disable_notification"] is False


def test_events_below_risk_are_delivered_quietly(httpserver: HTTPServer, env: None) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_data(body("sendMessage_ok.json"))
    notify(Event(kind="run", level=Level.SUCCESS, title="Run done"), httpserver)
    assert json.loads(httpserver.log[0][0].data)["disable_notification"] is True


def test_markup_characters_are_escaped_for_html_mode() -> None:
    [text] = format_messages(Event(kind="x", level=Level.INFO, title="P&L <today>", body="a < b & c > d"))
    assert text == "ℹ️ <b>P&amp;L &lt;today&gt;</b>\na &lt; b &amp; c &gt; d"


def test_long_message_is_split_within_the_telegram_limit() -> None:
    lines = [f"{i:04d} AAPL buy 10 @ 189.25 <filled> & booked" for i in range(400)]
    parts = format_messages(Event(kind="x", level=Level.INFO, title="Fills", body="\n".join(lines)))
    assert len(parts) > 1
    assert all(tg_len(p) <= MAX_MESSAGE for p in parts)


def test_split_parts_reassemble_to_the_whole_body() -> None:
    lines = [f"{i:04d} AAPL buy 10 @ 189.25 <filled> & booked" for i in range(400)]
    parts = format_messages(Event(kind="x", level=Level.INFO, title="Fills", body="\n".join(lines)))
    texts = [html.unescape(p.split("</i>\n", 1)[1]) for p in parts]
    assert "\n".join(texts) == "\n".join(lines)
    assert [p.split("</i>", 1)[0].rsplit("<i>", 1)[1] for p in parts] == [
        f"({i}/{len(parts)})" for i in range(1, len(parts) + 1)
    ]


def test_split_counts_emoji_as_two_units_and_never_cuts_an_escape() -> None:
    text = "📈&" * 3000  # each pair is 2 UTF-16 units + 5 escaped characters
    parts = format_messages(Event(kind="x", level=Level.INFO, title="t", body=text))
    assert all(tg_len(p) <= MAX_MESSAGE for p in parts)
    assert all(p.count("&amp;") == p.count("&") for p in parts)
    assert "".join(html.unescape(p.split("</i>\n", 1)[1]) for p in parts) == text


def test_report_is_uploaded_with_send_document(httpserver: HTTPServer, env: None, tmp_path: Path) -> None:
    report = tmp_path / "2019-12-31.html"
    report.write_text("<!doctype html><p>daily</p>", encoding="utf-8")
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_data(body("sendMessage_ok.json"))
    httpserver.expect_request(f"/bot{TOKEN}/sendDocument").respond_with_data(body("sendMessage_ok.json"))
    notify(Event(kind="run", level=Level.SUCCESS, title="Run done", attachments=(report,)), httpserver)
    request, _ = httpserver.log[1]
    assert request.path == f"/bot{TOKEN}/sendDocument"
    assert request.files["document"].filename == "2019-12-31.html"
    assert request.files["document"].read() == b"<!doctype html><p>daily</p>"
    assert request.form["chat_id"] == CHAT and request.form["caption"] == "✅ <b>Run done</b>"


def test_429_waits_for_parameters_retry_after(httpserver: HTTPServer) -> None:
    answers = iter([reply("sendMessage_429_retry_after.json", 429), reply("sendMessage_ok.json", 200)])
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_handler(lambda _: next(answers))
    waits: list[float] = []
    client(httpserver, waits).send_message(CHAT, "hi")
    assert waits == [41.0]
    assert len(httpserver.log) == 2


def test_429_without_parameters_parses_retry_after_from_the_description(httpserver: HTTPServer) -> None:
    answers = iter([reply("sendMessage_429_no_parameters.json", 429), reply("sendMessage_ok.json", 200)])
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_handler(lambda _: next(answers))
    waits: list[float] = []
    client(httpserver, waits).send_message(CHAT, "hi")
    assert waits == [3.0]


def test_retry_after_in_a_degenerate_body_is_honoured(httpserver: HTTPServer) -> None:
    answers = iter([reply("ptb_test_retry_after_minimal.json", 400), reply("sendMessage_ok.json", 200)])
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_handler(lambda _: next(answers))
    waits: list[float] = []
    client(httpserver, waits).send_message(CHAT, "hi")
    assert waits == [42.0]


def test_retry_after_falls_back_to_the_default() -> None:
    assert retry_after_seconds({"ok": False, "error_code": 429, "description": "Too Many Requests"}, 5.0) == 5.0


def test_wait_longer_than_the_cap_drops_the_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_data(
        body("sendMessage_429_retry_after.json"), status=429, content_type="application/json"
    )
    waits: list[float] = []
    with pytest.raises(
        DeliveryError,
        match=r"^telegram sendMessage: rate limited for 41s, longer than "
        r"max_retry_after 30s; message dropped$",
    ) as info:
        client(httpserver, waits, max_retry_after=30).send_message(CHAT, "hi")
    assert waits == [] and not info.value.permanent


def test_persistent_429_gives_up_after_max_attempts(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_data(
        body("sendMessage_429_no_parameters.json"), status=429, content_type="application/json"
    )
    waits: list[float] = []
    with pytest.raises(
        DeliveryError,
        match=r"^telegram sendMessage: still rate limited after 3 attempts "
        r"\(last retry_after 3s\); message dropped$",
    ):
        client(httpserver, waits, max_attempts=3).send_message(CHAT, "hi")
    assert waits == [3.0, 3.0]


def test_chat_not_found_is_permanent_and_says_what_to_check(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_data(
        body("sendMessage_400.json"), status=400, content_type="application/json"
    )
    with pytest.raises(DeliveryError) as info:
        client(httpserver, []).send_message(CHAT, "hi")
    assert str(info.value) == (
        "telegram sendMessage: HTTP 400 Bad Request: chat not found: check TELEGRAM_CHAT_ID "
        "(the bot must be a member of that chat)"
    )
    assert info.value.permanent and len(httpserver.log) == 1


def test_unauthorized_is_permanent_and_names_the_token_variable(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_json(
        {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
    )
    with pytest.raises(
        DeliveryError,
        match=r"^telegram sendMessage: HTTP 401 Unauthorized: the bot token is wrong "
        r"or revoked; check TELEGRAM_BOT_TOKEN$",
    ) as info:
        client(httpserver, []).send_message(CHAT, "hi")
    assert info.value.permanent


def test_blocked_bot_is_reported_once_by_the_dispatcher(
    httpserver: HTTPServer, env: None, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_json(
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, status=403
    )
    host = PluginHost.from_plugins({"telegram": hooks})
    dispatcher = Dispatcher([Channel("tg", "telegram", settings=settings(httpserver))], host)
    dispatcher.send(Event(kind="a", level=Level.RISK, title="first"))
    dispatcher.close(timeout=10)
    dispatcher._closed = False  # noqa: SLF001 - keep using the same run's dispatcher
    for title in ("second", "third"):
        dispatcher.send(Event(kind="a", level=Level.RISK, title=title))
    report = dispatcher.close(timeout=10)
    assert len(httpserver.log) == 1
    assert len(report.failures) == 1 and report.channels["tg"].disabled
    assert "bot was blocked by the user" in report.failures[0].error
    assert caplog.text.count("disabled for this run") == 1


def test_token_never_appears_in_errors_or_logs(
    httpserver: HTTPServer, env: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_data("<html>bad gateway</html>", status=502)
    with pytest.raises(DeliveryError) as info:
        notify(Event(kind="a", level=Level.ERROR, title="boom"), httpserver)
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # werkzeug is the test server
    assert ours, "expected urllib3 debug lines to check"
    assert "test-token-not-real" not in str(info.value)
    assert not any("test-token-not-real" in line for line in ours)


def test_unreachable_api_error_masks_the_token(env: None) -> None:
    with pytest.raises(DeliveryError) as info:
        hooks.notify(
            event=Event(kind="a", level=Level.ERROR, title="boom"),
            context=NotifyContext(
                channel="tg", settings=TelegramSettings(api_url="http://127.0.0.1:9", timeout_seconds=2)
            ),
        )
    assert "/bot***/sendMessage" in str(info.value)
    assert "test-token-not-real" not in str(info.value)


def test_missing_token_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(
        DeliveryError,
        match=r"^telegram: TELEGRAM_BOT_TOKEN is not set; export the bot token from "
        r"@BotFather \(or put it in .env\)$",
    ) as info:
        hooks.notify(
            event=Event(kind="a", level=Level.INFO, title="x"), context=NotifyContext(channel="tg", settings={})
        )
    assert info.value.permanent


def test_settings_reject_a_token_in_yaml() -> None:
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        TelegramSettings.model_validate({"token": TOKEN})
