"""The market the ``synthetic`` provider generates: regimes, the market path and each symbol's bars.

Owns the numpy/pandas side of :mod:`regimeflex.builtins.synthetic` (see its docstring for the model),
kept apart so that loading the plugin — ``plugins list``, ``config show`` — does not import them.
"""

from __future__ import annotations

import functools
import zlib
from datetime import date

import numpy as np
import pandas as pd

from regimeflex.builtins.synthetic import SyntheticSettings
from regimeflex.data import calendar
from regimeflex.types import BAR_FIELDS, Bars, empty_bars

#: (daily drift, daily volatility) of the market in each regime.
REGIMES: dict[str, tuple[float, float]] = {
    "bull": (0.0006, 0.007),
    "choppy": (0.0, 0.011),
    "bear": (-0.0009, 0.022),
}
#: Probability of staying in the current regime from one session to the next.
_STAY = np.array([0.985, 0.97, 0.96])


#: Last session of the first block; later blocks are whole decades (2028–2037, 2038–2047, …).
FIRST_BLOCK_END = date(2027, 12, 31)
BLOCK_YEARS = 10


def _block_of(day: date | pd.Timestamp) -> int:
    """Which block a date falls in (0 up to :data:`FIRST_BLOCK_END`)."""
    year = pd.Timestamp(day).year
    return 0 if year <= FIRST_BLOCK_END.year else 1 + (year - FIRST_BLOCK_END.year - 1) // BLOCK_YEARS


def _block_days(origin: date, block: int) -> pd.DatetimeIndex:
    if block == 0:
        return calendar.sessions(origin, FIRST_BLOCK_END)
    first = FIRST_BLOCK_END.year + 1 + (block - 1) * BLOCK_YEARS
    return calendar.sessions(
        max(pd.Timestamp(origin), pd.Timestamp(f"{first}-01-01")), f"{first + BLOCK_YEARS - 1}-12-31"
    )


def _stream(seed: int, stream: int, block: int, *extra: int) -> np.random.Generator:
    """The random stream of one block (block 0 keeps the seeds of the first release, so its
    prices never changed when later blocks were added)."""
    return np.random.default_rng([seed, stream, *extra] if block == 0 else [seed, stream, *extra, 1000 + block])


@functools.lru_cache(maxsize=8)
def _market(seed: int, origin: date, blocks: int) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, tuple[int, ...]]:
    """Sessions, regime codes and market log-returns of blocks 0..``blocks`` (pure in ``seed``),
    and each block's length."""
    all_days, regimes, markets, lengths = [], [], [], []
    state = 0
    for block in range(blocks + 1):
        days = _block_days(origin, block)
        rng = _stream(seed, 0, block)
        switches = rng.random(len(days))
        jumps = rng.integers(1, len(REGIMES), size=len(days))
        regime = np.empty(len(days), dtype=np.int8)
        # The Markov chain is inherently sequential; this runs once per seed over ~2,500 sessions a block.
        for i in range(len(days)):
            if switches[i] > _STAY[state]:
                state = (state + int(jumps[i])) % len(REGIMES)
            regime[i] = state
        drift = np.array([m for m, _ in REGIMES.values()])[regime]
        vol = np.array([v for _, v in REGIMES.values()])[regime]
        all_days.append(days)
        regimes.append(regime)
        markets.append(drift + vol * _stream(seed, 1, block).standard_normal(len(days)))
        lengths.append(len(days))
    index = pd.DatetimeIndex(np.concatenate([d.to_numpy() for d in all_days]), name="date")
    return index, np.concatenate(regimes), np.concatenate(markets), tuple(lengths)


def regime_path(seed: int = 42, start: date | str = "1990-01-02", end: date | str = "2027-12-31") -> pd.Series:
    """The market regime name on every session between ``start`` and ``end`` (for demos and tests)."""
    settings = SyntheticSettings(seed=seed)
    days, regime, _, _ = _market(settings.seed, settings.origin, _block_of(pd.Timestamp(end)))
    names = np.array(list(REGIMES))[regime]
    series = pd.Series(names, index=days, name="regime")
    return series.loc[pd.Timestamp(start) : pd.Timestamp(end)]


def _symbol_noise(
    seed: int, symbol: str, lengths: tuple[int, ...]
) -> tuple[tuple[float, float, float, float], np.ndarray]:
    """A symbol's (beta, idiosyncratic vol, starting level, volume scale) and its 4 × sessions noise."""
    crc = zlib.crc32(symbol.encode())
    rng = _stream(seed, 2, 0, crc)
    params = (rng.uniform(0.6, 1.4), rng.uniform(0.004, 0.014), rng.uniform(20, 300), rng.uniform(5e5, 2e7))
    pieces = [rng.standard_normal((4, lengths[0]))]
    pieces += [_stream(seed, 2, block, crc).standard_normal((4, n)) for block, n in enumerate(lengths) if block]
    return params, np.concatenate(pieces, axis=1)


def generate(symbols: tuple[str, ...], start: date, end: date, settings: SyntheticSettings | None = None) -> Bars:
    """Bars for ``symbols`` on every XNYS session in ``[start, end]`` (any dates from the origin on)."""
    settings = settings or SyntheticSettings()
    symbols = tuple(sorted({s.strip().upper() for s in symbols}))
    days, _, market, lengths = _market(settings.seed, settings.origin, _block_of(pd.Timestamp(end)))
    lo, hi = days.searchsorted(pd.Timestamp(start)), days.searchsorted(pd.Timestamp(end), side="right")
    if not symbols or lo >= hi:
        return empty_bars(symbols)
    n = hi  # generate from the origin so the level on a session never depends on the request
    fields = {f: np.empty((n, len(symbols))) for f in BAR_FIELDS}
    for j, symbol in enumerate(symbols):  # one vectorised path per symbol (not a loop over rows)
        (beta, idio, level, volume_scale), noise = _symbol_noise(settings.seed, symbol, lengths)
        noise = noise[:, :n]
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
