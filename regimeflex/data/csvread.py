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

import csv
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from regimeflex.config.data import CsvOptions as CsvOptions  # re-exported: data.yaml settings
from regimeflex.config.data import CsvSourceSettings as CsvSourceSettings
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


def read_header(file: Path) -> list[str]:
    """A CSV file's column names (its first record; ``[]`` for an empty file), as ``pd.read_csv(nrows=0)``
    gives them for the header check. Read with the csv module: pandas' parser costs ~1 ms a file, which a
    backtest over 500 per-symbol files paid twice per process (the source scan of every load)."""
    with file.open(encoding="utf-8-sig", newline="") as fh:
        names = next(csv.reader(fh), [])
    return [name or f"Unnamed: {i}" for i, name in enumerate(names)]  # pandas' name for a blank header cell


def _has_symbol_column(header: list[str], symbol_column: str | None) -> bool:
    if symbol_column:
        return symbol_column in header
    return any(_ALIASES.get(_key(c)) == "symbol" or c in ("T", "S") for c in header)


#: ``Skipping line 7: expected 7 fields, saw 8`` (pandas' on_bad_lines="warn" message)
_BAD_LINE = re.compile(r"line (\d+): expected (\d+) fields?, saw (\d+)")


def _read_table(path: Path, options: CsvOptions) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """The file as text columns, and the lines skipped for having more fields than the header."""
    dtype = {options.symbol_column: "string"} if options.symbol_column else None
    na = list(options.na_values) or None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            table = pd.read_csv(path, dtype=dtype, na_values=na, on_bad_lines="warn")
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"{path}: cannot be read as CSV ({exc})") from None
    skipped: list[tuple[int, str]] = []
    for warning in caught:
        for line, want, saw in _BAD_LINE.findall(str(warning.message)):
            skipped.append((int(line), f"{saw} fields where the header has {want}"))
    if skipped:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        skipped = [(n, f"{why}: {lines[n - 1][:120]!r}" if 0 < n <= len(lines) else why) for n, why in sorted(skipped)]
    return table, skipped


def _file_line(row: int, skipped: list[tuple[int, str]]) -> int:
    """The 1-based file line of data row ``row`` (0-based) given the skipped lines (header = line 1)."""
    line = row + 2
    for n, _ in skipped:
        if n <= line:
            line += 1
    return line


def read_file(
    path: Path,
    *,
    adjusted: bool,
    options: CsvOptions | None = None,
    symbols: set[str] | None = None,
) -> pd.DataFrame:
    """One CSV file → canonical long frame (``symbols`` filters long files early).

    A row that cannot be read — a date that is not a date, a price that is not
    a number, more fields than the header — is left out and reported as an
    ``unreadable_row`` finding naming the line and the bad value (in
    ``frame.attrs["findings"]``); the rest of the file is read.

    ``options.prices`` declares what Open/High/Low/Close hold; a file with an
    Adj Close column needs no declaration (both are there). An OHLC file
    without Adj Close whose basis is not declared is an error, never a guess;
    so is a declared basis that differs from what ``adjusted`` asks for.
    """
    from regimeflex.data.validate import Finding

    options = options or CsvOptions()
    table, skipped = _read_table(path, options)
    if table.empty and len(table.columns) == 0:
        raise DataError(f"{path}: the file is empty")
    header = [str(c) for c in table.columns]
    if options.columns:
        missing = sorted(c for c in options.columns.values() if c not in header)
        if missing:
            raise DataError(f"{path}: no column(s) {missing} (providers.csv columns); columns are {header}")
        mapped = set(options.columns.values())
        # the mapping wins: other columns that would mean the same field are ignored
        clash = {
            c for c in header if c not in mapped and _ALIASES.get(_key(c)) in options.columns and c not in ("T", "S")
        }
        table = table.drop(columns=list(clash)).rename(columns={v: k for k, v in options.columns.items()})
        header = [str(c) for c in table.columns]
    symbol_column = options.symbol_column
    if symbol_column and symbol_column not in header:
        raise DataError(f"{path}: no column {symbol_column!r} (providers.csv.symbol_column); columns are {header}")
    if symbol_column:
        table = table.rename(columns={symbol_column: "symbol"})
    canon = {_ALIASES.get(_key(c)) for c in header}
    wanted_basis = "adjusted" if adjusted else "raw"
    has_adj = "adj_close" in canon
    close_only = options.close_only or not ({"open", "high", "low"} & canon)
    if options.prices is not None and options.prices != wanted_basis and not has_adj and not close_only:
        raise DataError(
            f"{path}: data.yaml asks for {wanted_basis} prices, providers.csv.prices says this "
            f"file holds {options.prices} prices and it has no Adj Close column to convert with; "
            f"set adjusted: {str(not adjusted).lower()} in data.yaml or supply {wanted_basis} files"
        )
    if options.prices is None and not has_adj and not close_only:
        raise DataError(
            f"{path}: has no Adj Close column, so whether its Open/High/Low/Close are split/dividend-adjusted "
            f"or raw cannot be told; declare it in data.yaml: providers.csv.prices: adjusted | raw "
            f"(or per file under providers.csv.files)"
        )
    if options.close_only:
        table = table.drop(columns=[c for c in table.columns if _ALIASES.get(_key(c)) in ("open", "high", "low")])
    long_file = _has_symbol_column([str(c) for c in table.columns], "symbol" if symbol_column else None)
    default_symbol = options.symbol or symbol_from_filename(path)
    bad: list[tuple[int, str]] = []
    long = normalize_frame(
        table,
        symbol=None if long_file else default_symbol,
        adjusted=adjusted,
        where=str(path),
        date_format=options.date_format,
        bad_rows=bad,
    )
    findings = [
        Finding(
            default_symbol if not long_file else "?", None, "unreadable_row", "rejected", f"{path.name} line {n}: {why}"
        )
        for n, why in skipped
    ]
    if bad:
        rows = sorted({r for r, _ in bad})
        syms = long["symbol"].to_numpy()
        for row, why in bad:
            sym = str(syms[row]) if long_file and isinstance(syms[row], str) else default_symbol
            findings.append(
                Finding(sym, None, "unreadable_row", "rejected", f"{path.name} line {_file_line(row, skipped)}: {why}")
            )
        long = long.drop(index=rows).reset_index(drop=True)
    if symbols is not None:
        long = long[long["symbol"].isin(symbols)]
        findings = [f for f in findings if f.symbol in symbols or f.symbol == "?"]
    long.attrs["findings"] = findings
    return long


def read_source(
    path: Path,
    *,
    adjusted: bool = True,
    settings: CsvSourceSettings | None = None,
    symbols: tuple[str, ...] | None = None,
    progress: Callable[[int, Path], None] | None = None,
) -> pd.DataFrame:
    """Every requested symbol's rows from a file or folder, as one canonical long frame.

    Rows that could not be read are in ``frame.attrs["findings"]`` (``unreadable_row``, rejected).
    ``progress(n_files, file)`` is called before each file is read (for a progress bar).
    """
    settings = settings or CsvSourceSettings()
    wanted = {s.upper() for s in symbols} if symbols is not None else None
    parts = []
    findings: list[Any] = []
    files = _files(Path(path), settings.pattern)
    for file in files:
        if progress is not None:
            progress(len(files), file)
        options = settings.options_for(file)
        if wanted is not None and file.parent != file and Path(path).is_dir():
            header = read_header(file)
            own = options.symbol or symbol_from_filename(file)
            if not _has_symbol_column(header, options.symbol_column) and own not in wanted:
                continue  # a per-symbol file nobody asked for: do not even parse it
        part = read_file(file, adjusted=adjusted, options=options, symbols=wanted)
        findings.extend(part.attrs.get("findings", []))
        parts.append(part)
    if not parts:
        out = pd.DataFrame(
            {
                c: pd.Series(dtype="datetime64[ns]" if c == "date" else object if c == "symbol" else "float64")
                for c in LONG_COLUMNS
            }
        )
    else:
        out = pd.concat(parts, ignore_index=True)
    out.attrs["findings"] = findings
    return out


def source_files(
    path: Path, *, settings: CsvSourceSettings | None = None, symbols: tuple[str, ...] = ()
) -> dict[str, list[Path]]:
    """Which files each symbol's rows are read from: its own ``SYMBOL*.csv`` files plus every long file.

    Reads headers only. A missing folder or file serves nothing (the load then says why).
    """
    settings = settings or CsvSourceSettings()
    root = Path(path)
    try:
        files = _files(root, settings.pattern)
    except DataError:
        return {s.upper(): [] for s in symbols}
    long_files: list[Path] = []
    by_symbol: dict[str, list[Path]] = {}
    for file in files:
        if root.is_file():
            long_files.append(file)
            continue
        try:
            header = read_header(file)
        except (OSError, ValueError, csv.Error):
            header = []
        options = settings.options_for(file)
        if _has_symbol_column(header, options.symbol_column):
            long_files.append(file)
        else:
            by_symbol.setdefault((options.symbol or symbol_from_filename(file)).upper(), []).append(file)
    return {s.upper(): [*by_symbol.get(s.upper(), []), *long_files] for s in symbols}
