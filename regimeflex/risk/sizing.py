"""Position sizing: from combined signals to capped target weights (pure functions).

Owns the weighting schemes behind the built-in sizer plugins (equal weight,
inverse volatility / volatility target, fixed fractional, ATR risk per trade)
and the caps every sizer applies last: at most ``max_names`` positions (the
strongest signals win, ties to the earlier column), at most ``max_weight`` of
equity in one name, at most ``max_gross`` gross exposure, and ``cash_buffer``
of equity never invested. Each function works on the whole dates × symbols
panel at once and returns weights with the signals' index and columns, no NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from regimeflex.config.risk import SizingCaps as SizingCaps  # re-exported: defined with risk.yaml settings
from regimeflex.signals.indicators import atr, bar_field, realized_vol


def active_signals(signals: pd.DataFrame, max_names: int | None) -> np.ndarray:
    """The signal values that may be held: NaN → 0, and beyond ``max_names`` per date only the
    largest |signal| survive (ties go to the earlier column, so the choice is deterministic)."""
    values = np.nan_to_num(signals.to_numpy(dtype="float64"), nan=0.0, posinf=0.0, neginf=0.0)
    if max_names is None or max_names >= values.shape[1]:
        return values
    strength = np.abs(values)
    order = np.argsort(-strength, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(values.shape[1])[None, :].repeat(len(values), 0), axis=1)
    return np.where(rank < max_names, values, 0.0)


def apply_caps(weights: np.ndarray, caps: SizingCaps) -> np.ndarray:
    """Clip each |weight| to ``max_weight``, then scale each row down (never up) so that gross
    exposure ≤ ``max_gross`` and long exposure ≤ 1 − ``cash_buffer``."""
    clipped = np.clip(np.nan_to_num(weights, nan=0.0), -caps.max_weight, caps.max_weight)
    gross = np.abs(clipped).sum(axis=1)
    long = np.clip(clipped, 0.0, None).sum(axis=1)
    # np.where evaluates both branches: a subnormal gross overflows the unused one (inf is then
    # capped by the 1.0 in the minimum), so the division's floating-point flags are silenced.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = np.minimum.reduce(
            [
                np.ones_like(gross),
                np.where(gross > 0, caps.max_gross / gross, 1.0),
                np.where(long > 0, (1.0 - caps.cash_buffer) / long, 1.0),
            ]
        )
    return clipped * scale[:, None]


def as_weights(values: np.ndarray, like: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(values, index=like.index, columns=like.columns, dtype="float64")
    return out + 0.0  # turns -0.0 into 0.0 so flat reads as flat


def equal_weights(signals: pd.DataFrame, caps: SizingCaps) -> pd.DataFrame:
    """Each held name gets ``signal / n`` of the investable equity, n = names held that date."""
    held = active_signals(signals, caps.max_names)
    count = (held != 0).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(count > 0, held * (1.0 - caps.cash_buffer) / count, 0.0)
    return as_weights(apply_caps(raw, caps), signals)


def inverse_vol_weights(
    signals: pd.DataFrame, close: pd.DataFrame, caps: SizingCaps, window: int = 20, target_vol: float | None = None
) -> pd.DataFrame:
    """Weights inversely proportional to each name's realised volatility.

    Without ``target_vol``: ``w_i ∝ signal_i / vol_i``, scaled so the held
    names fill the investable equity (1 − cash buffer). With ``target_vol``
    (annualised, e.g. 0.10): each of the n held names is sized to contribute
    ``target_vol / n`` on its own, ``w_i = signal_i × target_vol / (n × vol_i)``
    (correlations ignored), then capped. A name without a volatility yet (warm-up)
    or with zero volatility is not held.
    """
    vol = realized_vol(close.reindex(index=signals.index, columns=signals.columns), window).to_numpy()
    held = active_signals(signals, caps.max_names)
    usable = np.isfinite(vol) & (vol > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(usable, held / vol, 0.0)
        if target_vol is None:
            total = np.abs(raw).sum(axis=1, keepdims=True)
            raw = np.where(total > 0, raw * (1.0 - caps.cash_buffer) / total, 0.0)
        else:
            count = ((held != 0) & usable).sum(axis=1, keepdims=True)
            raw = np.where(count > 0, raw * target_vol / count, 0.0)
    return as_weights(apply_caps(raw, caps), signals)


def fixed_fractional_weights(signals: pd.DataFrame, caps: SizingCaps, fraction: float) -> pd.DataFrame:
    """Each held name gets ``signal × fraction`` of equity (then the caps)."""
    held = active_signals(signals, caps.max_names)
    return as_weights(apply_caps(held * fraction, caps), signals)


def pct_stop_weights(
    signals: pd.DataFrame, bars: pd.DataFrame, caps: SizingCaps, risk_per_trade: float, pct: float
) -> pd.DataFrame:
    """Size each position so a stop ``pct`` below the close loses ``risk_per_trade`` of equity.

    shares = equity × risk / (pct × close), so weight = ``signal × risk / pct``; then the caps.
    A name without a close that day is not held.
    """
    close = bar_field(bars, "close").reindex(index=signals.index, columns=signals.columns).to_numpy()
    held = active_signals(signals, caps.max_names)
    raw = np.where(np.isfinite(close) & (close > 0), held * risk_per_trade / pct, 0.0)
    return as_weights(apply_caps(raw, caps), signals)


def atr_risk_weights(
    signals: pd.DataFrame,
    bars: pd.DataFrame,
    caps: SizingCaps,
    risk_per_trade: float,
    atr_window: int = 14,
    atr_multiple: float = 2.0,
) -> pd.DataFrame:
    """Size each position so a stop ``atr_multiple × ATR`` away loses ``risk_per_trade`` of equity.

    shares = equity × risk / (k × ATR), so weight = shares × close / equity
    = ``signal × risk × close / (k × ATR)``; then the caps. A name without an
    ATR yet (warm-up) is not held.
    """

    def field(name: str) -> pd.DataFrame:
        return bar_field(bars, name).reindex(index=signals.index, columns=signals.columns)

    close = field("close")
    stop_distance = atr_multiple * atr(field("high"), field("low"), close, atr_window).to_numpy()
    held = active_signals(signals, caps.max_names)
    usable = np.isfinite(stop_distance) & (stop_distance > 0) & np.isfinite(close.to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(usable, held * risk_per_trade * close.to_numpy() / stop_distance, 0.0)
    return as_weights(apply_caps(raw, caps), signals)
