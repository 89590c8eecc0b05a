"""Risk budgets across strategy instances and regime scaling of exposure (pure functions).

Owns :func:`combine_signals`, which splits capital across the named strategy
instances of strategies.yaml by their ``budget`` (the combined signal is the
budget-weighted sum of each instance's signal), and :func:`apply_regime_scaling`,
which multiplies target weights by the factor risk.yaml gives the day's regime
(e.g. bear × 0.5). Apply regime scaling to the sizer's *weights*, not to
signals: a sizer that normalises (inverse volatility) would undo a scaled signal.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from regimeflex.config.risk import RegimeScaling


def combine_signals(signals: Mapping[str, pd.DataFrame], budgets: Mapping[str, float]) -> pd.DataFrame:
    """Σ ``budgets[name] × signals[name]``, clipped to [−1, 1].

    :param signals: strategy instance name → its dates × symbols signal frame.
    :param budgets: strategy instance name → its budget (fraction of capital, sums to ≤ 1).
    :returns: one dates × symbols frame on the union of dates and symbols. An
        instance in warm-up (NaN) contributes 0; a cell is NaN only when every
        instance is NaN there.
    :raises KeyError: when an instance has a signal but no budget (names it).
    """
    if not signals:
        raise ValueError("combine_signals: no strategy signals to combine")
    missing = [name for name in signals if name not in budgets]
    if missing:
        raise KeyError(f"combine_signals: no budget for strategy instance(s) {missing}")
    frames = list(signals.values())
    index, columns = frames[0].index, frames[0].columns
    for frame in frames[1:]:
        if not (frame.index.equals(index) and frame.columns.equals(columns)):
            index, columns = index.union(frame.index), columns.union(frame.columns)
    total = np.zeros((len(index), len(columns)))
    seen = np.zeros(total.shape, dtype=bool)
    for name, frame in signals.items():
        values = frame.reindex(index=index, columns=columns).to_numpy(dtype="float64")
        present = ~np.isnan(values)
        total += np.where(present, values * float(budgets[name]), 0.0)
        seen |= present
    total = np.clip(total, -1.0, 1.0)
    total[~seen] = np.nan
    return pd.DataFrame(total, index=index, columns=columns)


def regime_scale(regime: pd.Series, scaling: RegimeScaling | Mapping[str, float]) -> pd.Series:
    """The exposure multiplier per date for a regime series (``unknown`` where it is NaN)."""
    factors = scaling.model_dump() if isinstance(scaling, RegimeScaling) else dict(scaling)
    unknown = float(factors.get("unknown", 1.0))
    mapped = regime.astype(object).map({k: float(v) for k, v in factors.items() if k != "unknown"})
    return mapped.astype("float64").fillna(unknown).rename("scale")


def apply_regime_scaling(
    weights: pd.DataFrame, regime: pd.Series, scaling: RegimeScaling | Mapping[str, float]
) -> pd.DataFrame:
    """``weights × factor[regime_t]`` row by row (dates missing from ``regime`` count as unknown)."""
    scale = regime_scale(regime.reindex(weights.index), scaling)
    return weights.mul(scale.to_numpy(), axis=0)
