"""The built-in ``synthetic`` data provider: seeded, regime-switching prices for any symbol.

Owns the demo's default data source. Prices follow a geometric Brownian
motion whose drift and volatility switch between three market regimes
(calm bull, choppy, volatile bear) by a Markov chain; each symbol has its own
beta to the market and its own idiosyncratic noise. Everything is a pure
function of ``seed`` and the symbol name, generated over a fixed horizon of
XNYS sessions, so the bar for (symbol, session) is identical whatever range
or symbol list is requested — the cache can fetch increments and the demo is
reproducible. Open/high/low/close are consistent (low ≤ open, close ≤ high).

Registered in pyproject as ``synthetic = "regimeflex.builtins.synthetic"``.
"""

from __future__ import annotations

import functools
import zlib
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from regimeflex.data import calendar
from regimeflex.hookspecs import hookimpl
from regimeflex.types import BAR_FIELDS, Bars, BarsRequest, empty_bars

#: (daily drift, daily volatility) of the market in each regime.
REGIMES: dict[str, tuple[float, float]] = {
    "bull": (0.0006, 0.007),
    "choppy": (0.0, 0.011),
    "bear": (-0.0009, 0.022),
}
#: Probability of staying in the current regime from one session to the next.
_STAY = np.array([0.985, 0.97, 0.96])


class SyntheticSettings(BaseModel):
    """``providers.synthetic`` in data.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(42, description="Same seed → same prices, on every machine.")
    origin: date = Field(date(1990, 1, 2), description="First session of the generated history.")
    horizon: date = Field(date(2027, 12, 31), description="Last session generated (paths are fixed up to it).")


@functools.lru_cache(maxsize=8)
def _market(seed: int, origin: date, horizon: date) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Sessions, regime codes and market log-returns of the fixed horizon (pure in ``seed``)."""
    days = calendar.sessions(origin, horizon)
    rng = np.random.default_rng([seed, 0])
    switches = rng.random(len(days))
    jumps = rng.integers(1, len(REGIMES), size=len(days))
    regime = np.empty(len(days), dtype=np.int8)
    state = 0
    # The Markov chain is inherently sequential; this runs once per seed over ~9,000 sessions.
    for i in range(len(days)):
        if switches[i] > _STAY[state]:
            state = (state + int(jumps[i])) % len(REGIMES)
        regime[i] = state
    drift = np.array([m for m, _ in REGIMES.values()])[regime]
    vol = np.array([v for _, v in REGIMES.values()])[regime]
    market = drift + vol * np.random.default_rng([seed, 1]).standard_normal(len(days))
    return days, regime, market


def regime_path(seed: int = 42, start: date | str = "1990-01-02", end: date | str = "2027-12-31") -> pd.Series:
    """The market regime name on every session between ``start`` and ``end`` (for demos and tests)."""
    settings = SyntheticSettings(seed=seed)
    days, regime, _ = _market(settings.seed, settings.origin, settings.horizon)
    names = np.array(list(REGIMES))[regime]
    series = pd.Series(names, index=days, name="regime")
    return series.loc[pd.Timestamp(start) : pd.Timestamp(end)]


def generate(symbols: tuple[str, ...], start: date, end: date, settings: SyntheticSettings | None = None) -> Bars:
    """Bars for ``symbols`` on every XNYS session in ``[start, end]`` (within origin..horizon)."""
    settings = settings or SyntheticSettings()
    symbols = tuple(sorted({s.strip().upper() for s in symbols}))
    days, _, market = _market(settings.seed, settings.origin, settings.horizon)
    lo, hi = days.searchsorted(pd.Timestamp(start)), days.searchsorted(pd.Timestamp(end), side="right")
    if not symbols or lo >= hi:
        return empty_bars(symbols)
    n = hi  # generate from the origin so the level on a session never depends on the request
    fields = {f: np.empty((n, len(symbols))) for f in BAR_FIELDS}
    for j, symbol in enumerate(symbols):  # one vectorised path per symbol (not a loop over rows)
        rng = np.random.default_rng([settings.seed, 2, zlib.crc32(symbol.encode())])
        beta, idio, level, volume_scale = (
            rng.uniform(0.6, 1.4),
            rng.uniform(0.004, 0.014),
            rng.uniform(20, 300),
            rng.uniform(5e5, 2e7),
        )
        noise = rng.standard_normal((4, len(days)))[:, :n]
        log_close = np.log(level) + np.cumsum(beta * market[:n] + idio * noise[0])
        close = np.exp(log_close)
        prev_close = np.concatenate([[level], close[:-1]])
        open_ = prev_close * np.exp(0.35 * idio * noise[1])
        top, bottom = np.maximum(open_, close), np.minimum(open_, close)
        spread = np.abs(market[:n]) * 0.5 + idio
        fields["open"][:, j] = np.round(open_, 4)
        fields["close"][:, j] = np.round(close, 4)
        fields["high"][:, j] = np.round(top * np.exp(spread * np.abs(noise[2]) * 0.6), 4)
        fields["low"][:, j] = np.round(bottom * np.exp(-spread * np.abs(noise[3]) * 0.6), 4)
        fields["volume"][:, j] = np.round(volume_scale * np.exp(0.3 * noise[3] + 8 * np.abs(market[:n])))
    # Rounding may not break OHLC consistency.
    fields["high"] = np.maximum.reduce([fields["high"], fields["open"], fields["close"]])
    fields["low"] = np.minimum.reduce([fields["low"], fields["open"], fields["close"]])
    index = days[lo:hi]
    columns = pd.MultiIndex.from_product([list(BAR_FIELDS), list(symbols)], names=["field", "symbol"])
    values = np.concatenate([fields[f][lo:hi] for f in BAR_FIELDS], axis=1)
    return pd.DataFrame(values, index=index, columns=columns)


@hookimpl
def provide_bars(request: BarsRequest) -> Bars:
    settings = SyntheticSettings.model_validate(dict(request.settings or {}))
    return generate(tuple(request.symbols), request.start, request.end, settings)


@hookimpl
def settings_model() -> type[BaseModel]:
    return SyntheticSettings
