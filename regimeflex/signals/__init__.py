"""Signal layer: indicators and bull/bear regime detection.

Owns pure, vectorised functions over dates × symbols frames: indicators
(SMA, EMA, RSI, ATR, Bollinger, z-score, volatility, drawdown), the regime
classifier and strategy parameter reading. The ``trend``, ``mean_reversion``
and ``regime`` strategy plugins built on them live in
:mod:`regimeflex.builtins`. No I/O, no account state: a signal on date *t*
uses bars up to *t*.
"""
