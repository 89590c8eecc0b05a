"""Normalisation: every provider's daily bars → one canonical shape.

Owns the translation of what vendors and users actually hand us into the
Bars contract of DESIGN §3, in two steps:

1. :func:`normalize_frame` turns any *table* of bars (a CSV export, a vendor
   JSON page) into the canonical **long** frame — one row per (symbol, date),
   columns ``date symbol open high low close volume``, source order and
   duplicates kept so validation can still see them. It resolves column-name
   variants (``Date``/``date``/``timestamp``/blank header, ``Open``/``open``/
   ``o``, ``Adj Close``, ``Name``/``ticker``/``T``), turns epoch timestamps
   (s/ms/µs/ns, UTC) and tz-aware strings into New York session dates,
   accepts ISO and ``M/D/YYYY`` dates, upper-cases symbols and applies the
   explicit adjusted/raw choice (``Adj Close`` rescales OHLC only when
   adjusted prices are asked for; nothing is ever guessed).
2. :func:`long_to_bars` pivots a validated long frame into a Bars panel;
   :func:`bars_to_long` and :func:`normalize_bars` go the other way and tidy a
   provider's Bars (tz-aware index, lower-case symbols, unsorted dates).

Extra vendor columns (``Dividends``, ``Stock Splits``, ``vw``, ``n``) are
dropped on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from regimeflex.errors import DataError
from regimeflex.types import BAR_FIELDS, Bars, check_bars, empty_bars

#: Columns of the canonical long frame, in order.
LONG_COLUMNS: tuple[str, ...] = ("date", "symbol", *BAR_FIELDS)
PRICE_FIELDS: tuple[str, ...] = ("open", "high", "low", "close")

# Single-letter vendor keys are case-sensitive (Polygon grouped daily uses
# ``T`` for the ticker and ``t`` for the timestamp), so they are matched first.
_EXACT = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume", "t": "date", "T": "symbol", "S": "symbol"}
# Everything else is matched case- and punctuation-insensitively.
_ALIASES = {
    "date": "date",
    "timestamp": "date",
    "time": "date",
    "datetime": "date",
    "day": "date",
    "sessiondate": "date",
    "unnamed0": "date",
    "index": "date",
    "": "date",
    "open": "open",
    "openprice": "open",
    "high": "high",
    "highprice": "high",
    "low": "low",
    "lowprice": "low",
    "close": "close",
    "closeprice": "close",
    "last": "close",
    "adjclose": "adj_close",
    "adjustedclose": "adj_close",
    "adjclosing": "adj_close",
    "volume": "volume",
    "vol": "volume",
    "symbol": "symbol",
    "ticker": "symbol",
    "name": "symbol",
    "sym": "symbol",
}


def _key(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def canonical_columns(columns: Iterable[object], *, where: str = "data") -> dict[object, str]:
    """Map each recognised source column to its canonical name.

    Unrecognised columns are left out (they are dropped). Two source columns
    mapping to the same canonical name is an error naming both.
    """
    mapping: dict[object, str] = {}
    seen: dict[str, object] = {}
    for col in columns:
        name = _EXACT.get(str(col)) if str(col) in _EXACT else _ALIASES.get(_key(col))
        if name is None:
            continue
        if name in seen:
            raise DataError(f"{where}: columns {seen[name]!r} and {col!r} both mean {name!r}; remove one of them")
        seen[name] = col
        mapping[col] = name
    return mapping


def parse_dates(
    values: pd.Series,
    *,
    where: str = "data",
    date_format: str | None = None,
    bad_rows: list[tuple[int, str]] | None = None,
) -> pd.Series:
    """Parse a date column to tz-naive New York session dates (``datetime64[ns]``, midnight).

    Numbers are epoch timestamps in UTC (unit inferred from magnitude:
    seconds, ms, µs or ns); tz-aware strings/values are converted to New York
    before taking the date; naive values keep their calendar date.

    :param bad_rows: when given, a text date that cannot be read becomes NaT and
        ``(row, "date '…' is not a date")`` is appended here instead of raising.
    """
    series = pd.Series(values)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        parsed = _parse_epoch(series, where)
    elif isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
        parsed = series
    elif bad_rows is not None:
        try:
            parsed = _parse_text_dates(series.astype("string"), where, date_format)
        except DataError:
            parsed = _parse_text_dates_tolerant(series.astype("string"), date_format, bad_rows)
    else:
        parsed = _parse_text_dates(series.astype("string"), where, date_format)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("America/New_York").dt.tz_localize(None)
    return parsed.dt.normalize().astype("datetime64[ns]")


def _parse_epoch(series: pd.Series, where: str) -> pd.Series:
    numbers = series.astype("float64")
    finite = numbers[np.isfinite(numbers)]
    if finite.empty:
        raise DataError(f"{where}: the date column holds no values")
    magnitude = float(np.nanmax(np.abs(finite)))
    unit = "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us" if magnitude < 1e17 else "ns"
    return pd.to_datetime(numbers, unit=unit, utc=True)


def _parse_text_dates(series: pd.Series, where: str, date_format: str | None) -> pd.Series:
    text = series.str.strip()
    if text.isna().any():
        row = int(np.flatnonzero(text.isna().to_numpy())[0])
        raise DataError(f"{where}: empty date on data row {row + 1}; every row needs a date")
    formats = [date_format] if date_format else ["ISO8601", "%m/%d/%Y", "%Y%m%d", "%d.%m.%Y"]
    for fmt in formats:
        try:
            parsed = pd.to_datetime(text, format=fmt)
        except (ValueError, TypeError) as exc:
            if "mixed timezones" in str(exc) or "Mixed timezones" in str(exc) or "offset" in str(exc):
                try:
                    return pd.to_datetime(text, format=fmt, utc=True)
                except (ValueError, TypeError):
                    continue
            continue
        return parsed
    example = str(text.iloc[0]) if len(text) else ""
    hint = f"the date_format {date_format!r}" if date_format else "ISO (2019-01-02) or M/D/YYYY"
    raise DataError(f"{where}: cannot read dates such as {example!r} as {hint}; set date_format for this source")


def _parse_text_dates_tolerant(
    series: pd.Series, date_format: str | None, bad_rows: list[tuple[int, str]]
) -> pd.Series:
    """Dates in the format most of the column is in; every other value NaT and reported in ``bad_rows``."""
    text = series.str.strip()
    formats = [date_format] if date_format else ["ISO8601", "%m/%d/%Y", "%Y%m%d", "%d.%m.%Y"]
    best: pd.Series | None = None
    for fmt in formats:
        try:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        except (ValueError, TypeError):
            continue
        if best is None or parsed.notna().sum() > best.notna().sum():
            best = parsed
    if best is None:
        best = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for row in np.flatnonzero(best.isna().to_numpy()):
        value = text.iloc[row]
        bad_rows.append((int(row), "empty date" if pd.isna(value) or value == "" else f"date {value!r} is not a date"))
    return best


def normalize_frame(
    frame: pd.DataFrame,
    *,
    symbol: str | None = None,
    adjusted: bool = True,
    where: str = "data",
    date_format: str | None = None,
    bad_rows: list[tuple[int, str]] | None = None,
) -> pd.DataFrame:
    """Turn one table of daily bars into the canonical long frame.

    :param frame: the source table; the date may be a column or the index.
    :param symbol: the symbol when the table has no symbol column (one file per symbol).
    :param adjusted: with an ``Adj Close`` column, True rescales open/high/low/close
        by ``adj_close / close`` (yfinance-style adjustment) and False ignores it.
    :param bad_rows: when given, a row whose date or a number cannot be read
        is kept with NaT/NaN and ``(row, what is wrong)`` is appended here (the
        caller drops and reports it) instead of failing the whole table.
    :returns: columns :data:`LONG_COLUMNS`, float64 prices/volume, a missing
        ``volume`` (or open/high/low, for close-only series) column becomes NaN.
    """
    table = frame
    mapping = canonical_columns(table.columns, where=where)
    if "date" not in mapping.values():
        named_date = table.index.name is not None and _ALIASES.get(_key(table.index.name)) == "date"
        if isinstance(table.index, pd.DatetimeIndex) or named_date:
            table = table.reset_index()
            mapping = canonical_columns(table.columns, where=where)
    if "date" not in mapping.values():
        raise DataError(
            f"{where}: no date column (looked for Date, date, timestamp, t or a blank "
            f"first header); columns are {[str(c) for c in frame.columns]}"
        )
    if "close" not in mapping.values():
        raise DataError(
            f"{where}: no close column (looked for Close, close, c); columns are {[str(c) for c in frame.columns]}"
        )
    renamed = table.loc[:, list(mapping)].set_axis(list(mapping.values()), axis=1)
    out = pd.DataFrame(index=pd.RangeIndex(len(renamed)))
    out["date"] = parse_dates(renamed["date"], where=where, date_format=date_format, bad_rows=bad_rows).to_numpy()
    if "symbol" in renamed.columns:
        syms = renamed["symbol"].astype("string").str.strip().str.upper()
        if syms.isna().any():
            row = int(np.flatnonzero(syms.isna().to_numpy())[0])
            raise DataError(f"{where}: empty symbol on data row {row + 1}")
        out["symbol"] = syms.to_numpy(dtype=object)
    elif symbol:
        out["symbol"] = str(symbol).strip().upper()
    else:
        raise DataError(
            f"{where}: no symbol column (Name, symbol, ticker) and no symbol given; "
            f"name the file after its symbol (e.g. SPY.csv) or add a symbol column"
        )
    for field in BAR_FIELDS:
        out[field] = _numeric(renamed[field], where, field, bad_rows) if field in renamed.columns else np.nan
    if "adj_close" in renamed.columns and adjusted:
        factor = _numeric(renamed["adj_close"], where, "adj_close", bad_rows) / out["close"]
        for field in PRICE_FIELDS:
            out[field] = out[field] * factor
    return out.loc[:, list(LONG_COLUMNS)]


def _numeric(values: pd.Series, where: str, field: str, bad_rows: list[tuple[int, str]] | None = None) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64").reset_index(drop=True)
    converted = pd.to_numeric(values.astype("string").str.strip().replace("", pd.NA), errors="coerce")
    bad = converted.isna() & values.notna() & (values.astype("string").str.strip() != "")
    if bad.any() and bad_rows is not None:
        for bad_row in np.flatnonzero(bad.to_numpy()):
            bad_rows.append((int(bad_row), f"{field} value {values.iloc[bad_row]!r} is not a number"))
    elif bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where}: {field} value {values.iloc[first]!r} on data row {first + 1} is not a number")
    return converted.astype("float64").reset_index(drop=True)


def long_to_bars(long: pd.DataFrame, symbols: Iterable[str] = ()) -> Bars:
    """Pivot a long frame with unique (symbol, date) pairs into a Bars panel.

    ``symbols`` adds columns (all NaN) for symbols that have no rows, so the
    caller sees every symbol it asked for. Vectorised: one scatter per field.
    """
    wanted = sorted({*(str(s).upper() for s in symbols), *(str(s) for s in pd.unique(long["symbol"]))})
    if long.empty:
        return empty_bars(tuple(wanted))
    date_codes, dates = pd.factorize(pd.DatetimeIndex(long["date"]), sort=True)
    sym_pos = pd.Index(wanted).get_indexer(long["symbol"].astype(str))
    n_dates, n_syms = len(dates), len(wanted)
    values = np.full((n_dates, len(BAR_FIELDS), n_syms), np.nan)
    for k, field in enumerate(BAR_FIELDS):
        values[date_codes, k, sym_pos] = long[field].to_numpy(dtype="float64", na_value=np.nan)
    columns = pd.MultiIndex.from_product([list(BAR_FIELDS), wanted], names=["field", "symbol"])
    index = pd.DatetimeIndex(dates, name="date").astype("datetime64[ns]")
    return pd.DataFrame(values.reshape(n_dates, -1), index=index, columns=columns)


def bars_to_long(bars: Bars) -> pd.DataFrame:
    """The long frame of a Bars panel, keeping only rows where some field is present."""
    symbols = sorted(set(bars.columns.get_level_values("symbol"))) if len(bars.columns) else []
    full = pd.MultiIndex.from_product([list(BAR_FIELDS), symbols], names=["field", "symbol"])
    panel = bars.reindex(columns=full)
    n_dates, n_syms = len(panel.index), len(symbols)
    cube = panel.to_numpy(dtype="float64", na_value=np.nan).reshape(n_dates, len(BAR_FIELDS), n_syms)
    cube = cube.transpose(2, 0, 1).reshape(n_syms * n_dates, len(BAR_FIELDS))  # symbol-major rows
    keep = ~np.isnan(cube).all(axis=1)
    out = pd.DataFrame(
        {
            "date": np.tile(pd.DatetimeIndex(panel.index).astype("datetime64[ns]").to_numpy(), n_syms)[keep],
            "symbol": np.repeat(np.array(symbols, dtype=object), n_dates)[keep],
        }
    )
    for k, field in enumerate(BAR_FIELDS):
        out[field] = cube[keep, k]
    return out


def normalize_bars(bars: Bars, *, where: str = "provider") -> Bars:
    """Tidy a provider's Bars: New York session dates, upper-case sorted symbols, float64, sorted."""
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"{where}: returned {type(bars).__name__}, expected a Bars DataFrame")
    if not isinstance(bars.columns, pd.MultiIndex) or bars.columns.nlevels != 2:
        raise DataError(f"{where}: returned columns that are not a (field, symbol) MultiIndex")
    panel = bars.copy()
    index = pd.DatetimeIndex(panel.index)
    if index.tz is not None:
        index = index.tz_convert("America/New_York").tz_localize(None)
    panel.index = index.normalize().astype("datetime64[ns]").rename("date")
    panel.columns = pd.MultiIndex.from_tuples(
        [(str(f).lower(), str(s).strip().upper()) for f, s in panel.columns], names=["field", "symbol"]
    )
    symbols = sorted(set(panel.columns.get_level_values("symbol")))
    missing = [f for f in BAR_FIELDS if f not in set(panel.columns.get_level_values("field"))]
    if missing:
        raise DataError(f"{where}: returned Bars without field(s) {missing}")
    full = pd.MultiIndex.from_product([list(BAR_FIELDS), symbols], names=["field", "symbol"])
    panel = panel.loc[:, ~panel.columns.duplicated()].reindex(columns=full).astype("float64")
    panel = panel.sort_index()
    return check_bars(panel, where=where) if panel.index.is_unique else panel


def frames_to_long(frames: Mapping[str, pd.DataFrame], *, adjusted: bool = True, where: str = "data") -> pd.DataFrame:
    """Normalise several per-symbol tables (``{symbol: table}``) into one long frame."""
    parts = [normalize_frame(t, symbol=s, adjusted=adjusted, where=f"{where} ({s})") for s, t in frames.items()]
    if not parts:
        return bars_to_long(empty_bars())
    return pd.concat(parts, ignore_index=True)
