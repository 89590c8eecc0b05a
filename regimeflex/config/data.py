"""data.yaml: which provider supplies bars, price adjustment, cache and validation policy."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from regimeflex.config.base import FrozenModel


class DataSettings(FrozenModel):
    provider: str = "synthetic"
    #: split/dividend-adjusted prices (True) or raw prints (False) — explicit, never guessed.
    adjusted: bool = True
    #: each provider's own section, validated by the provider plugin's settings_model()
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
