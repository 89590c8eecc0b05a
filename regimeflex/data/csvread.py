"""Reading CSV files as users have them into the canonical long frame (the data layer's file reader).

Owns turning a folder of per-symbol files (``SPY.csv``, ``orcl-1995-2014.csv``
→ ORCL: the symbol is the file name up to the first ``-``/``_``), one long file
with a symbol column (``Name``, ``symbol``, ``ticker``), or a folder mixing
both, into the canonical long frame with duplicates and source order intact.
Column names, date formats and ``Adj Close`` are handled by
:mod:`regimeflex.data.normalize`. ``data import``/``data validate`` and the
built-in ``csv`` provider plugin all read files through here, so they see the
same rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from regimeflex.data.normalize import _ALIASES, LONG_COLUMNS, _key, normalize_frame
from regimeflex.errors import DataError

_SYMBOL_FROM_NAME = re.compile(r"^([A-Za-z0-9.^]+?)(?:[-_ ].*)?$")


def symbol_from_filename(path: Path) -> str:
    """``orcl-1995-2014.csv`` → ``ORCL``; ``^VIX.csv`` → ``^VIX``."""
    match = _SYMBOL_FROM_NAME.match(path.stem)
    return (match.group(1) if match else path.stem).upper()


def _files(root: Path, pattern: str) -> list[Path]:
    if root.is_file():
        return [root]
    if root.is_dir():
        files = sorted(p for p in root.glob(pattern) if p.is_file())
        if not files:
            raise DataError(
                f"csv provider: no files matching {pattern!r} in {root}; "
                f"put SYMBOL.csv files there or change providers.csv.pattern"
            )
        return files
    raise DataError(
        f"csv provider: {root} does not exist; set providers.csv.path in data.yaml "
        f"to a folder of CSV files or one CSV file"
    )


def _has_symbol_column(header: list[str], symbol_column: str | None) -> bool:
    if symbol_column:
        return symbol_column in header
    return any(_ALIASES.get(_key(c)) == "symbol" or c in ("T", "S") for c in header)


def read_file(
    path: Path,
    *,
    adjusted: bool,
    prices: str | None = None,
    symbol_column: str | None = None,
    date_format: str | None = None,
    symbols: set[str] | None = None,
) -> pd.DataFrame:
    """One CSV file → canonical long frame (``symbols`` filters long files early).

    ``prices`` declares what Open/High/Low/Close hold ("adjusted"/"raw"); when
    it differs from what ``adjusted`` asks for and the file has no Adj Close
    column to convert with, that is an error rather than a guess.
    """
    try:
        table = pd.read_csv(path, dtype={symbol_column: "string"} if symbol_column else None)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from None
    if table.empty and len(table.columns) == 0:
        raise DataError(f"{path}: the file is empty")
    header = [str(c) for c in table.columns]
    if symbol_column and symbol_column not in header:
        raise DataError(f"{path}: no column {symbol_column!r} (providers.csv.symbol_column); columns are {header}")
    if symbol_column and symbol_column in header:
        table = table.rename(columns={symbol_column: "symbol"})
    wanted_basis = "adjusted" if adjusted else "raw"
    has_adj = any(_ALIASES.get(_key(c)) == "adj_close" for c in header)
    if prices is not None and prices != wanted_basis and not has_adj:
        raise DataError(
            f"{path}: data.yaml asks for {wanted_basis} prices, providers.csv.prices says this "
            f"file holds {prices} prices and it has no Adj Close column to convert with; "
            f"set adjusted: {str(not adjusted).lower()} in data.yaml or supply {wanted_basis} files"
        )
    long_file = _has_symbol_column([str(c) for c in table.columns], "symbol" if symbol_column else None)
    long = normalize_frame(
        table,
        symbol=None if long_file else symbol_from_filename(path),
        adjusted=adjusted,
        where=str(path),
        date_format=date_format,
    )
    if symbols is not None:
        long = long[long["symbol"].isin(symbols)]
    return long


def read_source(
    path: Path,
    *,
    adjusted: bool = True,
    prices: str | None = None,
    pattern: str = "*.csv",
    symbol_column: str | None = None,
    date_format: str | None = None,
    symbols: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Every requested symbol's rows from a file or folder, as one canonical long frame."""
    wanted = {s.upper() for s in symbols} if symbols is not None else None
    parts = []
    for file in _files(Path(path), pattern):
        if wanted is not None and file.parent != file and Path(path).is_dir():
            header = pd.read_csv(file, nrows=0).columns.astype(str).tolist()
            if not _has_symbol_column(header, symbol_column) and symbol_from_filename(file) not in wanted:
                continue  # a per-symbol file nobody asked for: do not even parse it
        parts.append(
            read_file(
                file,
                adjusted=adjusted,
                prices=prices,
                symbol_column=symbol_column,
                date_format=date_format,
                symbols=wanted,
            )
        )
    if not parts:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="datetime64[ns]" if c == "date" else object if c == "symbol" else "float64")
                for c in LONG_COLUMNS
            }
        )
    return pd.concat(parts, ignore_index=True)


def source_files(
    path: Path, *, pattern: str = "*.csv", symbol_column: str | None = None, symbols: tuple[str, ...] = ()
) -> dict[str, list[Path]]:
    """Which files each symbol's rows are read from: its own ``SYMBOL*.csv`` files plus every long file.

    Reads headers only. A missing folder or file serves nothing (the load then says why).
    """
    root = Path(path)
    try:
        files = _files(root, pattern)
    except DataError:
        return {s.upper(): [] for s in symbols}
    long_files: list[Path] = []
    by_symbol: dict[str, list[Path]] = {}
    for file in files:
        if root.is_file():
            long_files.append(file)
            continue
        try:
            header = pd.read_csv(file, nrows=0).columns.astype(str).tolist()
        except (OSError, ValueError, pd.errors.ParserError):
            header = []
        if _has_symbol_column(header, symbol_column):
            long_files.append(file)
        else:
            by_symbol.setdefault(symbol_from_filename(file), []).append(file)
    return {s.upper(): [*by_symbol.get(s.upper(), []), *long_files] for s in symbols}
