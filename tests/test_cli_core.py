"""The command line: help, init, config validate/show, plugins list, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_config_show_prints_each_plugins_defaults_with_where_each_value_came_from(run_cli, project) -> None:
    (project / "risk.yaml").write_text("sizer: {plugin: equal_weight, params: {max_gross: 0.9}}\n")
    code, out, _ = run_cli("--config", str(project), "config", "show")
    assert code == 0
    assert "      max_weight: 0.25  # default" in out  # the sizer's own default, invisible before as params: {}
    assert "      max_gross: 0.9  # file" in out
    assert "  universe: [SPY, QQQ, IWM, EFA, TLT, GLD]  # file" in out
    assert "  history_sessions: 300  # file" in out and "    warmup_sessions: 300  # default" in out


def test_config_show_json_has_the_plugin_defaults_and_a_source_per_key(run_cli, project) -> None:
    (project / "risk.yaml").write_text("circuit_breakers: {vix: 40}\n")
    code, out, _ = run_cli("--config", str(project), "config", "show", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["risk"]["sizer"]["params"]["max_weight"] == 0.25
    assert data["data"]["providers"]["synthetic"]["origin"] == "1990-01-02"
    assert data["sources"]["risk.sizer.params.max_weight"] == "default"
    assert data["sources"]["data.providers.synthetic.seed"] == "file"
    assert data["sources"]["risk.circuit_breakers.vix.threshold"] == "file"  # the bare-number shorthand
    assert data["sources"]["risk.circuit_breakers.vix.action"] == "default"


def test_config_show_lists_the_environment_a_plugin_reads_without_its_value(run_cli, project, monkeypatch) -> None:
    (project / "data.yaml").write_text("provider: polygon\n")
    monkeypatch.setenv("POLYGON_API_KEY", "pk-test-not-real-123")
    monkeypatch.setenv("REGIMEFLEX_TRACE_PLUGINS", "1")
    code, out, _ = run_cli("--config", str(project), "config", "show")
    assert code == 0, out
    assert "  POLYGON_API_KEY: ***  # environment" in out
    assert "  REGIMEFLEX_TRACE_PLUGINS: 1  # environment" in out
    assert "pk-test-not-real-123" not in out


def csv_project(project, tmp_path, names=("SPY", "GLD")):
    """The demo project reading real 2019 SPY/GLD files (tests/data) with the csv provider."""
    import shutil

    data = Path(__file__).resolve().parent / "data"
    folder = tmp_path / "csvdata"
    folder.mkdir()
    for name in names:
        shutil.copy(data / f"{name}-2019-lumibot.csv", folder / f"{name}.csv")
    (project / "data.yaml").write_text(f"provider: csv\nproviders:\n  csv: {{path: {folder}}}\n")
    (project / "run.yaml").write_text("universe: [spy, gld]\nbenchmark: SPY\n")
    return project


def test_config_validate_says_where_each_symbol_is_served_from(run_cli, project, tmp_path) -> None:
    csv_project(project, tmp_path)
    code, out, err = run_cli("--config", str(project), "config", "validate", "--json")
    assert code == 0, err
    rows = {r["symbol"]: r for r in json.loads(out)["symbols"]}
    assert rows["SPY"]["status"] == "source file" and "SPY.csv" in rows["SPY"]["detail"]
    assert rows["SPY"]["keys"] == ["run.yaml: universe", "run.yaml: benchmark", "risk.yaml: regime.detect.benchmark"]
    assert rows["GLD"]["status"] == "source file"


def test_config_validate_refuses_a_benchmark_and_vix_symbol_nothing_serves(run_cli, project, tmp_path) -> None:
    csv_project(project, tmp_path)
    (project / "run.yaml").write_text("universe: [SPY, GLD]\nbenchmark: QQQ\n")
    (project / "risk.yaml").write_text("regime:\n  vix_symbol: vix\n")
    code, _, err = run_cli("--config", str(project), "config", "validate")
    assert code == 2
    assert "error: run.yaml: benchmark: QQQ cannot be served by 'csv': no file of its source serves it" in err
    assert "risk.yaml: regime.vix_symbol: VIX cannot be served by 'csv'" in err


def test_config_validate_reports_what_the_cache_covers(run_cli, project, tmp_path) -> None:
    csv_project(project, tmp_path)
    assert run_cli("--config", str(project), "backtest", "--start", "2019-06-03", "--end", "2019-12-31")[0] == 0
    code, out, err = run_cli("--config", str(project), "config", "validate")
    assert code == 0, err
    spy = next(line for line in out.splitlines() if line.startswith("  SPY "))
    assert "cached " in spy and "..2019-12-31 (" in spy and "sessions behind)" in spy


def test_config_validate_on_the_synthetic_demo_serves_every_symbol_without_files(run_cli, project) -> None:
    code, out, _ = run_cli("--config", str(project), "config", "validate")
    assert code == 0
    assert "SPY      generated by synthetic (no files, no network)" in out


def _modules_after(args: list[str], cwd: Path) -> tuple[int, set[str]]:
    """Run ``regimeflex ARGS`` through :func:`regimeflex.cli.main` in a fresh interpreter; its exit code and
    which of pandas/numpy it imported."""
    code = (
        "import sys\n"
        "from regimeflex.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        "print(code, *[m for m in ('pandas', 'numpy') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd)
    exit_code, *heavy = done.stdout.splitlines()[-1].split()
    return int(exit_code), set(heavy)


@pytest.mark.parametrize(
    "args",
    [
        ["ledger", "verify"],
        ["ledger", "verify", "--json"],
        ["ledger", "show", "--kind", "fill"],
        ["ledger", "export", "--csv"],
        ["ledger", "repair"],
        ["kill", "on", "--reason", "drill"],
        ["kill", "status"],
        ["kill", "off"],
        ["plugins", "list"],
        ["plugins", "list", "--json"],
        ["config", "show"],
        ["report", "list"],
        ["--version"],
    ],
    ids=" ".join,
)
def test_commands_that_never_touch_a_price_panel_do_not_import_pandas(args: list[str], project: Path) -> None:
    from regimeflex.ledger import open_writer

    ledger = project.parent / "ledger.jsonl"
    with open_writer(ledger) as writer:
        writer.append("intent", {"client_order_id": "rf-1", "symbol": "SPY", "side": "buy", "qty": 3})
        writer.append("fill", {"client_order_id": "rf-1", "symbol": "SPY", "side": "buy", "qty": 3, "price": 470.5})
        writer.commit()
    ledger_args = ["--ledger", str(ledger)] if args[0] == "ledger" else []
    exit_code, heavy = _modules_after(["--config", str(project), *args, *ledger_args], cwd=project.parent)
    assert exit_code == 0
    assert heavy == set()
