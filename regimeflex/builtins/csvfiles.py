"""The built-in ``csv`` data provider: the files users export, read as they are.

Serves Bars from a folder of per-symbol CSV files or one long file with a
symbol column; the reading itself (file names → symbols, column names, date
formats, ``Adj Close``) is the data layer's :mod:`regimeflex.data.csvread`,
the same reader ``data import`` and ``data validate`` use. Whether the files
hold adjusted or raw prices is declared in data.yaml
(``providers.csv.prices``), never guessed.

Registered in pyproject as ``csv = "regimeflex.builtins.csvfiles"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from regimeflex.config.data import CsvSourceSettings
from regimeflex.hookspecs import hookimpl
from regimeflex.types import BarsRequest, CorporateAction

if TYPE_CHECKING:
    from regimeflex.types import Bars

__all__ = [
    "CsvSettings",
    "bars_source",
    "load",
    "provide_bars",
    "settings_model",
]  # read_source and symbol_from_filename too, through __getattr__


def __getattr__(name: str) -> Any:
    """The file reader's helpers (and pandas) load on first use, so listing plugins or showing the config does not."""
    if name in ("read_source", "symbol_from_filename"):
        from regimeflex.data import csvread

        return getattr(csvread, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CsvSettings(CsvSourceSettings):
    """``providers.csv`` in data.yaml (the reader's options, see :class:`regimeflex.data.csvread.CsvSourceSettings`)."""

    path: Path = Field(..., description="A folder of CSV files or one CSV file (relative to the project root).")


def load(settings: CsvSettings, symbols: tuple[str, ...], start: date, end: date, *, adjusted: bool) -> Bars:
    """Bars for ``symbols`` in ``[start, end]`` from the configured files.

    Bars cannot hold two rows for one session, so the rows exactly as read
    (duplicates and source order intact) travel with the panel in
    ``bars.attrs["rows"]`` and the reader's findings in ``bars.attrs["findings"]``:
    the core validates those, the same way ``data import`` does.
    """
    import pandas as pd

    from regimeflex.data.csvread import read_source
    from regimeflex.data.normalize import long_to_bars

    long = read_source(settings.path, adjusted=adjusted, settings=settings, symbols=symbols)
    findings = long.attrs.get("findings", [])
    long = long[(long["date"] >= pd.Timestamp(start)) & (long["date"] <= pd.Timestamp(end))]
    bars = long_to_bars(long.drop_duplicates(subset=["symbol", "date"], keep="last"), symbols)
    bars.attrs["rows"] = long.reset_index(drop=True)
    bars.attrs["findings"] = list(findings)
    return bars


@hookimpl
def provide_bars(request: BarsRequest) -> Bars:
    settings = CsvSettings.model_validate(dict(request.settings or {}))
    return load(settings, tuple(request.symbols), request.start, request.end, adjusted=request.adjusted)


@hookimpl
def bars_source(request: BarsRequest) -> dict[str, Any]:
    """Every csv setting changes values; each symbol is served by its own files and every long file."""
    from regimeflex.data.csvread import source_files

    settings = CsvSettings.model_validate(dict(request.settings or {}))
    files = source_files(settings.path, settings=settings, symbols=tuple(request.symbols))
    values = settings.model_dump(mode="json", exclude={"actions_path"})  # the actions file changes no bar
    return {"settings": values, "files": {s: [str(p) for p in v] for s, v in files.items()}}


@hookimpl
def provide_corporate_actions(
    symbols: Sequence[str], start: date, end: date, settings: Mapping[str, Any]
) -> list[CorporateAction] | None:
    """The actions of ``providers.csv.actions_path`` (None without one: not provided, never "none")."""
    from regimeflex.data.actions import read_actions_file

    cfg = CsvSettings.model_validate(dict(settings or {}))
    if cfg.actions_path is None:
        return None
    wanted = {s.upper() for s in symbols}
    return [a for a in read_actions_file(cfg.actions_path) if a.symbol in wanted and start <= a.ex_date <= end]


@hookimpl
def capabilities() -> dict[str, bool]:
    # your own files of real prices: a live run may trade on them (freshness is checked per run)
    return {"real_market_data": True}


@hookimpl
def settings_model() -> type[BaseModel]:
    return CsvSettings
