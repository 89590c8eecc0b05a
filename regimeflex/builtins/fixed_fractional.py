"""The ``fixed_fractional`` sizer plugin: the same fixed fraction of equity in every held name.

Owns the plugin glue and parameters for :func:`regimeflex.risk.sizing.fixed_fractional_weights`.
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


class FixedFractionalParams(SizingCaps):
    """``sizer.params`` for ``fixed_fractional``: the shared caps plus the fraction per name."""

    fraction: float = Field(0.05, gt=0, le=1, description="fraction of equity per held name")


@hookimpl
def size_position(signals: pd.DataFrame, bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    from regimeflex.risk.sizing import fixed_fractional_weights

    p = read_params(FixedFractionalParams, params, "risk.yaml: sizer.params")
    return fixed_fractional_weights(signals, p, p.fraction)


@hookimpl
def settings_model() -> type[BaseModel]:
    return FixedFractionalParams
