"""Backtest layer: the same strategy and sizer hooks over the whole history at once.

Owns the vectorised fill simulation (next-session open, costs, rebalance
frequency, breakers), portfolio metrics, multi-strategy risk budgets,
deterministic outputs, and distributed parameter sweeps on Dask.
"""
