"""data.yaml: which provider supplies bars, price adjustment, cache and validation policy.

The cache *folder* is ``run.yaml: paths.cache_dir``; this file says how the
cache behaves (format, cleanup limits, lock timeout) and how strict
validation is (one policy per rule; see :mod:`regimeflex.data.validate`).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from regimeflex.config.base import FrozenModel


class RulePolicies(FrozenModel):
    """``validation.policy``: what happens when a rule fails (each rule accepts only its own policies).

    ``reject`` keeps the row out of the cache and the run, ``warn`` keeps it and
    reports it, ``repair`` applies the rule's documented fix, ``ignore`` turns the rule off.
    """

    unreadable_row: Literal["reject"] = "reject"
    unsorted_dates: Literal["repair", "warn", "ignore"] = "repair"
    duplicate_row: Literal["repair", "reject", "warn", "ignore"] = "repair"
    duplicate_date: Literal["reject", "warn"] = "reject"
    non_session: Literal["reject", "warn", "ignore"] = "reject"
    future_date: Literal["reject", "warn"] = "reject"
    nan_field: Literal["reject", "repair", "warn"] = "reject"
    non_positive_price: Literal["reject", "warn"] = "reject"
    negative_volume: Literal["reject", "warn"] = "reject"
    ohlc_inconsistent: Literal["reject", "repair", "warn", "ignore"] = "reject"
    zero_volume: Literal["warn", "reject", "ignore"] = "warn"
    outlier_jump: Literal["warn", "reject", "ignore"] = "warn"
    missing_session: Literal["warn", "ignore"] = "warn"
    short_history: Literal["warn", "ignore"] = "warn"


class ValidationSettings(FrozenModel):
    #: a close more than this many times (or less than 1/this) the previous close is an outlier jump
    outlier_factor: float = Field(default=3.0, gt=1.0)
    policy: RulePolicies = RulePolicies()


class CacheSettings(FrozenModel):
    """How ``data/cache/<provider>/`` behaves."""

    #: one file per symbol: csv (opens in a spreadsheet), parquet (compact, fast) or arrow
    #: (Arrow IPC, memory-mapped: the fastest to load, for big universes and backtests)
    format: Literal["csv", "parquet", "arrow"] = "csv"
    #: keep at most this many symbols per provider (least recently used go first); None = no limit
    max_symbols: int | None = Field(default=None, ge=1)
    #: remove symbols nobody has asked for in this many days; None = never
    max_unused_days: int | None = Field(default=None, ge=1)
    #: seconds to wait for another process holding the cache lock
    lock_timeout: float = Field(default=30.0, gt=0)


class DataSettings(FrozenModel):
    provider: str = "synthetic"
    #: split/dividend-adjusted prices (True) or raw prints (False) — explicit, never guessed.
    adjusted: bool = True
    #: each provider's own section, validated by the provider plugin's settings_model()
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    cache: CacheSettings = CacheSettings()
    validation: ValidationSettings = ValidationSettings()


#: The fields a CSV column can be mapped to (``providers.csv.columns``): the long frame's columns plus ``adj_close``.
CSV_FIELDS: tuple[str, ...] = ("date", "symbol", "open", "high", "low", "close", "volume", "adj_close")


class CsvOptions(BaseModel):
    """How to read one CSV source (data.yaml ``providers.csv``, or one entry of its ``files:``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str | None = Field(None, description="The symbol of this file (default: the file name up to - or _).")
    symbol_column: str | None = Field(
        None, description="Column holding the symbol in long files (default: Name, symbol or ticker)."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Which column holds each field, e.g. {date: DATE, close: VIXCLS} (fields: date, open, high, "
        "low, close, adj_close, volume, symbol).",
    )
    na_values: list[str] = Field(
        default_factory=list, description='Extra markers of a missing value, e.g. ["."] in FRED downloads.'
    )
    date_format: str | None = Field(None, description="strptime format when dates are neither ISO nor M/D/YYYY.")
    prices: Literal["adjusted", "raw"] | None = Field(
        None,
        description="What Open/High/Low/Close hold when there is no Adj Close column; required for such "
        "OHLC files (never assumed).",
    )
    close_only: bool = Field(
        False, description="A close-only series (an index level, a rate, VIX): only a close is required."
    )

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        known = set(CSV_FIELDS)
        wrong = sorted(set(value) - known)
        if wrong:
            raise ValueError(f"unknown field(s) {wrong}; map any of {sorted(known)} to a column name")
        return value


class CsvSourceSettings(CsvOptions):
    """``providers.csv`` in data.yaml: where the files are, how to read them, and per-file exceptions."""

    path: Path | None = Field(None, description="A folder of CSV files or one CSV file (relative to the project root).")
    pattern: str = Field("*.csv", description="Which files of the folder to read.")
    actions_path: Path | None = Field(
        None,
        description="A CSV file of the symbols' splits and cash dividends (symbol,ex_date,kind,ratio,cash; "
        "docs/data.md); without it the csv provider does not provide corporate actions.",
    )
    files: dict[str, CsvOptions] = Field(
        default_factory=dict,
        description="Options for particular files (a file name or glob under path), e.g. "
        "{VIXCLS.csv: {symbol: VIX, columns: {close: VIXCLS}, na_values: ['.'], close_only: true}}.",
    )

    def options_for(self, file: Path) -> CsvOptions:
        """The top-level options overlaid with every ``files:`` entry whose name or glob matches ``file``."""
        merged = {k: getattr(self, k) for k in CsvOptions.model_fields}
        for pattern, opts in self.files.items():
            if fnmatch.fnmatch(file.name, pattern) or str(file).endswith(pattern):
                merged.update({k: getattr(opts, k) for k in opts.model_fields_set})
        return CsvOptions(**merged)
