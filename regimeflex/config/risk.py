"""risk.yaml: the sizer, regime detection and scaling, circuit breakers, calendar guard.

Owns the settings models of risk.yaml. Every circuit breaker is either off
(``null``), a bare threshold (``max_drawdown: 0.2`` keeps the breaker's
default action and reset rule) or a mapping ``{threshold, action, reset}``.
Actions: ``block_entries`` (no new or larger positions), ``reduce:<x>``
(targets × x, 0 < x < 1), ``flatten`` (targets 0). Reset rules:
``next_session``, ``manual`` (``regimeflex risk reset NAME``), ``recovery``
(once the measured value is back below ``recover_below``, default the threshold).
Calendar events (FOMC, OPEX, early close) each have a rule (``skip_entries``,
``reduce:<x>``, ``allow``) and a window of sessions before/after the event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from regimeflex.config.base import FrozenModel, NonNegative, Symbol

ResetRule = Literal["next_session", "manual", "recovery"]


def parse_action(value: str, allowed: tuple[str, ...]) -> tuple[str, float]:
    """``"reduce:0.5"`` → ``("reduce", 0.5)``; a plain allowed word → ``(word, 1.0)``; else ValueError."""
    text = str(value).strip()
    if text.startswith("reduce:"):
        try:
            factor = float(text.split(":", 1)[1])
        except ValueError:
            factor = float("nan")
        if not 0.0 < factor < 1.0:
            raise ValueError(f"reduce:<x> needs 0 < x < 1, got {text!r}")
        return "reduce", factor
    if text in allowed:
        return text, 1.0
    raise ValueError(f"must be one of {', '.join(allowed)} or reduce:<x> (0 < x < 1), got {text!r}")


class RegimeSettings(FrozenModel):
    """How the market regime is read from a benchmark (see :func:`regimeflex.signals.regime_detection.detect_regime`)."""

    benchmark: Symbol = Field("SPY", description="symbol whose close defines the regime")
    window: int = Field(200, ge=2, description="SMA window in sessions")
    band: float = Field(0.02, ge=0, lt=1, description="fraction the close must clear the SMA by")
    neutral: bool = Field(False, description="read the band as 'neutral' instead of keeping the last reading")
    vix_bear: float | None = Field(None, gt=0, description="VIX close at or above this reads bear")
    min_days: int = Field(5, ge=1, description="sessions a new reading must hold before the regime changes")


class RegimeScaling(FrozenModel):
    """Multiplier on target weights per regime (``unknown`` = regime not yet readable)."""

    bull: NonNegative = 1.0
    neutral: NonNegative = 1.0
    bear: NonNegative = 0.5
    unknown: NonNegative = 1.0


class RegimeRiskSettings(FrozenModel):
    """``regime:`` in risk.yaml: how the regime is detected and how it scales exposure."""

    detect: RegimeSettings = RegimeSettings()
    vix_symbol: Symbol | None = Field(
        None, description="symbol of the VIX series in the data layer (the vix breaker and vix_bear)"
    )
    scaling: RegimeScaling = RegimeScaling()

    @model_validator(mode="after")
    def _vix_bear_needs_a_series(self) -> RegimeRiskSettings:
        if self.detect.vix_bear is not None and self.vix_symbol is None:
            raise ValueError(
                "regime.detect.vix_bear needs a VIX series to read: set regime.vix_symbol (e.g. VIX), "
                "or remove vix_bear"
            )
        return self


class BreakerSpec(FrozenModel):
    """One circuit breaker: trips when its measured value reaches ``threshold``."""

    threshold: float
    action: str = "block_entries"
    reset: ResetRule = "next_session"
    recover_below: float | None = Field(
        None, description="recovery reset: value must fall below this (default: the threshold)"
    )

    @field_validator("action")
    @classmethod
    def _action(cls, value: str) -> str:
        parse_action(value, ("block_entries", "flatten"))
        return value.strip()

    @model_validator(mode="after")
    def _recovery_level(self) -> BreakerSpec:
        if self.recover_below is not None and self.recover_below > self.threshold:
            raise ValueError(
                f"recover_below must not exceed threshold, got recover_below={self.recover_below:g} "
                f"threshold={self.threshold:g}"
            )
        return self

    @property
    def action_kind(self) -> str:
        return parse_action(self.action, ("block_entries", "flatten"))[0]

    @property
    def reduce_factor(self) -> float:
        kind, factor = parse_action(self.action, ("block_entries", "flatten"))
        return 0.0 if kind == "flatten" else factor


#: breaker name → (kind of threshold, default threshold, default action, default reset, what it measures)
BREAKERS: dict[str, tuple[str, float, str, ResetRule, str]] = {
    "max_drawdown": ("fraction", 0.25, "flatten", "manual", "drawdown of equity from its peak"),
    "daily_loss": ("fraction", 0.05, "block_entries", "next_session", "loss since the previous close"),
    "vix": ("level", 45.0, "reduce:0.5", "recovery", "VIX close"),
    "stale_data": ("count", 3, "block_entries", "recovery", "sessions the newest bar is behind"),
    "rejected_orders": ("count", 5, "block_entries", "next_session", "orders rejected this session"),
    "max_orders_per_day": ("count", 100, "block_entries", "next_session", "orders sent or planned this session"),
    "concentration": ("fraction", 0.5, "block_entries", "recovery", "largest single-name |weight|"),
}


def _check_threshold(name: str, value: float) -> None:
    kind = BREAKERS[name][0]
    if kind == "fraction" and not 0.0 < value <= 1.0:
        raise ValueError(f"must be between 0 and 1, got {value:g}")
    if kind == "level" and not value > 0:
        raise ValueError(f"must be greater than 0, got {value:g}")
    if kind == "count" and (value < 1 or value != int(value)):
        raise ValueError(f"must be a whole number of at least 1, got {value:g}")


def _default_breaker(name: str) -> BreakerSpec:
    _, threshold, action, reset, _ = BREAKERS[name]
    return BreakerSpec(threshold=threshold, action=action, reset=reset)


class CircuitBreakerSettings(FrozenModel):
    """``circuit_breakers:`` in risk.yaml. ``null`` switches a breaker off."""

    max_drawdown: BreakerSpec | None = Field(default_factory=lambda: _default_breaker("max_drawdown"))
    daily_loss: BreakerSpec | None = Field(default_factory=lambda: _default_breaker("daily_loss"))
    vix: BreakerSpec | None = Field(default_factory=lambda: _default_breaker("vix"))
    stale_data: BreakerSpec | None = Field(default_factory=lambda: _default_breaker("stale_data"))
    rejected_orders: BreakerSpec | None = Field(default_factory=lambda: _default_breaker("rejected_orders"))
    max_orders_per_day: BreakerSpec | None = Field(default_factory=lambda: _default_breaker("max_orders_per_day"))
    concentration: BreakerSpec | None = Field(default_factory=lambda: _default_breaker("concentration"))

    @field_validator(*BREAKERS, mode="before")
    @classmethod
    def _shorthand(cls, value: Any, info: Any) -> Any:
        """A bare number is the threshold with the breaker's default action and reset."""
        name = info.field_name
        if isinstance(value, bool):
            raise ValueError(f"must be a threshold, a mapping or null, got {value!r}")
        if isinstance(value, (int, float)):
            _check_threshold(name, float(value))
            _, _, action, reset, _ = BREAKERS[name]
            return {"threshold": value, "action": action, "reset": reset}
        if isinstance(value, dict):
            _, _, action, reset, _ = BREAKERS[name]
            value = {"action": action, "reset": reset, **value}
            if isinstance(value.get("threshold"), (int, float)) and not isinstance(value["threshold"], bool):
                try:
                    _check_threshold(name, float(value["threshold"]))
                except ValueError as exc:
                    raise ValueError(f"threshold {exc}") from None
        return value

    def enabled(self) -> dict[str, BreakerSpec]:
        """The breakers that are on, by name, in a stable order."""
        return {name: spec for name in BREAKERS if (spec := getattr(self, name)) is not None}


class EventRule(FrozenModel):
    """What the calendar guard does around one kind of event."""

    rule: str = "allow"
    before: int = Field(0, ge=0, le=10, description="sessions before the event also guarded")
    after: int = Field(0, ge=0, le=10, description="sessions after the event also guarded")

    @field_validator("rule")
    @classmethod
    def _rule(cls, value: str) -> str:
        parse_action(value, ("skip_entries", "allow"))
        return value.strip()

    @property
    def kind(self) -> str:
        return parse_action(self.rule, ("skip_entries", "allow"))[0]

    @property
    def factor(self) -> float:
        return parse_action(self.rule, ("skip_entries", "allow"))[1]


class FomcRule(EventRule):
    """FOMC announcement days; ``dates`` replaces the shipped list when given."""

    rule: str = "skip_entries"
    dates: list[dt.date] | None = None


class CalendarSettings(FrozenModel):
    """``calendar:`` in risk.yaml: the per-event rules (sessions are XNYS's)."""

    fomc: FomcRule = FomcRule()
    opex: EventRule = EventRule(rule="allow")
    early_close: EventRule = EventRule(rule="allow")
    upcoming_sessions: int = Field(10, ge=1, le=260, description="how far `risk status` looks ahead")


class SizingCaps(BaseModel):
    """The caps every built-in sizer shares (part of ``sizer.params`` in risk.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_weight: float = Field(0.25, gt=0, le=1, description="largest |weight| of one position")
    max_gross: float = Field(1.0, gt=0, le=4, description="largest sum of |weights|")
    cash_buffer: float = Field(0.0, ge=0, lt=1, description="fraction of equity kept in cash")
    max_names: int | None = Field(None, ge=1, description="most positions held at once")


class SizerSettings(FrozenModel):
    plugin: str = "equal_weight"
    params: dict[str, Any] = Field(default_factory=dict)


class StopSettings(FrozenModel):
    """``stops:`` in risk.yaml: the protective stop attached to every long entry (docs/risk.md)."""

    kind: Literal["none", "fixed", "atr", "trailing"] = Field(
        "none", description="none | fixed (pct below entry) | atr (atr_multiple × ATR) | trailing (pct, ratchets)"
    )
    pct: float = Field(0.08, gt=0, lt=1, description="fixed/trailing: stop distance as a fraction of the entry price")
    atr_multiple: float = Field(3.0, gt=0, description="atr: stop distance in ATRs")
    atr_window: int = Field(14, ge=2, le=250, description="atr: Wilder ATR window in sessions")
    take_profit_pct: float | None = Field(None, gt=0, description="sell when price rises this fraction above entry")
    cooldown_sessions: int = Field(
        0, ge=0, le=250, description="after a stop-out, sessions before the symbol may be bought again (0: none)"
    )


#: capability tag of a broker that places take-profits (paper simulates them; Alpaca: an OCO exit)
SUPPORTS_TAKE_PROFIT = "supports_take_profit"
#: capability tag of a broker that can pair a take-profit with a *trailing* stop
SUPPORTS_TRAILING_TAKE_PROFIT = "supports_trailing_take_profit"


def require_stops_supported(stops: StopSettings, *, broker: str, capabilities: Any) -> None:
    """Refuse risk.yaml ``stops:`` the configured broker cannot place, before anything is sent.

    A take-profit needs ``supports_take_profit``; a take-profit with ``kind: trailing`` needs
    ``supports_trailing_take_profit`` (Alpaca has no such order: its OCO legs are a limit and a
    stop / stop-limit, trailing stops are single orders only). One ConfigError (exit 2) naming the
    keys, the broker and the fix."""
    from regimeflex.errors import ConfigError

    if not stops.take_profit_pct or stops.kind == "none":
        return
    if not capabilities.get(SUPPORTS_TAKE_PROFIT, False):
        raise ConfigError(
            f"risk.yaml: stops.take_profit_pct is set but broker.yaml: broker '{broker}' does not declare "
            f"{SUPPORTS_TAKE_PROFIT} (it cannot place a take-profit); remove stops.take_profit_pct or use a "
            "broker that places take-profits (paper, alpaca)"
        )
    if stops.kind == "trailing" and not capabilities.get(SUPPORTS_TRAILING_TAKE_PROFIT, False):
        raise ConfigError(
            f"risk.yaml: stops.kind: trailing with stops.take_profit_pct is refused with broker.yaml: broker "
            f"'{broker}': it cannot pair a trailing stop with a take-profit (at Alpaca an OCO exit's legs are a "
            "limit and a stop or stop-limit; trailing stops are single orders only); use stops.kind: fixed or "
            "atr with the take-profit, or remove stops.take_profit_pct to keep the trailing stop"
        )


class RiskSettings(FrozenModel):
    sizer: SizerSettings = SizerSettings()
    stops: StopSettings = StopSettings()
    regime: RegimeRiskSettings = RegimeRiskSettings()
    circuit_breakers: CircuitBreakerSettings = CircuitBreakerSettings()
    calendar: CalendarSettings = CalendarSettings()
    state_file: str = Field(
        "risk_state.json", min_length=1, description="breaker state file name inside run.yaml paths.state_dir"
    )
