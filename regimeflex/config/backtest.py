"""run.yaml ``backtest:`` section: the period, starting cash, costs, fills and rebalance rule of a backtest.

Owned by the backtest layer (:mod:`regimeflex.backtest`). Everything else a
backtest uses — universe, strategies, sizer, regime scaling, calendar guard,
the equity circuit breakers of risk.yaml, data provider — is the same
configuration the daily run reads, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from regimeflex.config.base import Fraction, FrozenModel, NonNegative, Positive


class CostSettings(FrozenModel):
    """Trading costs: commission per share (currency), commission and slippage in basis points."""

    commission_per_share: NonNegative = 0.0
    commission_bps: NonNegative = 0.0
    slippage_bps: NonNegative = 0.0


class BacktestSettings(FrozenModel):
    """``backtest:`` in run.yaml. ``start``/``end`` default to the last ten years up to the last session."""

    start: date | None = None
    end: date | None = None
    #: sessions of history loaded before ``start`` so indicators are warm on day one
    warmup_sessions: int = Field(default=300, ge=0)
    #: starting cash; defaults to run.yaml ``initial_equity``
    initial_cash: Positive | None = None
    fill: Literal["next_open", "next_close"] = "next_open"
    rebalance: Literal["daily", "weekly", "monthly", "on_change"] = "daily"
    #: skip trades smaller than this fraction of equity (no churn), as the order planner does
    min_trade_weight: Fraction = 0.0
    fractional: bool = True
    costs: CostSettings = CostSettings()
    #: engine: the vectorised fill simulation; planner: replay the daily run's order path session by
    #: session (broker.yaml's order rules, the paper broker's fills; fill, rebalance, min_trade_weight,
    #: fractional and costs above then do not apply) — see regimeflex.backtest.replay
    execution: Literal["engine", "planner"] = "engine"
    #: apply risk.yaml's equity breakers (max_drawdown, daily_loss) as the daily run does
    breakers: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> BacktestSettings:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start must not be after end, got start={self.start} end={self.end}")
        return self
