"""Backtest layer: the same strategy and sizer hooks over the whole history at once.

Owns the vectorised fill simulation (:mod:`.engine`: next-session open,
costs, rebalance frequency, breakers), the wiring from configuration to
result (:mod:`.api`: ``run``), the result frames and files (:mod:`.results`),
and distributed parameter sweeps and walk-forward tests on Dask
(:mod:`.sweep`). Public names: :func:`run`, :func:`simulate`,
:class:`SimConfig`, :class:`Costs`, :class:`Breakers`, :class:`BacktestResult`.
"""

from regimeflex.backtest.api import run
from regimeflex.backtest.engine import BreakerRule, Breakers, Costs, SimConfig, simulate
from regimeflex.backtest.results import BacktestResult, write_outputs

__all__ = ["BacktestResult", "BreakerRule", "Breakers", "Costs", "SimConfig", "run", "simulate", "write_outputs"]
