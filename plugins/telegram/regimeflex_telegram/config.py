"""Settings of the Telegram notifier (``notify.channels.<name>.settings`` in run.yaml).

Owns the validated, frozen settings model. The bot token and chat id are
secrets and never live in YAML: the settings only name the environment
variables that hold them (``TELEGRAM_BOT_TOKEN`` and ``TELEGRAM_CHAT_ID`` by default).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class TelegramSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    token_env: str = "TELEGRAM_BOT_TOKEN"
    chat_id_env: str = "TELEGRAM_CHAT_ID"
    #: Bot API base URL; change it only for a local Bot API server (or in tests).
    api_url: str = "https://api.telegram.org"
    timeout_seconds: float = Field(default=10.0, gt=0)
    #: attempts per call when Telegram answers 429 (rate limited)
    max_attempts: int = Field(default=3, ge=1, le=10)
    #: the longest ``retry_after`` honoured; a longer wait drops the message (reported) instead of stalling
    max_retry_after: float = Field(default=60.0, ge=0)
    #: wait used when a 429 says neither ``parameters.retry_after`` nor "retry after N"
    default_retry_after: float = Field(default=5.0, ge=0)
    #: upload files in ``event.attachments`` (the HTML report) with sendDocument
    send_reports: bool = True
    #: deliver events below RISK without a sound (Telegram ``disable_notification``)
    quiet_below_risk: bool = True

    # ---- `regimeflex bot` (two-way control; see regimeflex_telegram/bot.py)
    #: long-poll wait of one getUpdates call (Telegram holds the request open until a message arrives)
    poll_timeout_seconds: int = Field(default=30, ge=0, le=50)
    #: wait after a 409 Conflict (another poller uses this token) before polling again
    conflict_backoff_seconds: float = Field(default=15.0, ge=0)
    #: longest wait between polls after network errors (the wait doubles from 1 s up to this)
    max_backoff_seconds: float = Field(default=60.0, gt=0)

    @field_validator("api_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"must start with https:// (or http:// for a local server), got {value!r}")
        return value.rstrip("/")
