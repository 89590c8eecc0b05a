"""broker.yaml: which broker executes, in which mode (dry_run by default), order style.

Owns the broker section of the settings: the broker plugin's name, the mode
(``dry_run`` unless the YAML says ``paper`` or ``live``; ``live`` also needs
``--live`` on the command line, see :func:`effective_mode`), each broker's
own section (validated by that plugin's ``settings_model``), and the
``orders`` rules the order planner applies.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from regimeflex.config.base import Fraction, FrozenModel, NonNegative
from regimeflex.errors import ConfigError


class OrderSettings(FrozenModel):
    """``orders:`` — how target weights become orders (see regimeflex.execution.planner)."""

    type: Literal["market", "limit"] = "market"
    #: limit price = reference × (1 ± bps/10⁴), buys above and sells below the reference
    limit_offset_bps: NonNegative = 10.0
    time_in_force: Literal["day", "opg", "cls", "gtc"] = "day"
    #: orders worth less than this are not sent
    min_notional: NonNegative = 10.0
    #: weight changes smaller than this are ignored (no churn)
    min_weight_change: Fraction = 0.005
    #: fractional shares (only where the broker supports them)
    allow_fractional: bool = False
    #: short positions (only where the broker supports them)
    allow_short: bool = False
    #: market buys are costed this much above the reference when checking buying power
    buying_power_buffer_bps: NonNegative = 50.0
    #: count today's sell proceeds as buying power for today's buys
    use_sell_proceeds: bool = False


class BrokerSettings(FrozenModel):
    broker: str = "paper"
    #: dry_run plans and records orders but sends nothing; live also needs --live on the CLI.
    mode: Literal["dry_run", "paper", "live"] = "dry_run"
    #: each broker's own section, validated by the broker plugin's settings_model()
    brokers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    orders: OrderSettings = OrderSettings()


def effective_mode(settings: BrokerSettings, live_flag: bool = False) -> Literal["dry_run", "paper", "live"]:
    """The mode a run may use: live needs ``mode: live`` in broker.yaml *and* ``--live``."""
    if settings.mode == "live" and not live_flag:
        raise ConfigError(
            "broker.yaml: mode: live also needs --live on the command line "
            "(two explicit opt-ins before real money moves); add --live or set mode: paper"
        )
    if live_flag and settings.mode != "live":
        raise ConfigError(
            f"--live was given but broker.yaml says mode: {settings.mode}; "
            "set mode: live in broker.yaml as well, or drop --live"
        )
    return settings.mode
