"""The Telegram plugin passes the notifier conformance kit against a local Bot API stand-in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from regimeflex.testing import NotifierContract

OK = (Path(__file__).parent / "fixtures" / "sendMessage_ok.json").read_text(encoding="utf-8")


class TestTelegramConformance(NotifierContract):
    plugin = "telegram"

    @pytest.fixture(autouse=True)
    def _bot_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:test-token-not-real")
        monkeypatch.setenv("TELEGRAM_CHAT_ID", "-1001234567890")

    @pytest.fixture
    def params(self, httpserver: HTTPServer) -> dict[str, Any]:
        httpserver.expect_request(re.compile(r"^/bot[^/]+/send(Message|Document)$"), method="POST").respond_with_data(
            OK, content_type="application/json"
        )
        return {"api_url": httpserver.url_for("/").rstrip("/")}
