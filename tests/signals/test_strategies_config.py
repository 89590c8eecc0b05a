"""strategies.yaml: several named instances of built-in strategies, each with params and a budget."""

from __future__ import annotations

import pytest

from regimeflex.config import load_settings
from regimeflex.errors import ConfigError

SEVERAL = """\
strategies:
  trend_slow: {plugin: trend, budget: 0.4, params: {fast: 50, slow: 200}}
  trend_fast: {plugin: trend, budget: 0.3, params: {rule: price_above_sma, slow: 50}}
  dip_buyer: {plugin: mean_reversion, budget: 0.3, params: {entry_z: 2.5, exit_z: 0.5, max_hold_days: 5}}
"""


def test_several_instances_load_with_their_params_and_budgets(project):
    (project / "strategies.yaml").write_text(SEVERAL)
    strategies = load_settings(project).strategies.strategies
    assert {n: (s.plugin, s.budget) for n, s in strategies.items()} == {
        "trend_slow": ("trend", 0.4),
        "trend_fast": ("trend", 0.3),
        "dip_buyer": ("mean_reversion", 0.3),
    }
    assert strategies["dip_buyer"].params["entry_z"] == 2.5


def test_instance_name_with_a_space_is_rejected(project):
    (project / "strategies.yaml").write_text("strategies:\n  my trend: {plugin: trend}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == (
        "strategies.yaml: strategies: instance name 'my trend' must be 1-32 letters, "
        "digits, _ or -, starting with a letter"
    )
