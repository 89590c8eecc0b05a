"""Execution layer: from target weights to orders, and from orders to fills.

Owns the order planner (weights × equity → whole-share orders with
deterministic client order ids), the simulated account shared by the
``paper`` broker plugin and the backtest replay, reconciliation of intents, broker orders and fills, and the kill switch.
Every broker call is preceded by a ledger intent and a kill-switch check.
"""
