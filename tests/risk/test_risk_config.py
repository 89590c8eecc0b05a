"""risk.yaml: breaker shorthand and mappings, actions, reset rules, regime and calendar sections."""

from __future__ import annotations

import pytest

from regimeflex.config import load_settings
from regimeflex.errors import ConfigError


def load_risk(project, text: str):
    (project / "risk.yaml").write_text(text)
    return load_settings(project).risk


def error_for(project, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_risk(project, text)
    return str(err.value)


def test_shipped_risk_yaml_loads_with_every_breaker_on(project):
    risk = load_settings(project).risk
    assert set(risk.circuit_breakers.enabled()) == {
        "max_drawdown",
        "daily_loss",
        "vix",
        "stale_data",
        "rejected_orders",
        "max_orders_per_day",
        "concentration",
    }


def test_bare_number_is_the_threshold_with_the_default_action_and_reset(project):
    risk = load_risk(project, "circuit_breakers:\n  max_drawdown: 0.15\n")
    spec = risk.circuit_breakers.max_drawdown
    assert (spec.threshold, spec.action, spec.reset) == (0.15, "flatten", "manual")


def test_mapping_sets_action_and_reset(project):
    risk = load_risk(project, "circuit_breakers:\n  vix: {threshold: 35, action: 'reduce:0.25', reset: recovery}\n")
    spec = risk.circuit_breakers.vix
    assert (spec.threshold, spec.reduce_factor, spec.reset) == (35, 0.25, "recovery")


def test_null_switches_a_breaker_off(project):
    risk = load_risk(project, "circuit_breakers:\n  concentration: null\n")
    assert "concentration" not in risk.circuit_breakers.enabled()


def test_drawdown_above_one_names_file_key_and_value(project):
    assert error_for(project, "circuit_breakers:\n  max_drawdown: 1.5\n") == (
        "risk.yaml: circuit_breakers.max_drawdown: must be between 0 and 1, got 1.5"
    )


def test_threshold_in_a_mapping_is_checked_too(project):
    assert error_for(project, "circuit_breakers:\n  daily_loss: {threshold: 2}\n") == (
        "risk.yaml: circuit_breakers.daily_loss: threshold must be between 0 and 1, got 2"
    )


def test_count_breaker_needs_a_whole_number(project):
    assert error_for(project, "circuit_breakers:\n  rejected_orders: 2.5\n") == (
        "risk.yaml: circuit_breakers.rejected_orders: must be a whole number of at least 1, got 2.5"
    )


def test_unknown_action_lists_the_valid_ones(project):
    assert error_for(project, "circuit_breakers:\n  vix: {threshold: 40, action: halt}\n") == (
        "risk.yaml: circuit_breakers.vix.action: must be one of block_entries, flatten or "
        "reduce:<x> (0 < x < 1), got 'halt'"
    )


def test_reduce_factor_outside_zero_one_is_rejected(project):
    assert error_for(project, "circuit_breakers:\n  vix: {threshold: 40, action: 'reduce:1.5'}\n") == (
        "risk.yaml: circuit_breakers.vix.action: reduce:<x> needs 0 < x < 1, got 'reduce:1.5'"
    )


def test_unknown_reset_rule_is_rejected(project):
    message = error_for(project, "circuit_breakers:\n  vix: {threshold: 40, reset: tomorrow}\n")
    assert message == (
        "risk.yaml: circuit_breakers.vix.reset: Input should be 'next_session', 'manual' or 'recovery', got 'tomorrow'"
    )


def test_unknown_breaker_is_rejected_as_an_unknown_key(project):
    assert error_for(project, "circuit_breakers:\n  max_drawdwn: 0.2\n") == (
        "risk.yaml: circuit_breakers.max_drawdwn: unknown key (check the spelling; "
        "see `regimeflex config show` for valid keys)"
    )


def test_regime_scaling_and_detection_settings_load(project):
    risk = load_risk(project, "regime:\n  detect: {benchmark: QQQ, window: 100}\n  scaling: {bear: 0.25}\n")
    assert (risk.regime.detect.benchmark, risk.regime.detect.window, risk.regime.scaling.bear) == ("QQQ", 100, 0.25)


def test_fomc_dates_override_loads_as_dates(project):
    risk = load_risk(project, "calendar:\n  fomc: {rule: 'reduce:0.5', before: 1, dates: [2027-01-27]}\n")
    assert [d.isoformat() for d in risk.calendar.fomc.dates] == ["2027-01-27"]


def test_recover_below_above_the_threshold_is_rejected(project):
    assert error_for(project, "circuit_breakers:\n  vix: {threshold: 40, reset: recovery, recover_below: 50}\n") == (
        "risk.yaml: circuit_breakers.vix: recover_below must not exceed threshold, got recover_below=50 threshold=40"
    )


def test_boolean_breaker_is_rejected(project):
    assert error_for(project, "circuit_breakers:\n  vix: true\n") == (
        "risk.yaml: circuit_breakers.vix: must be a threshold, a mapping or null, got True"
    )
