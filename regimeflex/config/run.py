"""run.yaml: the universe, where files live, logging and notification channels."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import Field, field_validator

from regimeflex.config.backtest import BacktestSettings
from regimeflex.config.base import FrozenModel, NonNegative, Positive, Symbol

LevelName = Literal["INFO", "SUCCESS", "RISK", "ERROR"]


class Paths(FrozenModel):
    """Where RegimeFlex keeps its files; relative paths resolve against the project root
    (the parent of the config directory), so cron's working directory does not matter."""

    cache_dir: str = "data/cache"
    ledger: str = "logs/audit/ledger.jsonl"
    reports_dir: str = "reports"
    state_dir: str = "state"
    kill_switch: str = "config/kill_switch.flag"


class LogSettings(FrozenModel):
    level: Literal["DEBUG", "INFO", "SUCCESS", "RISK", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class ChannelSettings(FrozenModel):
    """One notification channel; ``plugin`` defaults to the channel's name."""

    plugin: str | None = None
    min_level: LevelName = "INFO"
    rate_per_minute: Positive = 20.0
    burst: int = Field(default=5, ge=1)
    dedup_seconds: NonNegative = 300.0
    timeout_seconds: Positive = 10.0
    settings: dict[str, Any] = Field(default_factory=dict)


class NotifySettings(FrozenModel):
    channels: dict[str, ChannelSettings] = Field(default_factory=lambda: {"console": ChannelSettings()})


def _ids(values: Any) -> Any:
    if not isinstance(values, list):
        return values  # pydantic reports the wrong type
    if any(isinstance(v, (bool, float)) or not isinstance(v, (int, str)) for v in values):
        raise ValueError("ids must be whole numbers (Telegram) or strings")
    cleaned = [str(v).strip() for v in values]
    if any(not v for v in cleaned):
        raise ValueError("an empty id; list chat and user ids as numbers (Telegram) or strings")
    return cleaned


class BotSettings(FrozenModel):
    """``regimeflex bot``: chat control through a notifier plugin that serves commands.

    Only a message whose chat id is in ``allowed_chat_ids`` *and* whose sender's
    user id is in ``allowed_user_ids`` is a command; everything else is ignored,
    rate-limited and recorded. Empty lists (the default) mean nobody may command,
    and ``regimeflex bot`` refuses to start.
    """

    #: the notify channel (``notify.channels.<name>``) whose plugin serves commands
    channel: str | None = None
    allowed_chat_ids: list[str] = Field(default_factory=list)
    allowed_user_ids: list[str] = Field(default_factory=list)
    #: how long the one-time code of ``/resume`` stays valid
    resume_code_seconds: Positive = 60.0
    #: commands older than this (queued while the bot was down) are refused, not run
    max_command_age_seconds: Positive = 300.0
    #: at most this many ignored messages are logged and recorded per minute (the rest are counted)
    rejected_records_per_minute: int = Field(default=6, ge=1)

    @field_validator("allowed_chat_ids", "allowed_user_ids", mode="before")
    @classmethod
    def _text_ids(cls, values: Any) -> Any:
        return _ids(values)


class RunSettings(FrozenModel):
    universe: list[Symbol] = Field(min_length=1)
    benchmark: Symbol = "SPY"
    history_sessions: int = Field(default=300, ge=20)
    initial_equity: Positive = 100_000.0
    paths: Paths = Paths()
    log: LogSettings = LogSettings()
    notify: NotifySettings = NotifySettings()
    backtest: BacktestSettings = BacktestSettings()
    bot: BotSettings = BotSettings()

    @field_validator("universe")
    @classmethod
    def _unique(cls, symbols: list[str]) -> list[str]:
        dupes = sorted(s for s, n in Counter(symbols).items() if n > 1)  # one pass: universes of 5,000+ names
        if dupes:
            raise ValueError(f"symbol listed twice: {', '.join(dupes)}")
        return symbols
