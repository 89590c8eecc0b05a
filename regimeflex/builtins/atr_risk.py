"""The ``atr_risk`` sizer plugin: risk a fixed fraction of equity per trade against an ATR stop.

Owns the plugin glue and parameters for :func:`regimeflex.risk.sizing.atr_risk_weights`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from regimeflex.builtins.sizer_capabilities import capabilities  # noqa: F401  (the plugin's capabilities hookimpl)
from regimeflex.hookspecs import hookimpl
from regimeflex.risk.sizing import SizingCaps, atr_risk_weights
from regimeflex.signals.params import read_params
from regimeflex.types import Bars


class AtrRiskParams(SizingCaps):
    """``sizer.params`` for ``atr_risk``: the shared caps plus risk per trade and the ATR stop."""

    risk_per_trade: float = Field(0.01, gt=0, le=0.2, description="fraction of equity lost if the stop is hit")
    atr_window: int = Field(14, ge=1, description="ATR lookback in sessions")
    atr_multiple: float = Field(2.0, gt=0, description="stop distance in ATRs")


@hookimpl
def size_position(signals: pd.DataFrame, bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    p = read_params(AtrRiskParams, params, "risk.yaml: sizer.params")
    return atr_risk_weights(signals, bars, p, p.risk_per_trade, p.atr_window, p.atr_multiple)


@hookimpl
def settings_model() -> type[BaseModel]:
    return AtrRiskParams
