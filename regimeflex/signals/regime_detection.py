"""Bull / bear (/ neutral) regime detection from a benchmark, with hysteresis.

Owns :func:`detect_regime` (its settings model, :class:`RegimeSettings`, lives in
:mod:`regimeflex.config.risk`, the `regime.detect` section of risk.yaml). The raw reading on a
date compares the benchmark close with its ``window``-session SMA:

* above ``SMA × (1 + band)`` → bull, below ``SMA × (1 − band)`` → bear;
* inside the band → the previous raw reading (or ``neutral`` when
  ``neutral: true``);
* when a VIX series is given and ``vix_bear`` is set, a VIX close at or above
  it reads bear whatever the price says.

Hysteresis: the regime changes only once a new raw reading has held for
``min_days`` consecutive sessions, so one noisy day does not flip it. Output
is a categorical series per date (categories ``bear``, ``neutral``, ``bull``);
NaN until the SMA has warmed up. Uses data up to each date only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regimeflex.config.risk import RegimeSettings
from regimeflex.signals.indicators import sma
from regimeflex.signals.params import read_params

if TYPE_CHECKING:
    from regimeflex.config.risk import RegimeRiskSettings


#: The regime labels, weakest first.
REGIMES: tuple[str, ...] = ("bear", "neutral", "bull")


def raw_regime(close: pd.Series, vix: pd.Series | None, s: RegimeSettings) -> pd.Series:
    """The reading before hysteresis: codes 0 bear, 1 neutral, 2 bull; NaN in warm-up."""
    average = sma(close, s.window)
    codes = np.where(close > average * (1 + s.band), 2.0, np.where(close < average * (1 - s.band), 0.0, np.nan))
    raw = pd.Series(codes, index=close.index)
    ready = average.notna() & close.notna()
    if s.neutral:
        raw = raw.fillna(1.0)
    if vix is not None and s.vix_bear is not None:
        fear = vix.reindex(close.index) >= s.vix_bear
        raw = raw.mask(fear, 0.0)
    # inside the band without a neutral reading: the last raw reading stands
    raw = raw.where(ready).ffill().where(ready)
    return raw


def confirm(raw: pd.Series, min_days: int) -> pd.Series:
    """Hysteresis: a reading becomes the regime once it has held ``min_days`` sessions in a row."""
    run_id = raw.ne(raw.shift()).cumsum()
    run_length = raw.groupby(run_id).cumcount() + 1
    confirmed = raw.where(run_length >= min_days).ffill()
    return confirmed.where(raw.notna() | confirmed.notna())


def detect_regime(
    close: pd.Series,
    vix: pd.Series | None = None,
    settings: RegimeSettings | Mapping[str, Any] | None = None,
) -> pd.Series:
    """The market regime for each date of ``close`` (the benchmark's closes).

    :param close: the benchmark close series (e.g. ``bars["close"]["SPY"]``).
    :param vix: optional VIX closes (aligned by date; missing dates do not trigger).
    :param settings: :class:`RegimeSettings` or a mapping of its fields.
    :returns: categorical series named ``regime`` with categories ``bear``,
        ``neutral``, ``bull`` and the index of ``close``; NaN during warm-up.
    """
    s = read_params(RegimeSettings, settings, "regime")
    if not isinstance(close, pd.Series):
        raise TypeError(f"detect_regime: close must be a pandas Series of the benchmark, got {type(close).__name__}")
    confirmed = confirm(raw_regime(close.astype("float64"), vix, s), s.min_days)
    labels = pd.Categorical.from_codes(confirmed.fillna(-1).astype(int).to_numpy(), categories=list(REGIMES))
    return pd.Series(labels, index=close.index, name="regime")


def regime_changes(regime: pd.Series) -> pd.Series:
    """The dates on which the regime changed (the first labelled date is not a change)."""
    known = regime.dropna()
    changed = known.ne(known.shift()) & known.shift().notna()
    return known[changed]


def detect_regime_from_bars(bars: pd.DataFrame, settings: RegimeRiskSettings) -> pd.Series:
    """:func:`detect_regime` on a Bars panel, as risk.yaml's ``regime`` section describes it.

    :param bars: the Bars panel; must hold the benchmark (and ``vix_symbol`` when set).
    :param settings: ``risk.regime`` (:class:`regimeflex.config.risk.RegimeRiskSettings`).
    :raises ConfigError: naming the risk.yaml key and the symbol missing from the bars.
    """
    from regimeflex.errors import ConfigError

    close = bars["close"]
    wanted = {"regime.detect.benchmark": settings.detect.benchmark, "regime.vix_symbol": settings.vix_symbol}
    for key, symbol in wanted.items():
        if symbol is not None and symbol not in close.columns:
            raise ConfigError(
                f"risk.yaml: {key}: symbol {symbol!r} is not in the bars; "
                f"add it to the universe in run.yaml (or change {key})"
            )
    vix = close[settings.vix_symbol] if settings.vix_symbol else None
    return detect_regime(close[settings.detect.benchmark], vix, settings.detect)
