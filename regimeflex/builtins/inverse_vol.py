"""The ``inverse_vol`` sizer plugin: inverse-volatility weights, optionally to a volatility target.

Owns the plugin glue and parameters for :func:`regimeflex.risk.sizing.inverse_vol_weights`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from regimeflex.builtins.sizer_capabilities import capabilities  # noqa: F401  (the plugin's capabilities hookimpl)
from regimeflex.config.risk import SizingCaps
from regimeflex.hookspecs import hookimpl
from regimeflex.signals.params import read_params

if TYPE_CHECKING:  # pandas is imported by the hook that sizes, not by `plugins list` or `config show`
    import pandas as pd

    from regimeflex.types import Bars


class InverseVolParams(SizingCaps):
    """``sizer.params`` for ``inverse_vol``: the shared caps plus the volatility settings."""

    window: int = Field(20, ge=2, description="realised-volatility lookback in sessions")
    target_vol: float | None = Field(None, gt=0, le=2, description="annualised volatility target (None = fill equity)")


@hookimpl
def size_position(signals: pd.DataFrame, bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    from regimeflex.risk.sizing import inverse_vol_weights
    from regimeflex.signals.indicators import bar_field

    p = read_params(InverseVolParams, params, "risk.yaml: sizer.params")
    return inverse_vol_weights(signals, bar_field(bars, "close"), p, window=p.window, target_vol=p.target_vol)


@hookimpl
def settings_model() -> type[BaseModel]:
    return InverseVolParams
