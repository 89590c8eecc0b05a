"""data.yaml: which provider supplies bars, price adjustment, cache and validation policy.

The cache *folder* is ``run.yaml: paths.cache_dir``; this file says how the
cache behaves (format, cleanup limits, lock timeout) and how strict
validation is (one policy per rule; see :mod:`regimeflex.data.validate`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

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
