"""broker.yaml: which broker executes, in which mode (dry_run by default), order style."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from regimeflex.config.base import FrozenModel


class BrokerSettings(FrozenModel):
    broker: str = "paper"
    #: dry_run plans and records orders but sends nothing; live also needs --live on the CLI.
    mode: Literal["dry_run", "paper", "live"] = "dry_run"
    #: each broker's own section, validated by the broker plugin's settings_model()
    brokers: dict[str, dict[str, Any]] = Field(default_factory=dict)
