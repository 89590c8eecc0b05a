"""broker.yaml: which broker executes, in which mode (dry_run by default), order style.

Owns the broker section of the settings: the broker plugin's name, the mode
(``dry_run`` unless the YAML says ``paper`` or ``live``; ``live`` also needs
``--live`` on the command line, see :func:`effective_mode`), each broker's
own section (validated by that plugin's ``settings_model``), and the
``orders`` rules the order planner applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from regimeflex.config.base import Fraction, FrozenModel, NonNegative
from regimeflex.errors import ConfigError


class PaperSettings(BaseModel):
    """``brokers.paper`` in broker.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: next_open: fill at the open of the first session after the order's; reference: fill at once
    fill_at: Literal["next_open", "reference"] = "next_open"
    commission_per_share: float = Field(default=0.0, ge=0)
    commission_min: float = Field(default=0.0, ge=0)
    slippage_bps: float = Field(default=5.0, ge=0)
    #: share of the order filled at each opportunity (1 = all at once)
    partial_fill_ratio: float = Field(default=1.0, gt=0, le=1)
    #: starting cash; default run.yaml initial_equity
    initial_cash: float | None = Field(default=None, gt=0)


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


#: capability tag a broker declares when it can place real orders (``capabilities()``)
LIVE_TRADING = "live_trading"
#: capability tag a data provider declares when its bars are real market data
REAL_MARKET_DATA = "real_market_data"


def require_live_capable(
    mode: str,
    *,
    broker: str,
    broker_capabilities: Mapping[str, bool],
    provider: str,
    provider_capabilities: Mapping[str, bool],
) -> None:
    """``mode: live`` only with a broker that declares ``live_trading`` and a data provider that
    declares ``real_market_data``; otherwise one ConfigError (exit 2) naming both problems.

    Checked before any data is loaded or any broker is contacted, so a live run can never
    send real orders computed from simulated prices, nor report simulated fills as live ones.
    """
    if mode != "live":
        return
    problems = []
    if not broker_capabilities.get(LIVE_TRADING, False):
        problems.append(
            f"broker.yaml: broker '{broker}' does not declare {LIVE_TRADING} (a simulated or paper-only "
            "broker); use a live broker such as alpaca, or set mode: paper"
        )
    if not provider_capabilities.get(REAL_MARKET_DATA, False):
        problems.append(
            f"data.yaml: provider '{provider}' does not declare {REAL_MARKET_DATA} (simulated prices); "
            "use a real data provider such as polygon, alpaca or csv"
        )
    if problems:
        raise ConfigError("mode: live refused: " + "; ".join(problems))
