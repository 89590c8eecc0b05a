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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from regimeflex.config import Settings
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
    #: the panel the sizer was called with (the universe's columns only); the lookahead guard reuses it
    sizer_bars: Bars | None = None

    def last(self) -> pd.Series:
        """The targets of the last date (what a daily run trades)."""
        if self.weights.empty:
            return pd.Series(dtype="float64")
        return self.weights.iloc[-1]


def guard_entries(weights: pd.DataFrame, allow_entries: np.ndarray) -> pd.DataFrame:
    """On rows where entries are not allowed, no position may open, grow or flip relative to
    the previous row's (already guarded) targets; exits and reductions pass.

    A loop over the guarded rows only (a few FOMC/OPEX days a year), each an array
    operation across all symbols.
    """
    from regimeflex.risk.breakers import without_entries

    values = weights.to_numpy(dtype="float64", copy=True)
    for row in np.flatnonzero(~allow_entries):
        prev = values[row - 1] if row > 0 else np.zeros(values.shape[1])
        values[row] = without_entries(values[row], prev)
    return pd.DataFrame(values, index=weights.index, columns=weights.columns) + 0.0


def universe_bars(bars: Bars, universe: Sequence[str]) -> Bars:
    """The panel restricted to the tradable universe (benchmark/VIX columns are for regime only)."""
    from regimeflex.types import bars_symbols

    symbols = bars_symbols(bars)
    present = set(symbols)  # once: a set per symbol was O(n²)
    keep = [s for s in universe if s in present]
    if keep == symbols:  # nothing to drop: selecting every column would only copy the panel
        return bars
    return bars.loc[:, pd.IndexSlice[:, keep]]


def reference_symbols(settings: Settings) -> list[str]:
    """Every symbol a run must load: the universe, then the benchmark and VIX series."""
    regime = settings.risk.regime
    extra = [settings.run.benchmark, regime.detect.benchmark, regime.vix_symbol]
    return list(dict.fromkeys([*settings.run.universe, *[s for s in extra if s]]))


def compute_targets(
    bars: Bars, selection: Selection, host: PluginHost, settings: Settings, universe: Sequence[str] | None = None
) -> TargetPanel:
    """Signals → budgets → sizer → regime scaling → calendar guard, over the whole panel.

    ``bars`` holds the universe plus the benchmark and VIX series
    (:func:`reference_symbols`). Strategies see the whole panel; their signals,
    the sizer and the targets cover only ``universe`` (default
    ``settings.run.universe``). The regime is read from the benchmark (and VIX)
    as risk.yaml's ``regime`` section says.
    ``settings`` is the loaded :class:`~regimeflex.config.Settings`; its
    ``risk.regime`` and ``risk.calendar`` sections drive the last two steps.
    """
    from regimeflex.risk.budgets import apply_regime_scaling, combine_signals, regime_scale
    from regimeflex.risk.calendar import calendar_guard_frame
    from regimeflex.signals.regime_detection import detect_regime_from_bars
    from regimeflex.types import bars_symbols

    full = bars
    present = set(bars_symbols(full))  # once: calling bars_symbols per symbol was O(n²) (2 s at 500 names)
    tradable = [s for s in (universe if universe is not None else settings.run.universe) if s in present]
    bars = universe_bars(full, tradable)
    # Strategies see the whole panel (a regime-aware strategy needs its benchmark); only the
    # universe is traded, so signals for the benchmark or VIX columns are dropped here.
    signals = {
        name: host.generate_signal(sel.name, bars=full, params=sel.settings)[tradable]
        for name, sel in selection.strategies.items()
    }
    combined = combine_signals(signals, {name: sel.budget for name, sel in selection.strategies.items()})
    raw = host.size_position(selection.sizer.name, signals=combined, bars=bars, params=selection.sizer.settings)

    regime = detect_regime_from_bars(full, settings.risk.regime)
    scale = regime_scale(regime, settings.risk.regime.scaling)
    weights = apply_regime_scaling(raw, regime, settings.risk.regime.scaling)
    guard = calendar_guard_frame(weights.index, settings.risk.calendar)
    weights = weights.mul(np.where(guard["is_session"], guard["scale"], 1.0), axis=0)
    weights = guard_entries(weights, (guard["allow_entries"] | ~guard["is_session"]).to_numpy())
    return TargetPanel(
        signals=signals,
        combined=combined,
        raw_weights=raw,
        weights=weights,
        regime=regime,
        scale=scale,
        notes={"calendar": guard},
        sizer_bars=bars,
    )
