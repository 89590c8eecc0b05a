"""run.yaml: the universe, where files live, logging and notification channels."""

from __future__ import annotations

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


class RunSettings(FrozenModel):
    universe: list[Symbol] = Field(min_length=1)
    benchmark: Symbol = "SPY"
    history_sessions: int = Field(default=300, ge=20)
    initial_equity: Positive = 100_000.0
    paths: Paths = Paths()
    log: LogSettings = LogSettings()
    notify: NotifySettings = NotifySettings()
    backtest: BacktestSettings = BacktestSettings()

    @field_validator("universe")
    @classmethod
    def _unique(cls, symbols: list[str]) -> list[str]:
        dupes = sorted({s for s in symbols if symbols.count(s) > 1})
        if dupes:
            raise ValueError(f"symbol listed twice: {', '.join(dupes)}")
        return symbols
