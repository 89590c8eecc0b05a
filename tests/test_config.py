"""Configuration: five YAML files validated into frozen settings with safe defaults and exact errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from regimeflex.config import load_settings
from regimeflex.errors import ConfigError


def write(config: Path, name: str, text: str) -> None:
    (config / name).write_text(text, encoding="utf-8")


def test_demo_config_loads_and_runs_the_simulated_paper_broker(project: Path) -> None:
    settings = load_settings(project)
    assert (settings.broker.broker, settings.broker.mode) == ("paper", "paper")
    assert settings.run.universe[0] == "SPY"
    assert settings.root == project.parent


def test_broker_mode_defaults_to_dry_run_when_broker_yaml_is_absent(project: Path) -> None:
    (project / "broker.yaml").unlink()
    assert load_settings(project).broker.mode == "dry_run"


def test_settings_are_frozen(project: Path) -> None:
    settings = load_settings(project)
    with pytest.raises(ValidationError):
        settings.broker.mode = "live"  # type: ignore[misc]


def test_relative_paths_resolve_against_the_project_root_not_cwd(project: Path, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path.parent)
    settings = load_settings(project)
    assert settings.path(settings.run.paths.ledger) == project.parent / "logs/audit/ledger.jsonl"


def test_missing_config_dir_names_it_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "nope")
    assert str(err.value) == (
        f"config directory {tmp_path / 'nope'} does not exist; create one with "
        "`regimeflex init DIR` or pass --config DIR"
    )


def test_missing_run_yaml_is_an_error(project: Path) -> None:
    (project / "run.yaml").unlink()
    with pytest.raises(ConfigError, match=r"^run.yaml: missing in .*regimeflex init DIR"):
        load_settings(project)


def test_invalid_yaml_names_file_line_and_column(project: Path) -> None:
    write(project, "data.yaml", "provider: synthetic\nadjusted: [true\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value).startswith("data.yaml: invalid YAML at line 3, column 1: ")


def test_top_level_must_be_a_mapping(project: Path) -> None:
    write(project, "risk.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == "risk.yaml: the top level must be a mapping of keys, got list"


def test_unknown_key_is_an_error_naming_the_key_path(project: Path) -> None:
    write(project, "run.yaml", "universe: [SPY]\npaths:\n  ledgr: x.jsonl\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == (
        "run.yaml: paths.ledgr: unknown key (check the spelling; see `regimeflex config show` for valid keys)"
    )


def test_fraction_out_of_range_names_file_key_and_value(project: Path) -> None:
    write(project, "strategies.yaml", "strategies:\n  t:\n    plugin: trend\n    budget: 1.5\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == "strategies.yaml: strategies.t.budget: must be between 0 and 1, got 1.5"


def test_bad_literal_shows_the_bad_value(project: Path) -> None:
    write(project, "broker.yaml", "broker: paper\nmode: yolo\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == "broker.yaml: mode: Input should be 'dry_run', 'paper' or 'live', got 'yolo'"


def test_missing_required_key_is_named(project: Path) -> None:
    write(project, "run.yaml", "benchmark: SPY\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == "run.yaml: universe: required key is missing"


def test_duplicate_symbol_in_universe_is_refused(project: Path) -> None:
    write(project, "run.yaml", "universe: [SPY, spy]\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == "run.yaml: universe: symbol listed twice: SPY"


def test_budgets_over_one_are_refused(project: Path) -> None:
    write(
        project,
        "strategies.yaml",
        "strategies:\n  a: {plugin: trend, budget: 0.7}\n  b: {plugin: trend, budget: 0.6}\n",
    )
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert (
        str(err.value) == "strategies.yaml: (top level): budgets of enabled strategies must sum to at most 1, got 1.3"
    )


def test_secret_in_yaml_is_refused_pointing_at_the_env_var(project: Path) -> None:
    write(project, "data.yaml", "provider: polygon\nproviders:\n  polygon:\n    api_key: abc123\n")
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value) == (
        "data.yaml: providers.polygon.api_key: secrets are not allowed in YAML files; "
        "remove it and set POLYGON_API_KEY in the environment or in .env"
    )
    assert "abc123" not in str(err.value)


def test_dotenv_beside_the_config_dir_is_loaded_but_environment_wins(project: Path, monkeypatch) -> None:
    (project.parent / ".env").write_text("POLYGON_API_KEY=from-dotenv-not-real\nTELEGRAM_CHAT_ID=42\n")
    monkeypatch.setenv("TELEGRAM_CHAT_ID", "from-env")
    load_settings(project)
    import os

    assert os.environ["POLYGON_API_KEY"] == "from-dotenv-not-real"
    assert os.environ["TELEGRAM_CHAT_ID"] == "from-env"


def test_yaml_file_that_is_not_utf8_is_a_config_error_naming_file_and_byte(run_cli, project: Path) -> None:
    (project / "risk.yaml").write_bytes(b"# r\xe9gime risk budget\nsizer:\n  plugin: equal_weight\n")
    code, out, err = run_cli("--config", project, "config", "validate")
    assert code == 2
    assert err == "error: risk.yaml: not UTF-8 text (byte 0xe9 at offset 3, line 1); save the file as UTF-8\n"
    assert "internal error" not in out + err
