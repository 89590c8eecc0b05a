"""strategies.yaml: named strategy instances, each a plugin with parameters and a risk budget."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from regimeflex.config.base import FrozenModel, Fraction


class StrategyInstance(FrozenModel):
    plugin: str
    budget: Fraction = 1.0
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)


class StrategiesSettings(FrozenModel):
    strategies: dict[str, StrategyInstance] = Field(
        default_factory=lambda: {"trend": StrategyInstance(plugin="trend")}
    )

    @model_validator(mode="after")
    def _budgets_fit(self) -> StrategiesSettings:
        enabled = {n: s for n, s in self.strategies.items() if s.enabled}
        if not enabled:
            raise ValueError("at least one enabled strategy is required")
        total = sum(s.budget for s in enabled.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"budgets of enabled strategies must sum to at most 1, got {total:g}")
        return self
