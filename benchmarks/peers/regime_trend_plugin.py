"""The peer benchmark's sleeve sizer as a RegimeFlex plugin (benchmark-only, not built in).

``regime_trend`` (strategy): +1 while close > SMA(fast) AND close > SMA(slow), else 0
(STRATEGY.md's rule), on the built-in ``sma``, which decides ``close > SMA`` ties on the exact
window mean (no tie guard needed any more).

``sleeve`` (sizer): the weight is the signal itself, i.e. 100 % of the symbol's own
sleeve while long. The peer convention is "independent 1/N sleeves, no cash sharing,
no rebalancing while long"; RegimeFlex expresses it as these weights with
``SimConfig(sleeves=True, rebalance="on_change")`` — every symbol gets its own account of
100,000/N and trades only when its target changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from regimeflex.api import sma
from regimeflex.hookspecs import hookimpl


class RegimeTrend:
    """Strategy plugin object (register an instance)."""

    @hookimpl
    def generate_signal(self, bars, params):
        close = bars["close"]
        c = close.to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            long = c > sma(close, int(params.get("fast", 50))).to_numpy()
            long &= c > sma(close, int(params.get("slow", 200))).to_numpy()
        return pd.DataFrame(long.astype("float64"), index=close.index, columns=close.columns, copy=False)


class Sleeve:
    """Sizer plugin object (register an instance)."""

    @hookimpl
    def size_position(self, signals, bars, params):
        return signals.fillna(0.0)
