"""The ``regime`` composite strategy plugin: trend in a bull market, mean reversion in a bear.

Owns the composite's parameters and :func:`regime_signal`. It reads the
market regime from the benchmark in the bars (:func:`detect_regime`, with
the VIX closes when ``vix_symbol`` names a column of the bars), runs the
built-in ``trend`` and ``mean_reversion`` rules over the whole panel, and on
each date blends them with that date's weights from ``weights``
(regime → {member: weight}); the blend is clipped to [−1, 1]. A member with
weight 0 in the day's regime does not matter that day, even in its warm-up;
dates before the regime is known are NaN. Registered as the ``regime`` entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from regimeflex.api import Symbol
from regimeflex.builtins.mean_reversion import MeanReversionParams, mean_reversion_signal
from regimeflex.builtins.trend import TrendParams, trend_signal
from regimeflex.config.risk import RegimeSettings
from regimeflex.errors import ConfigError
from regimeflex.hookspecs import hookimpl
from regimeflex.signals.params import read_params

if TYPE_CHECKING:  # the signal functions import numpy/pandas when called, not when `plugins list` loads the plugin
    import pandas as pd

    from regimeflex.types import Bars

Member = Literal["trend", "mean_reversion"]
RegimeName = Literal["bear", "neutral", "bull"]

WHERE = "strategies.yaml: regime params"


class RegimeStrategyParams(BaseModel):
    """``params`` of a ``regime`` strategy instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regime: RegimeSettings = RegimeSettings()
    vix_symbol: Symbol | None = Field(None, description="column of the bars holding VIX closes (for regime.vix_bear)")
    trend: TrendParams = TrendParams()
    mean_reversion: MeanReversionParams = MeanReversionParams()
    weights: dict[RegimeName, dict[Member, float]] = Field(
        default_factory=lambda: {"bull": {"trend": 1.0}, "bear": {"mean_reversion": 1.0}, "neutral": {}},  # type: ignore[arg-type]
        description="per regime, the weight of each member's signal",
    )


def member_signals(bars: Bars, p: RegimeStrategyParams) -> dict[str, pd.DataFrame]:
    return {"trend": trend_signal(bars, p.trend), "mean_reversion": mean_reversion_signal(bars, p.mean_reversion)}


def blend_by_regime(
    regime: pd.Series, signals: Mapping[str, pd.DataFrame], weights: Mapping[Any, Mapping[Any, float]]
) -> pd.DataFrame:
    """Σ over members of ``weights[regime_t][member] × signal_member`` per date, clipped to [−1, 1].

    Dates whose regime is unknown are NaN; a member whose weight that date is
    0 contributes 0 even where its own signal is NaN.
    """
    import numpy as np
    import pandas as pd

    from regimeflex.signals.regime_detection import REGIMES

    template = next(iter(signals.values()))
    known = regime.notna().to_numpy()
    total = np.zeros(template.shape)
    for member, sig in signals.items():
        per_regime = {name: float(weights.get(name, {}).get(member, 0.0)) for name in REGIMES}
        w = regime.astype(object).map(per_regime).astype("float64").fillna(0.0).to_numpy()[:, None]
        total = total + np.where(w != 0, sig.to_numpy() * w, 0.0)
    total = np.clip(total, -1.0, 1.0)
    total[~known] = np.nan
    return pd.DataFrame(total, index=template.index, columns=template.columns)


def regime_signal(bars: Bars, params: Mapping[str, Any] | RegimeStrategyParams | None = None) -> pd.DataFrame:
    """The composite signal for every date and symbol of ``bars`` (pure function)."""
    from regimeflex.signals.indicators import bar_field
    from regimeflex.signals.regime_detection import detect_regime

    p = read_params(RegimeStrategyParams, params, WHERE)
    close = bar_field(bars, "close")
    if close.shape[1] == 0:  # no symbols, so no benchmark either: nothing to signal
        return close.copy()
    for key, symbol in (("regime.benchmark", p.regime.benchmark), ("vix_symbol", p.vix_symbol)):
        if symbol is not None and symbol not in close.columns:
            raise ConfigError(
                f"{WHERE}: {key}: symbol {symbol!r} is not in the bars; add it to the symbols loaded for this strategy"
            )
    vix = close[p.vix_symbol] if p.vix_symbol else None
    regime = detect_regime(close[p.regime.benchmark], vix, p.regime)
    return blend_by_regime(regime, member_signals(bars, p), p.weights)


@hookimpl
def generate_signal(bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    return regime_signal(bars, params)


@hookimpl
def settings_model() -> type[BaseModel]:
    return RegimeStrategyParams
