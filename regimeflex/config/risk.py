"""risk.yaml: the sizer, position caps, regime scaling, circuit breakers, calendar guard."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from regimeflex.config.base import FrozenModel


class SizerSettings(FrozenModel):
    plugin: str = "equal_weight"
    params: dict[str, Any] = Field(default_factory=dict)


class RiskSettings(FrozenModel):
    sizer: SizerSettings = SizerSettings()
