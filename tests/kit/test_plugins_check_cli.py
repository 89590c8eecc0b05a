"""``regimeflex plugins check NAME``: the kit from the command line (table, --json, exit codes)."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from regimeflex.testing import checks_for, sample_bars
from regimeflex.testing.sample import cut_points

TOYS = {"good": "tests.kit.toys:GOOD", "peek": "tests.kit.toys:PEEKING", "vendor": "tests.kit.toys:NETWORK"}


@pytest.fixture
def toy_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed plugins = the toys, as entry points of group regimeflex."""
    eps = [metadata.EntryPoint(name, value, "regimeflex") for name, value in TOYS.items()]
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group=None: eps)


def test_passing_plugin_prints_pass_for_every_check_and_exits_0(run_cli, toy_entry_points):
    code, out, _ = run_cli("plugins", "check", "good")
    assert code == 0
    for check in checks_for("strategy"):
        assert any(line.startswith(f"PASS  {check.id} ") for line in out.splitlines())
    assert out.splitlines()[-1] == f"{len(checks_for('strategy'))} passed, 0 failed, 0 skipped"


def test_lookahead_plugin_fails_with_the_check_symbol_and_date_and_exits_1(run_cli, toy_entry_points):
    code, out, _ = run_cli("plugins", "check", "peek")
    assert code == 1
    assert any(line.startswith("FAIL  strategy.no_lookahead/v2 ") for line in out.splitlines())
    bars = sample_bars()
    first_cut = bars.index[cut_points(bars.index)[0]]
    assert f"↳ strategy.no_lookahead/v2: signal for AAPL on {first_cut:%Y-%m-%d} depends on later bars" in out


def test_json_lists_every_result_with_counts(run_cli, toy_entry_points):
    code, out, _ = run_cli("plugins", "check", "peek", "--json")
    doc = json.loads(out)
    assert code == 1
    assert (doc["plugin"], doc["roles"], doc["failed"]) == ("peek", ["strategy"], 2)
    assert [r["check"] for r in doc["results"]] == [c.id for c in checks_for("strategy")]
    assert {r["check"] for r in doc["results"] if r["status"] == "FAIL"} == {
        "strategy.no_lookahead/v2",
        "strategy.warmup_not_backfilled/v1",
    }


def test_needs_network_plugin_is_skipped_without_params(run_cli, toy_entry_points):
    code, out, _ = run_cli("plugins", "check", "vendor", "--json")
    doc = json.loads(out)
    assert code == 0
    assert {r["status"] for r in doc["results"]} == {"SKIP"}
    assert doc["results"][0]["message"] == (
        "data.returns_bars/v1: skipped by the plugin's test: plugin declares needs_network; pass --params "
        "FILE with settings for a local test server, or run the kit from the plugin's own tests"
    )


def test_role_the_plugin_does_not_play_is_a_usage_error(run_cli, toy_entry_points):
    code, _, err = run_cli("plugins", "check", "good", "--role", "sizer")
    assert code == 2
    assert "plugin 'good' does not play the sizer role (it plays: strategy)" in err


def test_params_file_that_is_not_a_mapping_is_a_config_error(run_cli, toy_entry_points, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("- 1\n- 2\n", encoding="utf-8")
    code, _, err = run_cli("plugins", "check", "good", "--params", str(params))
    assert code == 2
    assert err == f"error: {params}: the top level must be a mapping of keys, got list\n"


def test_params_file_is_validated_by_the_plugins_settings_model(run_cli, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("slow: 1\n", encoding="utf-8")
    code, _, err = run_cli("plugins", "check", "trend", "--params", str(params))
    assert code == 2
    assert err == f"error: {params}: slow: Input should be greater than or equal to 2, got 1\n"


def test_unknown_plugin_is_a_config_error_naming_the_closest(run_cli, toy_entry_points):
    code, _, err = run_cli("plugins", "check", "goood")
    assert code == 2
    assert err == (
        "error: conformance kit: no plugin named 'goood' is installed (did you mean 'good'?). "
        "Installed plugins: good, peek, vendor. Install the package that provides it "
        "(pip install -e .) or fix the name.\n"
    )


def test_params_come_from_the_project_yaml_that_selects_the_plugin(run_cli, project):
    (project / "strategies.yaml").write_text(
        "strategies:\n  fast_trend:\n    plugin: trend\n    params: {rule: price_above_sma, slow: 20}\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli("--config", str(project), "plugins", "check", "trend", "--json")
    doc = json.loads(out)
    assert (code, doc["params_from"], doc["failed"]) == (0, "strategies.yaml: strategies.fast_trend.params", 0)


def test_invalid_params_in_the_project_yaml_name_the_yaml_key(run_cli, project):
    (project / "strategies.yaml").write_text(
        "strategies:\n  fast_trend:\n    plugin: trend\n    params: {slow: 1}\n", encoding="utf-8"
    )
    code, _, err = run_cli("--config", str(project), "plugins", "check", "trend")
    assert code == 2
    assert err == (
        "error: strategies.yaml: strategies.fast_trend.params.slow: Input should be greater than or equal to 2, got 1\n"
    )


def test_network_plugin_ignores_project_yaml_and_is_skipped(run_cli, toy_entry_points, project):
    (project / "data.yaml").write_text("provider: vendor\nproviders:\n  vendor: {}\n", encoding="utf-8")
    code, out, _ = run_cli("--config", str(project), "plugins", "check", "vendor", "--json")
    doc = json.loads(out)
    assert (code, doc["params_from"], doc["skipped"], doc["passed"]) == (
        0,
        "data.yaml: providers.vendor",
        len(checks_for("data")),
        0,
    )
