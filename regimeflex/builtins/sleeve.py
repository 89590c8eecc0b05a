"""The ``sleeve`` sizer plugin: the weight is the signal itself, for books of independent sleeves.

With run.yaml ``backtest.sleeves: true`` every symbol has its own account, and a
weight is a fraction of that symbol's sleeve: a signal of +1 puts the whole
sleeve in the symbol, 0 keeps it in cash. The weight of a symbol depends on that
symbol's signal alone (no caps across names), so the plugin declares
``per_symbol`` and a backtest may run it in chunks of symbols
(``backtest.chunk_symbols``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from regimeflex.hookspecs import hookimpl
from regimeflex.signals.params import read_params

if TYPE_CHECKING:  # frames arrive with the hook call; loading the plugin needs no pandas
    import pandas as pd

    from regimeflex.types import Bars


class SleeveParams(BaseModel):
    """``sizer.params`` for ``sleeve``: none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@hookimpl
def size_position(signals: pd.DataFrame, bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    read_params(SleeveParams, params, "risk.yaml: sizer.params")
    weights = np.clip(signals.to_numpy(dtype="float64", na_value=np.nan), -1.0, 1.0)  # a new array, ours
    np.copyto(weights, 0.0, where=np.isnan(weights))  # no signal: no position
    return pd.DataFrame(weights, index=signals.index, columns=signals.columns, copy=False)


@hookimpl
def settings_model() -> type[BaseModel]:
    return SleeveParams


@hookimpl
def capabilities() -> dict[str, bool]:
    # per_symbol: a symbol's weight depends on its own signal only (chunkable); shorts follow the signal's sign
    return {"per_symbol": True, "supports_short": True}
