"""Signal layer: indicators, bull/bear regime detection and the built-in strategies.

Owns pure, vectorised functions over dates × symbols frames: indicators
(SMA, EMA, RSI, ATR, Bollinger, z-score, volatility, drawdown), the regime
classifier, and the ``trend``, ``mean_reversion`` and ``regime`` strategy
plugins. No I/O, no account state: a signal on date *t* uses bars up to *t*.
"""
