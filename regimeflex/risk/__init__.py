"""Risk layer: from signals to safe target weights.

Owns the built-in sizer plugins (equal weight, inverse volatility / volatility
target, fixed fractional, ATR risk per trade) and their caps, risk budgets
across strategies, regime scaling, circuit breakers (with persisted state),
and the trading-calendar guard (XNYS sessions, FOMC days, monthly OPEX).
Pure functions over frames; state is read and written through the caller.
"""
