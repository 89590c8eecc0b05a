"""``example_momentum``: long when the ``lookback``-session return is positive and volatility is calm.

signal(t) = +1 if close(t) / close(t − lookback) − 1 > 0 and the 20-session
volatility of daily returns at t is below ``max_vol``, else 0; NaN during
warm-up. Every input is a trailing window, so the value on date t uses bars
up to t only (the RegimeFlex conformance kit's ``strategy.no_lookahead/v2``
check proves it on real data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from regimeflex.api import hookimpl

#: The hook API this plugin is written for (docs/hooks.md).
REGIMEFLEX_HOOK_API = "1.1"

VOL_WINDOW = 20


class Params(BaseModel):
    """``params`` of an ``example_momentum`` instance in strategies.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lookback: int = Field(60, ge=2, description="sessions between the two closes compared")
    max_vol: float = Field(0.04, gt=0, description="daily volatility above which the signal is flat")


def momentum_signal(bars: pd.DataFrame, p: Params) -> pd.DataFrame:
    """The signal for every date and symbol of ``bars`` (pure function of trailing windows)."""
    if bars.shape[1] == 0:  # a universe with no symbols
        return pd.DataFrame(index=bars.index, dtype="float64")
    close = bars["close"]
    change = close / close.shift(p.lookback) - 1.0
    vol = close.pct_change(fill_method=None).rolling(VOL_WINDOW).std()
    ready = change.notna() & vol.notna()
    signal = np.where((change > 0) & (vol < p.max_vol), 1.0, 0.0)
    return pd.DataFrame(signal, index=close.index, columns=close.columns).where(ready)


@hookimpl
def generate_signal(bars: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    return momentum_signal(bars, Params.model_validate(dict(params)))


@hookimpl
def settings_model() -> type[BaseModel]:
    return Params


@hookimpl
def capabilities() -> Mapping[str, bool]:
    return {"supports_short": False}
