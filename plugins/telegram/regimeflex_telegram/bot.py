"""Two-way control over Telegram: the long-poll loop behind ``regimeflex bot``.

Owns the transport half of chat control (the core's
:class:`~regimeflex.types.CommandContext` owns who may command and what each
command does): long-poll ``getUpdates`` with an offset kept in
``<state_dir>/offset.json`` so a restart neither replays nor skips a message,
turn each text message into a :class:`~regimeflex.types.CommandRequest`, send
the core's reply back with ``sendMessage`` (and ``sendDocument`` for a file).

Riding out Telegram: a 409 Conflict (a second poller on the same token) is
logged once per streak and polled again after ``conflict_backoff_seconds``; a
429 waits the ``retry_after`` Telegram names; network drops and server errors
back off 1, 2, 4 … up to ``max_backoff_seconds``. A refused token stops the
bot with a configuration error. The offset advances only after a message was
handled, so a crash re-handles at most the message in hand (``/kill`` twice is
harmless; a ``/resume`` code does not survive a restart).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regimeflex.api import (
    CommandContext,
    CommandReply,
    CommandRequest,
    ConfigError,
    DeliveryError,
    get_logger,
    redact,
)
from regimeflex_telegram.client import PollConflict, RateLimited, TelegramClient
from regimeflex_telegram.config import TelegramSettings
from regimeflex_telegram.notifier import MAX_CAPTION, MAX_MESSAGE, escape, split_plain

log = get_logger("telegram.bot")


class OffsetStore:
    """The next ``getUpdates`` offset, per bot, in a small JSON file written atomically."""

    def __init__(self, path: Path, bot_id: str) -> None:
        self.path = Path(path)
        self.bot_id = bot_id

    def load(self) -> int | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.risk("%s is unreadable (%s); polling from Telegram's oldest pending update", self.path, exc)
            return None
        if not isinstance(data, dict) or str(data.get("bot_id")) != self.bot_id:
            log.info("%s belongs to another bot; starting from Telegram's oldest pending update", self.path)
            return None
        offset = data.get("offset")
        return int(offset) if isinstance(offset, int) else None

    def save(self, offset: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"bot_id": self.bot_id, "offset": offset}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


def request_from(update: Mapping[str, Any], channel: str) -> CommandRequest | None:
    """The command request in one update, or None (not a text message from a person)."""
    message = update.get("message")
    if not isinstance(message, Mapping):
        return None
    chat, sender, text = message.get("chat"), message.get("from"), message.get("text")
    if not isinstance(chat, Mapping) or not isinstance(sender, Mapping) or not isinstance(text, str):
        return None
    if chat.get("id") is None or sender.get("id") is None:
        return None
    sent = message.get("date")
    return CommandRequest(
        channel=channel,
        chat_id=str(chat["id"]),
        user_id=str(sender["id"]),
        text=text,
        user_name=str(sender.get("username") or sender.get("first_name") or ""),
        message_id=str(message.get("message_id", "")),
        sent_at=datetime.fromtimestamp(sent, UTC) if isinstance(sent, (int, float)) else None,
    )


class TelegramBot:
    """Polls one bot token and serves the core's commands; ``sleep`` is injectable for tests."""

    def __init__(
        self,
        client: TelegramClient,
        context: CommandContext,
        settings: TelegramSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.context = context
        self.settings = settings
        self.sleep = sleep
        self.offsets = OffsetStore(Path(context.state_dir) / "offset.json", client.bot_id)
        self.offset = self.offsets.load()
        self._backoff = 0.0
        self._in_conflict = False

    def serve(self) -> None:
        """Poll until ``context.should_stop()``."""
        while not self.context.should_stop():
            self.context.idle()
            self.poll_once()

    def poll_once(self) -> int:
        """One getUpdates call and the handling of what it returned; the number of updates."""
        try:
            updates = self.client.get_updates(self.offset, timeout=self.settings.poll_timeout_seconds)
        except PollConflict as exc:
            if not self._in_conflict:
                log.error("%s; polling again every %gs", exc, self.settings.conflict_backoff_seconds)
            self._in_conflict = True
            self.sleep(self.settings.conflict_backoff_seconds)
            return 0
        except RateLimited as exc:
            log.info("%s", exc)
            self.sleep(exc.retry_after)
            return 0
        except DeliveryError as exc:
            if exc.permanent:
                raise ConfigError(str(exc)) from None
            self._backoff = min(max(self._backoff * 2, 1.0), self.settings.max_backoff_seconds)
            log.error("%s; polling again in %gs", exc, self._backoff)
            self.sleep(self._backoff)
            return 0
        if self._in_conflict:
            log.info("telegram getUpdates: the other poller is gone; serving commands again")
        self._in_conflict, self._backoff = False, 0.0
        for update in updates:
            update_id = update.get("update_id")
            if not isinstance(update_id, int):
                continue
            if self.offset is not None and update_id < self.offset:
                continue  # already handled (Telegram re-sent it)
            self._handle(update)
            self.offset = update_id + 1
            self.offsets.save(self.offset)
        return len(updates)

    def _handle(self, update: Mapping[str, Any]) -> None:
        request = request_from(update, self.context.channel)
        if request is None:
            return
        reply = self.context.handle(request)
        if reply is not None:
            self._send(request.chat_id, reply)

    def _send(self, chat_id: str, reply: CommandReply) -> None:
        try:
            if reply.document is not None:  # a file goes alone, its caption says what it is
                caption = escape((reply.caption or reply.text)[:MAX_CAPTION])
                self.client.send_document(chat_id, reply.document, caption=caption)
                return
            for part in split_plain(reply.text, MAX_MESSAGE - 16):
                self.client.send_message(chat_id, escape(part))
        except DeliveryError as exc:  # the command ran; only its answer is lost
            log.error("reply to chat %s not delivered: %s", chat_id, redact(exc))
