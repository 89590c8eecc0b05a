"""The command line: help, init, config validate/show, plugins list, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from regimeflex.cli import COMMANDS
from regimeflex.cli.init import starter_files

REPO = Path(__file__).resolve().parent.parent


def test_help_lists_every_command_without_importing_them(run_cli) -> None:
    code, out, _ = run_cli("--help")
    assert code == 0
    for name in COMMANDS:
        assert name in out
    assert "Exit codes: 0 ok, 1 error, 2 usage or configuration error, 3 kill switch engaged." in out


def test_help_does_not_import_pandas() -> None:
    code = "import sys; from regimeflex.cli import cli; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_unknown_command_is_a_usage_error(run_cli) -> None:
    code, _, err = run_cli("frobnicate")
    assert code == 2
    assert "No such command 'frobnicate'" in err


def test_init_writes_the_starter_files(run_cli, tmp_path) -> None:
    code, out, _ = run_cli("init", str(tmp_path / "bot"))
    assert code == 0
    for rel, text in starter_files().items():
        assert (tmp_path / "bot" / rel).read_text() == text


def test_demo_config_is_the_starter_except_that_it_runs_the_simulated_paper_broker() -> None:
    for rel, text in starter_files().items():
        if rel.startswith("config/") and rel != "config/broker.yaml":
            assert (REPO / rel).read_text() == text, f"{rel} drifted from regimeflex/starter"
    from regimeflex.config import load_settings

    demo = load_settings(REPO / "config", load_env=False).broker
    assert (demo.broker, demo.mode) == ("paper", "paper")
    assert "mode: dry_run" in starter_files()["config/broker.yaml"]


def test_init_refuses_to_overwrite_without_force(run_cli, tmp_path) -> None:
    run_cli("init", str(tmp_path / "bot"))
    code, _, err = run_cli("init", str(tmp_path / "bot"))
    assert code == 2
    assert "already has config/broker.yaml" in err and "use --force" in err


def test_config_error_exits_2_with_one_line(run_cli, project) -> None:
    (project / "risk.yaml").write_text("sizer:\n  plugn: x\n")
    code, _, err = run_cli("--config", str(project), "config", "show")
    assert code == 2
    assert err == (
        "error: risk.yaml: sizer.plugn: unknown key (check the spelling; see `regimeflex config show` for valid keys)\n"
    )


def test_config_show_fills_defaults_and_never_prints_secrets(run_cli, project, monkeypatch) -> None:
    monkeypatch.setenv("APCA_API_SECRET_KEY", "sk-test-not-real-987")
    (project / "run.yaml").write_text("universe: [SPY]\npaths:\n  reports_dir: sk-test-not-real-987\n")
    code, out, _ = run_cli("--config", str(project), "config", "show", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["broker"]["orders"]["type"] == "market"
    assert data["run"]["paths"]["reports_dir"] == "***"
    assert "sk-test-not-real-987" not in out


def test_config_validate_names_an_uninstalled_plugin(run_cli, project) -> None:
    (project / "data.yaml").write_text("provider: nosuchvendor\n")
    code, _, err = run_cli("--config", str(project), "config", "validate")
    assert code == 2
    assert err.startswith("error: data.yaml: provider: no plugin named 'nosuchvendor' is installed")


def test_plugins_list_json_reports_every_entry_point(run_cli) -> None:
    from importlib import metadata

    code, out, _ = run_cli("plugins", "list", "--json")
    assert code == 0
    names = {p["name"] for p in json.loads(out)}
    assert names == {ep.name for ep in metadata.entry_points(group="regimeflex")}
