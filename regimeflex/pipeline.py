"""From bars to target weights: the history-only half of the cycle, shared by run and backtest.

This module owns the one function, :func:`compute_targets`, that both the
daily runner and the backtest call, so a daily run on date *t* and a
backtest's row *t* produce the same targets for the same inputs
(live/backtest parity). It calls each selected strategy once over the whole
panel, combines the signals by their risk budgets, sizes them with the
selected sizer, scales by regime, and applies the calendar guard. Nothing
here depends on the live account (equity, cash, positions): that belongs to
the circuit breakers and the order planner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from regimeflex.plugins import PluginHost, Selection
    from regimeflex.types import Bars


@dataclass(frozen=True)
class TargetPanel:
    """Everything :func:`compute_targets` derives, for every date of the panel."""

    signals: Mapping[str, pd.DataFrame]
    combined: pd.DataFrame
    raw_weights: pd.DataFrame
    weights: pd.DataFrame
    regime: pd.Series | None = None
    scale: pd.Series | None = None
    notes: Mapping[str, Any] = field(default_factory=dict)

    def last(self) -> pd.Series:
        """The targets of the last date (what a daily run trades)."""
        if self.weights.empty:
            return pd.Series(dtype="float64")
        return self.weights.iloc[-1]


def combine_by_budget(signals: Mapping[str, pd.DataFrame], budgets: Mapping[str, float]) -> pd.DataFrame:
    """Budget-weighted sum of the strategies' signals (NaN counts as flat), clipped to [-1, 1]."""
    frames = list(signals.values())
    if not frames:
        raise ValueError("no strategy signals to combine")
    total = sum(np.nan_to_num(signals[name].to_numpy(dtype="float64"), nan=0.0) * float(budgets[name])
                for name in signals)
    combined = np.clip(total, -1.0, 1.0)
    return pd.DataFrame(combined, index=frames[0].index, columns=frames[0].columns) + 0.0


def compute_targets(bars: Bars, selection: Selection, host: PluginHost, settings: Any) -> TargetPanel:
    """Signals → budgets → sizer → regime scaling → calendar guard, over the whole panel."""
    signals = {
        name: host.generate_signal(sel.name, bars=bars, params=sel.settings)
        for name, sel in selection.strategies.items()
    }
    budgets = {name: sel.budget for name, sel in selection.strategies.items()}
    combined = combine_by_budget(signals, budgets)
    raw = host.size_position(selection.sizer.name, signals=combined, bars=bars, params=selection.sizer.settings)
    return TargetPanel(signals=signals, combined=combined, raw_weights=raw, weights=raw)
