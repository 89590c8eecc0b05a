"""Risk layer: from signals to safe target weights.

Owns the sizing formulas (equal weight, inverse volatility / volatility
target, fixed fractional, ATR risk per trade) and their caps — the sizer
plugins that call them live in :mod:`regimeflex.builtins` — risk budgets
across strategies, regime scaling, circuit breakers (with persisted state),
and the trading-calendar guard (XNYS sessions, FOMC days, monthly OPEX).
Pure functions over frames; state is read and written through the caller.
"""
