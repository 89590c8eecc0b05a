"""The architecture rules hold: import contracts, lint, formatting and types.

Each is a maintained tool configured in pyproject.toml ([tool.importlinter],
[tool.ruff], [tool.mypy]); these tests run them so that `make test` — and so
CI — fails on any violation, with the tool's own report as the message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)


def _tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is not installed in {BIN}; run `make install` (it is a test dependency)"
    return str(path)


def _lint_imports(config: Path | None = None) -> subprocess.CompletedProcess[str]:
    # the example strategy is not installed into the project's venv; its code is analysed from its folder
    env = dict(os.environ, PYTHONPATH=str(REPO / "examples" / "regimeflex-example-strategy"))
    args = [_tool("lint-imports"), "--no-cache"]
    if config is not None:
        args += ["--config", str(config)]
    return _run(*args, env=env)


def test_import_contracts_hold():
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_plugin_api_contract_catches_a_plugin_importing_internals(tmp_path):
    # a plugin package that reaches past regimeflex.api must break the contract: the rule can fail
    package = tmp_path / "regimeflex_probe"
    package.mkdir()
    (package / "__init__.py").write_text("from regimeflex.ledger import store  # not in the plugin API\n")
    config = tmp_path / "contracts.toml"
    config.write_text(
        "[tool.importlinter]\n"
        'root_packages = ["regimeflex", "regimeflex_probe"]\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "plugins import only the API"\n'
        'type = "forbidden"\n'
        'source_modules = ["regimeflex_probe"]\n'
        'forbidden_modules = ["regimeflex.ledger"]\n'
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    result = _run(_tool("lint-imports"), "--no-cache", "--config", str(config), env=env)
    assert result.returncode == 1
    assert "regimeflex_probe is not allowed to import regimeflex.ledger" in result.stdout


def test_ruff_lint_is_clean():
    result = _run(_tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = _run(_tool("ruff"), "format", "--check", ".")
    assert result.returncode == 0, "run `ruff format .`:\n" + result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_is_clean():
    # normal checks everywhere, strict on the core (pyproject.toml [tool.mypy])
    result = _run(_tool("mypy"))
    assert result.returncode == 0, result.stdout + result.stderr
