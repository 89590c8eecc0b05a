"""The ``atr_risk`` sizer plugin: risk a fixed fraction of equity per trade against a stop.

Owns the plugin glue and parameters for :func:`regimeflex.risk.sizing.atr_risk_weights`.
Which stop distance it sizes from:

* risk.yaml ``stops.kind: atr`` — the stop the run places: ``stops.atr_multiple`` ×
  ATR(``stops.atr_window``), not the sizer's own ``atr_multiple``/``atr_window``;
* ``stops.kind: fixed`` or ``trailing`` — ``stops.pct`` × the close (the initial distance)
  (:func:`regimeflex.risk.sizing.pct_stop_weights`);
* ``stops.kind: none`` — no stop is placed: its own ``atr_multiple`` × ATR(``atr_window``), an assumed stop.

The run hands risk.yaml's ``stops:`` section in as ``params["stops"]`` (a sizer whose settings
model has a ``stops`` field receives it; see the ``size_position`` hook).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from regimeflex.builtins.sizer_capabilities import capabilities  # noqa: F401  (the plugin's capabilities hookimpl)
from regimeflex.config.risk import SizingCaps
from regimeflex.hookspecs import hookimpl
from regimeflex.signals.params import read_params

if TYPE_CHECKING:  # pandas is imported by the hook that sizes, not by `plugins list` or `config show`
    import pandas as pd

    from regimeflex.types import Bars


class PlacedStop(BaseModel):
    """risk.yaml ``stops:`` as the run hands it to the sizer (the keys the sizing needs)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str = "none"
    pct: float = Field(0.08, gt=0, lt=1)
    atr_multiple: float = Field(3.0, gt=0)
    atr_window: int = Field(14, ge=1)


class AtrRiskParams(SizingCaps):
    """``sizer.params`` for ``atr_risk``: the shared caps plus risk per trade and the ATR stop."""

    risk_per_trade: float = Field(0.01, gt=0, le=0.2, description="fraction of equity lost if the stop is hit")
    atr_window: int = Field(14, ge=1, description="ATR lookback in sessions (used when risk.yaml stops is none)")
    atr_multiple: float = Field(2.0, gt=0, description="stop distance in ATRs (used when risk.yaml stops is none)")
    stops: PlacedStop | None = Field(
        None, description="risk.yaml stops: (filled in by the run): atr/fixed/trailing size from that stop's distance"
    )


@hookimpl
def size_position(signals: pd.DataFrame, bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    from regimeflex.risk.sizing import atr_risk_weights, pct_stop_weights

    p = read_params(AtrRiskParams, params, "risk.yaml: sizer.params")
    placed = p.stops
    if placed is not None and placed.kind == "atr":  # the stop the run places, not an assumed one
        return atr_risk_weights(signals, bars, p, p.risk_per_trade, placed.atr_window, placed.atr_multiple)
    if placed is not None and placed.kind in ("fixed", "trailing"):
        return pct_stop_weights(signals, bars, p, p.risk_per_trade, placed.pct)
    return atr_risk_weights(signals, bars, p, p.risk_per_trade, p.atr_window, p.atr_multiple)


@hookimpl
def settings_model() -> type[BaseModel]:
    return AtrRiskParams
