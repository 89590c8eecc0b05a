"""The ``mean_reversion`` strategy plugin: fade stretched prices back to their average.

Owns the rolling z-score rules and their parameters. On each date, for every
symbol at once (vector operations across symbols, one pass over dates):

* **entry** — flat and the z-score of the close over ``window`` sessions is
  below −``entry_z`` → long (+1); above +``entry_z`` → short (−1) when
  ``allow_short``. No entry on a date the symbol exited, nor beyond ``stop_z``;
* **exit** — a long exits once z is back above −``exit_z`` (a short once
  below +``exit_z``);
* **time stop** — exit after ``max_hold_days`` sessions held;
* **stop** — exit when z stretches beyond ``stop_z`` against the position.

After a time stop or a stop the symbol is *disarmed* until its z-score comes
back inside ±``entry_z``, so a stopped trade is not re-entered the next
morning on the same stretch. A session without a price keeps the position
(nothing can be decided without a price). Rows before a symbol's first
z-score are NaN (warm-up). Registered as the ``mean_reversion`` entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regimeflex.hookspecs import hookimpl
from regimeflex.signals.params import read_params

if TYPE_CHECKING:  # the signal functions import numpy/pandas when called, not when `plugins list` loads the plugin
    import numpy as np
    import pandas as pd

    from regimeflex.types import Bars


class MeanReversionParams(BaseModel):
    """``params`` of a ``mean_reversion`` strategy instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(20, ge=2, description="z-score lookback in sessions")
    entry_z: float = Field(2.0, gt=0, description="enter when |z| exceeds this")
    exit_z: float = Field(0.5, ge=0, description="exit when |z| is back inside this")
    max_hold_days: int | None = Field(10, ge=1, description="time stop in sessions (None = no time stop)")
    stop_z: float | None = Field(None, gt=0, description="stop out when |z| exceeds this against the position")
    allow_short: bool = False

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> MeanReversionParams:
        if self.exit_z >= self.entry_z:
            raise ValueError(f"exit_z must be below entry_z, got exit_z={self.exit_z} entry_z={self.entry_z}")
        if self.stop_z is not None and self.stop_z <= self.entry_z:
            raise ValueError(f"stop_z must be above entry_z, got stop_z={self.stop_z} entry_z={self.entry_z}")
        return self


def run_mean_reversion(z: np.ndarray, p: MeanReversionParams) -> np.ndarray:
    """The position (+1 / 0 / −1) after each date, given the z-score panel (dates × symbols).

    One pass over dates; every step is a vector operation across all symbols.
    """
    import numpy as np

    n_dates, n_symbols = z.shape
    stop = np.inf if p.stop_z is None else p.stop_z
    max_hold = np.inf if p.max_hold_days is None else p.max_hold_days
    # Every comparison with z is made once for the whole panel (NaN compares False,
    # so an unknown z neither exits nor enters); the loop only combines booleans.
    with np.errstate(invalid="ignore"):
        long_reverted, short_reverted = z > -p.exit_z, z < p.exit_z
        long_stopped, short_stopped = z < -stop, z > stop
        rearm = np.abs(z) < p.entry_z
        may_enter = np.abs(z) <= stop
        long_zone = may_enter & (z < -p.entry_z)
        short_zone = may_enter & (z > p.entry_z) & p.allow_short
    out = np.empty_like(z)
    position = np.zeros(n_symbols)
    held = np.zeros(n_symbols)
    armed = np.ones(n_symbols, dtype=bool)
    for t in range(n_dates):
        long, short = position > 0, position < 0
        in_trade = long | short
        held = np.where(in_trade, held + 1, 0.0)
        stopped = (long & long_stopped[t]) | (short & short_stopped[t])
        timed_out = in_trade & (held >= max_hold)
        exiting = (long & long_reverted[t]) | (short & short_reverted[t]) | stopped | timed_out
        armed = (armed & ~(stopped | timed_out)) | rearm[t]
        flat = ~in_trade & ~exiting & armed
        enter_long, enter_short = flat & long_zone[t], flat & short_zone[t]
        position = np.where(exiting, 0.0, position)
        position = np.where(enter_long, 1.0, np.where(enter_short, -1.0, position))
        held = np.where(enter_long | enter_short | exiting, 0.0, held)
        out[t] = position
    warm = np.cumsum(~np.isnan(z), axis=0) == 0
    out[warm] = np.nan
    return out


def mean_reversion_signal(bars: Bars, params: Mapping[str, Any] | MeanReversionParams | None = None) -> pd.DataFrame:
    """The mean-reversion signal for every date and symbol of ``bars`` (pure function)."""
    import pandas as pd

    from regimeflex.signals.indicators import bar_field, zscore

    p = read_params(MeanReversionParams, params, "strategies.yaml: mean_reversion params")
    close = bar_field(bars, "close")
    z = zscore(close, p.window).to_numpy(dtype="float64")
    return pd.DataFrame(run_mean_reversion(z, p), index=close.index, columns=close.columns)


@hookimpl
def generate_signal(bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    return mean_reversion_signal(bars, params)


def mean_reversion_lines(
    bars: Bars, params: Mapping[str, Any] | MeanReversionParams | None = None
) -> dict[str, pd.DataFrame]:
    """The z-score thresholds as prices: the rolling mean and ``mean − entry_z·σ`` (``+`` too when shorting)."""
    from regimeflex.signals.indicators import bar_field

    p = read_params(MeanReversionParams, params, "strategies.yaml: mean_reversion params")
    close = bar_field(bars, "close")
    rolling = close.rolling(p.window, min_periods=p.window)
    mean, std = rolling.mean(), rolling.std(ddof=0)
    lines = {f"mean {p.window}": mean, f"entry −{p.entry_z:g}σ": mean - p.entry_z * std}
    if p.allow_short:
        lines[f"entry +{p.entry_z:g}σ"] = mean + p.entry_z * std
    return lines


@hookimpl
def indicator_lines(bars: Bars, params: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    return mean_reversion_lines(bars, params)


@hookimpl
def settings_model() -> type[BaseModel]:
    return MeanReversionParams
