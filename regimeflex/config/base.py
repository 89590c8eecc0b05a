"""Shared pieces of every settings model: frozen, strict, with readable errors."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from regimeflex.errors import ConfigError


class FrozenModel(BaseModel):
    """Base of every settings object: immutable, unknown keys are errors (typos must not pass)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be between 0 and 1, got {value:g}")
    return value


def _positive(value: float) -> float:
    if not value > 0:
        raise ValueError(f"must be greater than 0, got {value:g}")
    return value


def _non_negative(value: float) -> float:
    if value < 0:
        raise ValueError(f"must be 0 or more, got {value:g}")
    return value


def normalise_symbol(value: Any) -> Any:
    """A ticker as the data layer keys it: surrounding whitespace stripped, upper-cased."""
    return value.strip().upper() if isinstance(value, str) else value


def _ticker(value: str) -> str:
    if not value or not value.replace(".", "").replace("-", "").replace("^", "").isalnum():
        raise ValueError(f"not a ticker symbol: {value!r}")
    return value


#: A ticker symbol wherever YAML names one (universe, benchmark, VIX series): `` spy `` → ``SPY``.
Symbol = Annotated[str, BeforeValidator(normalise_symbol), AfterValidator(_ticker)]

#: A float in [0, 1] whose error reads "must be between 0 and 1, got 1.5".
Fraction = Annotated[float, AfterValidator(_fraction)]
Positive = Annotated[float, AfterValidator(_positive)]
NonNegative = Annotated[float, AfterValidator(_non_negative)]


def readonly(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only view (nested dicts too) handed to plugins, so they cannot mutate settings."""
    if mapping is None:
        return MappingProxyType({})
    return MappingProxyType({k: readonly(v) if isinstance(v, Mapping) else v for k, v in mapping.items()})


#: Keys that were accepted once but read by nothing: (file, key path) → why and the fix.
RETIRED_KEYS: dict[tuple[str, str], str] = {
    ("run.yaml", "calendar"): "removed: RegimeFlex trades XNYS sessions only; delete this key",
    ("risk.yaml", "calendar.exchange"): "removed: the calendar guard uses XNYS sessions only; delete this key",
}


def format_validation_error(where: str, exc: ValidationError, prefix: str = "") -> str:
    """One line per problem: ``risk.yaml: circuit_breakers.max_drawdown: must be between 0 and 1, got 1.5``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (*([prefix] if prefix else []), *err["loc"]))
        msg = err["msg"]
        for noise in ("Value error, ", "Assertion failed, "):
            msg = msg.replace(noise, "")
        if err["type"] == "extra_forbidden":
            msg = RETIRED_KEYS.get(
                (where, loc), "unknown key (check the spelling; see `regimeflex config show` for valid keys)"
            )
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "got" not in msg and "input" in err and not isinstance(err["input"], (dict, list)):
            msg = f"{msg}, got {err['input']!r}"
        lines.append(f"{where}: {loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def validate_model(model: type[BaseModel], raw: Any, where: str, prefix: str = "") -> Any:
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(where, exc, prefix)) from None
