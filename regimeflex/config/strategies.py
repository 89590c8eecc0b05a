"""strategies.yaml: named strategy instances, each a plugin with parameters and a risk budget.

Owns the models of strategies.yaml. An instance name appears in logs, the
ledger and reports, so it is a short identifier (letters, digits, ``_``,
``-``); the same plugin may run as several instances with different
``params`` (e.g. ``trend_fast`` and ``trend_slow``). ``budget`` is the
fraction of capital the instance's signal commands when signals are combined
(:func:`regimeflex.risk.budgets.combine_signals`); enabled budgets sum to at
most 1. ``params`` are validated by the plugin's own ``settings_model``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from regimeflex.config.base import Fraction, FrozenModel

#: What a strategy instance may be called (it ends up in logs, ledger lines and reports).
INSTANCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


class StrategyInstance(FrozenModel):
    plugin: str
    budget: Fraction = 1.0
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)


class StrategiesSettings(FrozenModel):
    strategies: dict[str, StrategyInstance] = Field(default_factory=lambda: {"trend": StrategyInstance(plugin="trend")})

    @field_validator("strategies")
    @classmethod
    def _names_are_identifiers(cls, strategies: dict[str, StrategyInstance]) -> dict[str, StrategyInstance]:
        for name in strategies:
            if not INSTANCE_NAME.fullmatch(name):
                raise ValueError(f"instance name {name!r} must be 1-32 letters, digits, _ or -, starting with a letter")
        return strategies

    @model_validator(mode="after")
    def _budgets_fit(self) -> StrategiesSettings:
        enabled = {n: s for n, s in self.strategies.items() if s.enabled}
        if not enabled:
            raise ValueError("at least one enabled strategy is required")
        total = sum(s.budget for s in enabled.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"budgets of enabled strategies must sum to at most 1, got {total:g}")
        return self
