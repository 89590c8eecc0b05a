"""run.yaml ``backtest:`` section: the period, starting cash and execution rules of a backtest.

Owned by the backtest layer (:mod:`regimeflex.backtest`). Everything else a
backtest uses — universe, strategies, sizer, regime scaling, calendar guard,
the circuit breakers of risk.yaml, broker.yaml's order rules and costs, data
provider — is the same configuration the daily run reads, so the two cannot
drift apart.

``mode: daily`` (the default) trades with the daily run's rules: the order
planner (whole shares unless the broker declares fractional, the no-churn
threshold, the minimum order value, buying power), the paper broker's fills
and costs from broker.yaml, and every circuit breaker of risk.yaml.
``mode: research`` keeps the idealised vectorised fills (fractional shares,
the ``costs``/``fill``/``rebalance``/``min_trade_weight``/``fractional`` keys
below) for fast research; those keys apply to research mode only.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from regimeflex.config.base import Fraction, FrozenModel, NonNegative, Positive

#: keys that describe the idealised fills of ``mode: research`` (the daily rules come from broker.yaml)
RESEARCH_KEYS = ("fill", "rebalance", "min_trade_weight", "fractional", "costs", "sleeves", "chunk_symbols")


class CostSettings(FrozenModel):
    """Trading costs: commission per share (currency), commission and slippage in basis points."""

    commission_per_share: NonNegative = 0.0
    commission_bps: NonNegative = 0.0
    slippage_bps: NonNegative = 0.0


class BacktestSettings(FrozenModel):
    """``backtest:`` in run.yaml. ``start``/``end`` default to the last ten years up to the last session."""

    start: date | None = None
    end: date | None = None
    #: daily: the daily run's execution rules (planner, paper fills, broker.yaml costs, breakers);
    #: research: idealised vectorised fills configured by the research keys below
    mode: Literal["daily", "research"] = "daily"
    #: sessions of history loaded before ``start`` so indicators are warm on day one
    warmup_sessions: int = Field(default=300, ge=0)
    #: starting cash; defaults to run.yaml ``initial_equity`` (daily mode: broker.yaml brokers.paper.initial_cash first)
    initial_cash: Positive | None = None
    #: research only: fill each decision at the next session's open or close
    fill: Literal["next_open", "next_close"] = "next_open"
    #: research only: when the book is reset to its targets
    rebalance: Literal["daily", "weekly", "monthly", "on_change"] = "daily"
    #: research only: skip trades smaller than this fraction of equity
    min_trade_weight: Fraction = 0.0
    #: research only: fractional shares
    fractional: bool = True
    #: research only: commission and slippage (daily mode: broker.yaml brokers.paper)
    costs: CostSettings = CostSettings()
    #: research only: every symbol is its own account holding initial_cash / number of symbols (no cash
    #: sharing); a weight is a fraction of that sleeve's equity
    sleeves: bool = False
    #: research only, with sleeves: backtest this many symbols at a time, streaming each chunk's bars from
    #: the cache, so memory is bounded by the chunk, not the universe (docs/backtest.md: the chunking rule)
    chunk_symbols: int | None = Field(default=None, ge=1)
    #: apply risk.yaml's circuit breakers (daily: all of them, as the daily run does;
    #: research: the equity ones, max_drawdown and daily_loss)
    breakers: bool = True
    #: when the benchmark or a regime input does not cover the period: false = pre-flight error,
    #: true = shorten the backtest to the sessions every one of them covers (said in the notes)
    shorten_to_coverage: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> BacktestSettings:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start must not be after end, got start={self.start} end={self.end}")
        if self.chunk_symbols is not None and self.mode == "research" and not self.sleeves:
            raise ValueError(
                "chunk_symbols needs sleeves: true (independent per-symbol accounts); a shared book's cash "
                "couples every symbol, so it cannot be split into chunks — set sleeves: true or remove chunk_symbols"
            )
        if self.mode == "daily":
            fields = type(self).model_fields
            given = [k for k in RESEARCH_KEYS if getattr(self, k) != fields[k].get_default(call_default_factory=True)]
            if given:
                raise ValueError(
                    f"{', '.join(given)} apply to mode: research only; mode: daily (the default) trades with "
                    f"broker.yaml's order rules and brokers.paper costs — set mode: research or remove "
                    f"{'them' if len(given) > 1 else 'it'}"
                )
        return self
