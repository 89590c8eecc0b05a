"""Technical indicators over dates × symbols frames, equal to TA-Lib's definitions.

This module owns the indicator formulas every strategy, sizer and regime
classifier builds on: SMA, EMA, RSI (Wilder), ATR (Wilder), Bollinger bands,
rolling z-score, realised volatility and trailing drawdown. Each function
takes a dates × symbols DataFrame (or one Series) and returns the same shape,
computing every symbol at once with pandas' compiled rolling/ewm kernels.

Warm-up rows are NaN, never filled with fake values; a symbol that starts
trading later simply warms up later. Recursive averages (EMA, Wilder) are
seeded with the simple mean of their first window, exactly as TA-Lib does,
so the results match TA-Lib to floating-point noise on real data.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import pandas as pd

Frame = TypeVar("Frame", pd.DataFrame, pd.Series)

#: Trading sessions per year, for annualising volatility.
SESSIONS_PER_YEAR = 252


def bar_field(bars: pd.DataFrame, field: str) -> pd.DataFrame:
    """The dates × symbols frame of one field of a Bars panel; a panel with no symbols
    gives a frame with its dates and no columns (a universe may legitimately be empty)."""
    if bars.shape[1] == 0:
        return pd.DataFrame(index=bars.index, columns=pd.Index([], name="symbol"), dtype="float64")
    return bars[field]


def _check_window(name: str, window: int, minimum: int = 1) -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < minimum:
        raise ValueError(f"{name}: window must be an integer >= {minimum}, got {window!r}")
    return int(window)


def _as_frame(x: Frame) -> tuple[pd.DataFrame, bool]:
    if isinstance(x, pd.Series):
        return x.to_frame(), True
    if isinstance(x, pd.DataFrame):
        return x, False
    raise TypeError(f"indicators take a pandas DataFrame or Series, got {type(x).__name__}")


def _like(values: np.ndarray, template: pd.DataFrame, was_series: bool, name: object = None) -> Any:
    out = pd.DataFrame(values, index=template.index, columns=template.columns, copy=False)  # ``values`` is ours
    if was_series:
        series = out.iloc[:, 0]
        series.name = name
        return series
    return out


#: unit roundoff of float64 (half the distance from 1.0 to the next float)
_UNIT_ROUNDOFF = 2.0**-53


def _exact_window_sums(values: np.ndarray, window: int) -> np.ndarray:
    """Sums of every complete trailing window of a gap-free 2-D array, exact but for one final rounding.

    Each value is split into a fixed-point part on a per-column grid of 2**-e (chosen so the
    integer running total of the column cannot overflow int64) and the exact remainder
    below that grid: the integer windows sums are exact, the remainders are smaller than the
    grid (so their own rounding is ~2**-100 of the value), and the two are added once.
    """
    n_rows = len(values)
    biggest = np.abs(values).max(axis=0)
    biggest[~(biggest > 0)] = 1.0
    _, exponent = np.frexp(biggest * (n_rows + 1))  # biggest * (n_rows + 1) < 2**exponent
    scale = np.ldexp(1.0, np.minimum(61 - exponent, 1000))
    whole = np.rint(values * scale)
    rest = values - whole / scale  # exact: the value minus a nearby multiple of the grid
    ints = np.zeros((n_rows + 1, values.shape[1]), dtype=np.int64)
    np.cumsum(whole.astype(np.int64), axis=0, out=ints[1:])
    small = np.zeros((n_rows + 1, values.shape[1]))
    np.cumsum(rest, axis=0, out=small[1:])
    int_sums = ints[window:] - ints[:-window]
    rounded = int_sums.astype(np.float64)
    carry = (int_sums - rounded.astype(np.int64)).astype(np.float64)  # what the conversion rounded away
    return rounded / scale + (carry / scale + (small[window:] - small[:-window]))


def running_sum(values: np.ndarray, dtype: Any = "float64") -> np.ndarray:
    """Cumulative sums down the rows of a 2-D array, with a leading row of zeros (``n + 1`` rows).

    Row ``i + 1`` is row ``i`` plus ``values[i]``, exactly as ``np.cumsum(axis=0)`` adds, so a
    truncated array gives bit-identical sums. For a wide row-major panel one vector addition per
    row is several times faster than ``np.cumsum`` down each strided column; a column-major one
    (as pandas hands frames back) is summed down its contiguous columns.
    """
    n, m = values.shape
    column_major = values.flags.f_contiguous and not values.flags.c_contiguous
    out = np.zeros((n + 1, m), dtype=dtype, order="F" if column_major else "C")
    if m < 16 or column_major:  # down contiguous columns (pandas' own layout): np.cumsum is fast
        np.cumsum(values, axis=0, out=out[1:])
        return out
    for i in range(n):
        np.add(out[i], values[i], out=out[i + 1])
    return out


#: cells of one column block in the blocked rolling means: a block's handful of temporaries stays
#: in a core's cache (and is reused), instead of each step streaming the whole panel through memory
_BLOCK_CELLS = 1 << 15


def rolling_mean_values(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each complete trailing window of a 2-D array (NaN where the window has a gap).

    Differences of cumulative sums, as TA-Lib's running total does: one pass
    over the whole panel instead of one rolling kernel per column. The running
    total carries rounding error (about 1e-14 of the value on ten years of
    prices), so a value that equals its own mean (a flat price, or decimal
    prices that average exactly to the close) could land a few ulps on either
    side of it. Wherever a value lies within the proven error bound of its
    mean, the columns concerned are recomputed with exact window sums
    (:func:`_exact_window_sums`), so ``x > sma(x)`` is decided on the mean of
    the exact window sum, rounded once: ties are ties.

    Every column is computed on its own, so the panel is worked through in blocks of columns
    (contiguous in pandas' column-major layout) whose temporaries stay in cache; the values do
    not depend on the blocking. The result has the input's memory order.
    """
    n_rows, n_cols = values.shape
    column_major = values.flags.f_contiguous and not values.flags.c_contiguous
    out = np.empty(values.shape, order="F" if column_major else "C")
    if n_rows < window:
        out.fill(np.nan)
        return out
    out[: window - 1] = np.nan
    step = max(1, _BLOCK_CELLS // n_rows) if column_major else max(n_cols, 1)
    for start in range(0, n_cols, step):
        block = slice(start, start + step)
        _rolling_mean_block(values[:, block], window, out[window - 1 :, block])
    return out


def _rolling_mean_block(values: np.ndarray, window: int, means: np.ndarray) -> None:
    """:func:`rolling_mean_values` of some columns, written into ``means`` (its rows ``window - 1`` on)."""
    missing = np.isnan(values)
    has_gaps = bool(missing.any())
    filled = np.where(missing, 0.0, values) if has_gaps else values
    total = np.zeros((len(values) + 1, values.shape[1]))
    np.cumsum(filled, axis=0, out=total[1:])
    np.subtract(total[window:], total[:-window], out=means)
    means /= window
    if has_gaps:
        gaps = np.zeros(total.shape, dtype=np.int64)
        np.cumsum(missing, axis=0, out=gaps[1:])
        means[(gaps[window:] - gaps[:-window]) != 0] = np.nan
    # |error of a running total of t terms| <= t * u * (sum of their |values|) (recursive summation), twice
    # that for the difference of two totals; |mean| <= that sum / window covers the last two roundings
    if bool((filled >= 0).all()):
        magnitude = total[window:]  # the running total itself is the sum of |values|
    else:
        magnitude = np.cumsum(np.abs(filled), axis=0)[window - 1 :]
    bound = np.arange(window, len(values) + 1, dtype=np.float64)[:, None] * (8 * _UNIT_ROUNDOFF / window)
    bound = bound * magnitude
    distance = values[window - 1 :] - means
    np.abs(distance, out=distance)
    with np.errstate(invalid="ignore"):
        near = np.less_equal(distance, bound, out=np.empty(distance.shape, dtype=bool))  # NaN: not near
    cols = np.flatnonzero(near.any(axis=0))
    if cols.size:
        exact = _exact_window_sums(filled[:, cols], window) / window
        exact[np.isnan(means[:, cols])] = np.nan
        means[:, cols] = exact


def rolling_std_values(values: np.ndarray, window: int, ddof: int = 0) -> np.ndarray:
    """Standard deviation of each complete trailing window of a 2-D array (NaN where the window
    has a gap; 0 where every value in it is the same, as pandas gives).

    Differences of cumulative sums of ``x`` and ``x²``: one pass over the whole panel instead of
    one rolling kernel per column (pandas' per-column kernels cost nearly as much on a short panel
    as on a long one). Meant for series centred near zero such as returns, where the sums lose no
    precision that matters (relative error ~1e-13 over decades of daily returns); each row depends
    on earlier rows only, in the same order, so a truncated panel gives bit-identical values.
    """
    out = np.full(values.shape, np.nan)
    n = len(values)
    if n < window:
        return out
    missing = np.isnan(values)
    x = values.copy(order="K")  # keeps pandas' column-major layout for the sums below
    x[missing] = 0.0
    s1 = running_sum(x)
    np.multiply(x, x, out=x)
    s2 = running_sum(x)
    squares = s2[window:] - s2[:-window]
    var = s1[window:] - s1[:-window]  # the window sums, then in place: Σx², minus (Σx)²/w, over w − ddof
    np.multiply(var, var, out=var)
    var /= -window
    var += squares
    var /= window - ddof
    np.maximum(var, 0.0, out=var)  # float noise below zero is no dispersion
    # a window whose values are all the same has no dispersion: only columns where some window's
    # variance is down at float noise can hold one, and only those are counted exactly
    squares *= 1e-9 / window
    tiny = var <= squares
    for col in np.flatnonzero(tiny.any(axis=0)):
        column = values[:, col]
        with np.errstate(invalid="ignore"):
            changes = np.concatenate(([0], np.cumsum(column[1:] != column[:-1])))
        var[(changes[window - 1 :] - changes[: n - window + 1]) == 0, col] = 0.0
    # windows with a missing value: those starting before a column's first value (var's row k is
    # the window starting at row k), and those around a gap after it (few columns: counted exactly)
    first = np.where(missing.all(axis=0), n, np.argmin(missing, axis=0))
    for start in np.unique(first[first > 0]):
        var[: int(start), first == start] = np.nan
    for col in np.flatnonzero(missing.sum(axis=0) > first):
        gaps = np.concatenate(([0], np.cumsum(missing[:, col])))
        var[(gaps[window:] - gaps[:-window]) != 0, col] = np.nan
    out[window - 1 :] = np.sqrt(var, out=var)
    return out


def sma(x: Frame, window: int) -> Frame:
    """Simple moving average over ``window`` sessions (TA-Lib ``SMA``).

    Exact where it matters for a comparison with the series itself: wherever
    ``x`` is within rounding distance of its SMA the mean is that of the exact
    window sum, so ``x > sma(x)`` is strict on true ties (see
    :func:`rolling_mean_values`)."""
    window = _check_window("sma", window)
    frame, was_series = _as_frame(x)
    out = rolling_mean_values(frame.to_numpy(dtype="float64"), window)
    return _like(out, frame, was_series, getattr(x, "name", None))


def rolling_std(x: Frame, window: int) -> Frame:
    """Population standard deviation over ``window`` sessions (TA-Lib ``STDDEV``, ddof=0)."""
    window = _check_window("rolling_std", window)
    return x.rolling(window, min_periods=window).std(ddof=0)


def _seeded_recursive_mean(frame: pd.DataFrame, window: int, alpha: float) -> np.ndarray:
    """``m_t = m_{t-1} + alpha * (x_t - m_{t-1})`` seeded with the first full-window mean.

    This is TA-Lib's EMA/Wilder recursion. Each column is seeded at the first
    row where its trailing ``window`` values are all present; rows before the
    seed are NaN. A missing value after the seed makes that row NaN (the
    average is not invented for a session without data) and the recursion
    resumes from the last known average.
    """
    values = frame.to_numpy(dtype="float64", copy=False)
    seed = frame.rolling(window, min_periods=window).mean().to_numpy()
    n_rows = values.shape[0]
    has_seed = ~np.isnan(seed)
    seed_row = np.where(has_seed.any(axis=0), has_seed.argmax(axis=0), n_rows)
    rows = np.arange(n_rows)[:, None]
    before, at = rows < seed_row, rows == seed_row
    prepared = np.where(before, np.nan, np.where(at, seed, values))
    smoothed = pd.DataFrame(prepared).ewm(alpha=alpha, adjust=False, ignore_na=True).mean().to_numpy(copy=True)
    smoothed[np.isnan(prepared)] = np.nan
    return smoothed


def ema(x: Frame, window: int) -> Frame:
    """Exponential moving average, ``alpha = 2 / (window + 1)``, SMA-seeded (TA-Lib ``EMA``)."""
    window = _check_window("ema", window)
    frame, was_series = _as_frame(x)
    out = _seeded_recursive_mean(frame, window, 2.0 / (window + 1))
    return _like(out, frame, was_series, getattr(x, "name", None))


def wilder(x: Frame, window: int) -> Frame:
    """Wilder's smoothing, ``alpha = 1 / window``, SMA-seeded (the average inside RSI and ATR)."""
    window = _check_window("wilder", window)
    frame, was_series = _as_frame(x)
    out = _seeded_recursive_mean(frame, window, 1.0 / window)
    return _like(out, frame, was_series, getattr(x, "name", None))


def rsi(close: Frame, window: int = 14) -> Frame:
    """Relative strength index with Wilder smoothing, 0–100 (TA-Lib ``RSI``).

    The first value is on row ``window`` (it needs ``window`` price changes).
    A window with no change at all (a flat price) reads 50, the neutral value;
    TA-Lib prints 0 there, which would look like an extreme oversold reading.
    """
    window = _check_window("rsi", window)
    change = close.diff()
    gain = change.clip(lower=0.0)
    loss = (-change).clip(lower=0.0)
    avg_gain = wilder(gain, window)
    avg_loss = wilder(loss, window)
    total = avg_gain + avg_loss
    value = 100.0 * avg_gain / total
    return value.mask((total == 0) & avg_gain.notna(), 50.0)


def true_range(high: Frame, low: Frame, close: Frame) -> Frame:
    """True range: the largest of high−low, |high−previous close|, |low−previous close|.

    The first row (no previous close) is NaN, as in TA-Lib ``TRANGE``.
    """
    prev = close.shift(1)
    ranges = [high - low, (high - prev).abs(), (low - prev).abs()]
    out = np.fmax(np.fmax(ranges[0].to_numpy(), ranges[1].to_numpy()), ranges[2].to_numpy())
    out[np.isnan(prev.to_numpy()) | np.isnan(ranges[0].to_numpy())] = np.nan
    if isinstance(close, pd.Series):
        return pd.Series(out, index=close.index, name=close.name)
    return pd.DataFrame(out, index=close.index, columns=close.columns)


def atr(high: Frame, low: Frame, close: Frame, window: int = 14) -> Frame:
    """Average true range with Wilder smoothing (TA-Lib ``ATR``); first value on row ``window``."""
    window = _check_window("atr", window)
    return wilder(true_range(high, low, close), window)


def bollinger(close: Frame, window: int = 20, k: float = 2.0) -> tuple[Frame, Frame, Frame]:
    """Bollinger bands ``(lower, middle, upper)``: SMA ± ``k`` population standard deviations
    (TA-Lib ``BBANDS`` with its default SMA)."""
    window = _check_window("bollinger", window)
    middle = sma(close, window)
    width = k * rolling_std(close, window)
    return middle - width, middle, middle + width


def zscore(x: Frame, window: int) -> Frame:
    """Rolling z-score: ``(x − SMA) / population std`` over ``window`` sessions.

    A window with zero dispersion has no defined z-score and reads NaN.
    """
    window = _check_window("zscore", window, minimum=2)
    rolling = x.rolling(window, min_periods=window)
    std = rolling.std(ddof=0)
    return (x - rolling.mean()) / std.where(std > 0)


def log_returns(close: Frame) -> Frame:
    """Daily log returns; the first row (and any row after a gap) is NaN."""
    return np.log(close / close.shift(1))


def realized_vol(close: Frame, window: int = 20, annualize: bool = True) -> Frame:
    """Realised volatility: sample standard deviation (ddof=1) of daily log returns over
    ``window`` sessions, times √252 when ``annualize``. First value on row ``window``."""
    window = _check_window("realized_vol", window, minimum=2)
    frame, was_series = _as_frame(log_returns(close))
    vol = rolling_std_values(frame.to_numpy(dtype="float64"), window, ddof=1)
    if annualize:
        vol *= np.sqrt(SESSIONS_PER_YEAR)
    return _like(vol, frame, was_series, getattr(close, "name", None))


def drawdown(close: Frame, window: int) -> Frame:
    """Drawdown from the trailing peak: ``close / max(close over window) − 1`` (≤ 0)."""
    window = _check_window("drawdown", window)
    return close / close.rolling(window, min_periods=window).max() - 1.0


def max_drawdown(close: Frame, window: int) -> Frame:
    """Rolling maximum drawdown: the worst :func:`drawdown` seen over the last ``window``
    sessions, each measured from a peak at most ``window`` sessions before it (≤ 0)."""
    window = _check_window("max_drawdown", window)
    return drawdown(close, window).rolling(window, min_periods=window).min()
