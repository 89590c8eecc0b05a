"""broker.yaml: safe mode defaults, the two opt-ins for live, the orders section."""

from __future__ import annotations

from pathlib import Path

import pytest

from regimeflex.config import load_settings
from regimeflex.config.broker import BrokerSettings, effective_mode
from regimeflex.errors import ConfigError
from regimeflex.execution.session import rules_from_settings


def test_mode_defaults_to_dry_run() -> None:
    assert effective_mode(BrokerSettings()) == "dry_run"


def test_live_needs_the_yaml_and_the_flag() -> None:
    assert effective_mode(BrokerSettings(mode="live"), live_flag=True) == "live"


def test_live_flag_without_live_yaml_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        effective_mode(BrokerSettings(mode="paper"), live_flag=True)
    assert str(err.value) == (
        "--live was given but broker.yaml says mode: paper; set mode: live in broker.yaml as well, or drop --live"
    )


def test_orders_section_becomes_the_planner_rules(project: Path) -> None:
    (project / "broker.yaml").write_text(
        "broker: paper\norders:\n  type: limit\n  limit_offset_bps: 15\n"
        "  time_in_force: opg\n  allow_fractional: true\n"
    )
    rules = rules_from_settings(load_settings(project).broker.orders)
    assert (rules.order_type, rules.limit_offset_bps, rules.time_in_force, rules.allow_fractional) == (
        "limit",
        15.0,
        "opg",
        True,
    )


def test_bad_orders_value_names_file_and_key(project: Path) -> None:
    (project / "broker.yaml").write_text("broker: paper\norders:\n  min_weight_change: 1.5\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == "broker.yaml: orders.min_weight_change: must be between 0 and 1, got 1.5"


def test_unknown_orders_key_is_refused(project: Path) -> None:
    (project / "broker.yaml").write_text("broker: paper\norders:\n  tif: day\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value).startswith("broker.yaml: orders.tif: unknown key")
