"""The ``trend`` strategy plugin: long (optionally short) while a trend rule holds.

Owns the trend-following rule and its parameters. Two rules, chosen by
``rule`` in the strategy instance's ``params`` (strategies.yaml):

* ``crossover`` — +1 while SMA(``fast``) is above SMA(``slow``), −1 below it
  when ``allow_short`` (else 0);
* ``price_above_sma`` — +1 while the close is above SMA(``slow``), −1 below it
  when ``allow_short`` (else 0);
* ``price_above_both`` — +1 while the close is above SMA(``fast``) AND above
  SMA(``slow``), −1 while it is below both when ``allow_short`` (else 0): the
  peer benchmark's "regime-trend" (benchmarks/peers/STRATEGY.md).

Comparisons are strict, and a close exactly equal to its SMA is neither above
nor below it (the built-in ``sma`` decides such ties on the exact window mean).

Rows before the slow average exists are NaN (warm-up). The value on date *t*
uses closes up to *t* only. Registered as the ``trend`` entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regimeflex.hookspecs import hookimpl
from regimeflex.signals.params import read_params

if TYPE_CHECKING:  # the signal functions import pandas when called, not when `plugins list` loads the plugin
    import numpy as np
    import pandas as pd

    from regimeflex.types import Bars


class TrendParams(BaseModel):
    """``params`` of a ``trend`` strategy instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["crossover", "price_above_sma", "price_above_both"] = "crossover"
    fast: int = Field(50, ge=1, description="fast SMA window (crossover and price_above_both)")
    slow: int = Field(200, ge=2, description="slow SMA window (every rule)")
    allow_short: bool = False

    @model_validator(mode="after")
    def _fast_below_slow(self) -> TrendParams:
        if self.rule in ("crossover", "price_above_both") and self.fast >= self.slow:
            raise ValueError(f"fast must be below slow, got fast={self.fast} slow={self.slow}")
        return self


def direction(above: np.ndarray, below: np.ndarray, unready: np.ndarray, allow_short: bool) -> np.ndarray:
    """+1 where ``above``, −1 (or 0 when shorts are off) where ``below``, 0 otherwise, NaN where ``unready``
    (bool arrays of one shape; ``above`` and ``below`` never both hold). The result has their memory order."""
    import numpy as np

    values = above.astype(np.float64)
    if allow_short:
        np.subtract(values, below, out=values)
    np.copyto(values, np.nan, where=unready)
    return values


def trend_signal(bars: Bars, params: Mapping[str, Any] | TrendParams | None = None) -> pd.DataFrame:
    """The trend signal for every date and symbol of ``bars`` (pure function)."""
    import numpy as np
    import pandas as pd

    from regimeflex.signals.indicators import bar_field, sma

    p = read_params(TrendParams, params, "strategies.yaml: trend params")
    close = bar_field(bars, "close")
    # numpy on the frames' arrays (pandas' own layout, no copies): comparisons with NaN are False
    price = close.to_numpy(dtype="float64")
    slow = sma(close, p.slow).to_numpy()
    with np.errstate(invalid="ignore"):
        if p.rule == "price_above_both":
            fast = sma(close, p.fast).to_numpy()
            above = (price > fast) & (price > slow)
            below = (price < fast) & (price < slow)
            unready = np.isnan(slow) | np.isnan(fast) | np.isnan(price)
        else:
            lead = sma(close, p.fast).to_numpy() if p.rule == "crossover" else price
            above, below = lead > slow, lead < slow
            unready = np.isnan(slow) | np.isnan(lead)
    values = direction(above, below, unready, p.allow_short)
    return pd.DataFrame(values, index=close.index, columns=close.columns, copy=False)


@hookimpl
def generate_signal(bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    return trend_signal(bars, params)


def trend_lines(bars: Bars, params: Mapping[str, Any] | TrendParams | None = None) -> dict[str, pd.DataFrame]:
    """The averages the rule compares the price with: SMA(fast) and SMA(slow) for ``crossover`` and
    ``price_above_both``, SMA(slow) for ``price_above_sma``."""
    from regimeflex.signals.indicators import bar_field, sma

    p = read_params(TrendParams, params, "strategies.yaml: trend params")
    close = bar_field(bars, "close")
    lines = {f"SMA {p.fast}": sma(close, p.fast)} if p.rule != "price_above_sma" else {}
    lines[f"SMA {p.slow}"] = sma(close, p.slow)
    return lines


@hookimpl
def indicator_lines(bars: Bars, params: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    return trend_lines(bars, params)


@hookimpl
def settings_model() -> type[BaseModel]:
    return TrendParams


@hookimpl
def capabilities() -> dict[str, bool]:
    # per_symbol: a symbol's signal depends on its own bars only, so a backtest may run it in chunks of symbols
    return {"per_symbol": True}
