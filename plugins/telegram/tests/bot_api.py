"""A local stand-in for the Telegram Bot API's getUpdates / sendMessage / sendDocument.

Serves the real bodies in ``fixtures/`` (see SOURCES.md) from a pytest-httpserver:
``getUpdates`` answers a script of steps (updates, or an error status with its
body), then empty long polls; ``sendMessage``/``sendDocument`` answer ok and
keep what they were sent. Updates are built from the real private-chat update
in ``getUpdates_message.json`` with the text, ids and date of each case.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "123456789:test-token-not-real"
ALLOWED_CHAT = 5863523580
ALLOWED_USER = 5863523580
GROUP_CHAT = -1001234567890


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def update(
    update_id: int, text: str, *, chat: int = ALLOWED_CHAT, user: int = ALLOWED_USER, date: float | None = None
) -> dict[str, Any]:
    """The real update of getUpdates_message.json with this case's id, text, chat, sender and date."""
    base = copy.deepcopy(json.loads(fixture("getUpdates_message.json"))["result"][0])
    message = base["message"]
    base["update_id"] = update_id
    message["message_id"] = update_id
    message["text"] = text
    message["entities"][0]["length"] = len(text.split()[0]) if text.startswith("/") else 0
    message["from"]["id"] = user
    message["chat"]["id"] = chat
    if chat < 0:  # a group: Telegram's Chat object then has a title instead of a person's names
        message["chat"] = {"id": chat, "title": "Ops room", "type": "supergroup"}
    message["date"] = int(time.time() if date is None else date)
    return base


class BotApi:
    """Register the three methods on ``server`` for ``token``; script getUpdates with :meth:`then`."""

    def __init__(self, server: HTTPServer, token: str = TOKEN, *, idle_wait: float = 0.0) -> None:
        self.server = server
        self.script: deque[tuple[int, str]] = deque()
        self.polls: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.documents: list[dict[str, Any]] = []
        self.idle_wait = idle_wait
        self.drained = threading.Event()
        self._lock = threading.Lock()
        base = f"/bot{token}"
        server.expect_request(f"{base}/getUpdates", method="POST").respond_with_handler(self._get_updates)
        server.expect_request(f"{base}/sendMessage", method="POST").respond_with_handler(self._send_message)
        server.expect_request(f"{base}/sendDocument", method="POST").respond_with_handler(self._send_document)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def then(self, *updates: dict[str, Any]) -> BotApi:
        """Next poll returns these updates."""
        self.script.append((200, json.dumps({"ok": True, "result": list(updates)})))
        return self

    def then_error(self, status: int, body_fixture: str) -> BotApi:
        """Next poll answers ``status`` with a real error body."""
        self.script.append((status, fixture(body_fixture)))
        return self

    def _get_updates(self, request: Request) -> Response:
        with self._lock:
            self.polls.append(json.loads(request.data or b"{}"))
            step = self.script.popleft() if self.script else None
        if step is None:
            self.drained.set()
            if self.idle_wait:
                time.sleep(self.idle_wait)  # a long poll that ends without a message
            return Response(fixture("getUpdates_empty.json"), status=200, content_type="application/json")
        status, body = step
        return Response(body, status=status, content_type="application/json")

    def _send_message(self, request: Request) -> Response:
        with self._lock:
            self.messages.append(json.loads(request.data))
        return Response(fixture("sendMessage_ok.json"), status=200, content_type="application/json")

    def _send_document(self, request: Request) -> Response:
        upload = request.files.get("document")
        with self._lock:
            self.documents.append(
                {
                    **request.form.to_dict(),
                    "file_name": upload.filename if upload else None,
                    "bytes": len(upload.read()) if upload else 0,
                }
            )
        return Response(fixture("sendDocument_ok.json"), status=200, content_type="application/json")

    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages]
