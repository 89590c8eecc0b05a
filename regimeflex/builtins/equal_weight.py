"""The ``equal_weight`` sizer plugin: every held name gets the same share of equity.

Owns the plugin glue for :func:`regimeflex.risk.sizing.equal_weights`. A
signal's magnitude scales its share (a 0.5 signal gets half a slot); the
shared caps (max weight, max gross, cash buffer, max names) apply last.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from regimeflex.builtins.sizer_capabilities import capabilities  # noqa: F401  (the plugin's capabilities hookimpl)
from regimeflex.config.risk import SizingCaps
from regimeflex.hookspecs import hookimpl
from regimeflex.signals.params import read_params

if TYPE_CHECKING:  # pandas is imported by the hook that sizes, not by `plugins list` or `config show`
    import pandas as pd

    from regimeflex.types import Bars


class EqualWeightParams(SizingCaps):
    """``sizer.params`` for ``equal_weight``: only the shared caps."""


@hookimpl
def size_position(signals: pd.DataFrame, bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    from regimeflex.risk.sizing import equal_weights

    return equal_weights(signals, read_params(EqualWeightParams, params, "risk.yaml: sizer.params"))


@hookimpl
def settings_model() -> type[BaseModel]:
    return EqualWeightParams
