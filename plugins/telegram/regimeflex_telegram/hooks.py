"""The ``telegram`` plugin's hook implementations (entry point ``telegram``).

Owns wiring: read the token and chat id from the environment, build the
client, send each formatted message part, then upload attached reports.
Missing secrets are a permanent :class:`DeliveryError` naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from regimeflex.api import (
    CommandContext,
    ConfigError,
    DeliveryError,
    Event,
    Level,
    NotifyContext,
    get_secret,
    hookimpl,
)
from regimeflex_telegram.client import TelegramClient
from regimeflex_telegram.config import TelegramSettings
from regimeflex_telegram.notifier import caption, format_messages

#: The hook API this plugin is written for (docs/hooks.md).
REGIMEFLEX_HOOK_API = "1.1"

#: Bot API upload limit for sendDocument.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


@hookimpl
def settings_model() -> type[BaseModel]:
    return TelegramSettings


@hookimpl
def required_env(settings: Mapping[str, Any]) -> list[str]:
    configured = TelegramSettings.model_validate(dict(settings))
    return [configured.token_env, configured.chat_id_env]


@hookimpl
def capabilities() -> dict[str, bool]:
    return {"needs_network": True, "supports_attachments": True}


def _secret(name: str, what: str) -> str:
    value = get_secret(name, needed_by="telegram")
    if not value:
        raise DeliveryError(f"telegram: {name} is not set; export the {what} (or put it in .env)", permanent=True)
    return value


def client_for(settings: TelegramSettings) -> TelegramClient:
    token = _secret(settings.token_env, "bot token from @BotFather")
    return TelegramClient(
        token,
        api_url=settings.api_url,
        timeout=settings.timeout_seconds,
        max_attempts=settings.max_attempts,
        max_retry_after=settings.max_retry_after,
        default_retry_after=settings.default_retry_after,
        token_env=settings.token_env,
        chat_env=settings.chat_id_env,
    )


def deliver(event: Event, settings: TelegramSettings, client: TelegramClient) -> None:
    chat_id = _secret(settings.chat_id_env, "chat id the bot should write to")
    quiet = settings.quiet_below_risk and Level.parse(event.level) < Level.RISK
    for text in format_messages(event):
        client.send_message(chat_id, text, quiet=quiet)
    if not settings.send_reports:
        return
    for raw in event.attachments:
        path = Path(raw)
        if path.is_file() and path.stat().st_size <= MAX_DOCUMENT_BYTES:
            client.send_document(chat_id, path, caption=caption(event), quiet=quiet)


@hookimpl
def notify(event: Event, context: NotifyContext) -> None:
    raw: Mapping[str, Any] = context.settings or {}
    settings = raw if isinstance(raw, TelegramSettings) else TelegramSettings.model_validate(dict(raw))
    client = client_for(settings)
    try:
        deliver(event, settings, client)
    finally:
        client.close()


@hookimpl
def serve_commands(context: CommandContext) -> None:
    """``regimeflex bot``: long-poll getUpdates and answer the core's commands (see bot.py)."""
    from regimeflex_telegram.bot import TelegramBot

    raw: Mapping[str, Any] = context.settings or {}
    settings = raw if isinstance(raw, TelegramSettings) else TelegramSettings.model_validate(dict(raw))
    if get_secret(settings.token_env, needed_by="telegram bot") is None:
        raise ConfigError(
            f"telegram: {settings.token_env} is not set; export the bot token from @BotFather (or put it in .env)"
        )
    client = client_for(settings)
    try:
        TelegramBot(client, context, settings).serve()
    finally:
        client.close()
