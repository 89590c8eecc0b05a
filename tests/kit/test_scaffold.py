"""``regimeflex new-plugin``: every role's package installs with pip and passes its own conformance test."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from regimeflex import hookspecs
from regimeflex.cli import main
from regimeflex.errors import ConfigError
from regimeflex.plugins import PluginHost
from regimeflex.scaffold import ROLES, check_name, render, write_package
from regimeflex.testing import checks_for
from tests.kit.conftest import scaffold_name

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("role", ROLES)
def test_generated_package_passes_its_conformance_test(role, plugin_packages, with_site, pytester):
    pytester.makepyfile(test_generated=(plugin_packages[role] / "tests" / "test_conformance.py").read_text())
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("failed", 0), outcomes.get("errors", 0)) == (0, 0), result.stdout.str()
    assert outcomes.get("passed", 0) + outcomes.get("skipped", 0) == len(checks_for(role))


@pytest.mark.parametrize("role", ROLES)
def test_installed_package_registers_its_entry_point_for_its_role(role, with_site):
    info = PluginHost.load().get(scaffold_name(role))
    assert (info.distribution, info.state, info.roles) == (f"regimeflex-kit-{role}", "active", (role,))


@pytest.mark.parametrize("role", ROLES)
def test_generated_hooks_use_the_hookspec_argument_names(role):
    source = render(check_name("x", role))["regimeflex_x/hooks.py"]
    impls = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.FunctionDef) and any(getattr(d, "id", None) == "hookimpl" for d in n.decorator_list)
    ]
    assert impls
    for fn in impls:
        assert [a.arg for a in fn.args.args] == list(inspect.signature(getattr(hookspecs, fn.name)).parameters)


def test_generated_pyproject_registers_the_name_under_the_regimeflex_group():
    text = render(check_name("my-momentum", "strategy"))["pyproject.toml"]
    assert '[project.entry-points.regimeflex]\nmy_momentum = "regimeflex_my_momentum.hooks"' in text
    assert 'name = "regimeflex-my-momentum"' in text


def test_conformance_test_is_three_lines_for_a_strategy():
    test = render(check_name("my_momentum", "strategy"))["tests/test_conformance.py"]
    assert [line for line in test.splitlines() if line.strip()] == [
        "from regimeflex.testing import StrategyContract",
        "class TestConformance(StrategyContract):",
        '    plugin = "my_momentum"',
    ]


def test_cli_writes_the_package_and_lists_its_files(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["new-plugin", "my_sizer", "--role", "sizer", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    target = tmp_path / "regimeflex-my-sizer"
    assert out.splitlines()[0] == f"created {target}/ — sizer plugin 'my_sizer' (distribution regimeflex-my-sizer)"
    written = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert written == [
        "README.md",
        "pyproject.toml",
        "regimeflex_my_sizer/__init__.py",
        "regimeflex_my_sizer/hooks.py",
        "tests/test_conformance.py",
    ]


def test_existing_folder_is_never_overwritten(tmp_path):
    write_package("dup", "notifier", tmp_path)
    with pytest.raises(ConfigError) as err:
        write_package("dup", "notifier", tmp_path)
    assert str(err.value) == (
        f"new-plugin: {tmp_path / 'regimeflex-dup'} already exists; choose another name or remove it first"
    )


def test_invalid_plugin_name_is_refused_with_the_rule(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["new-plugin", "My Plugin", "--role", "strategy", "--dir", str(tmp_path)])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "error: new-plugin: plugin name 'My Plugin' must start with a lower-case letter and use only "
        "a-z, 0-9, '_' or '-' (it becomes the entry-point name YAML selects)\n"
    )
    assert list(Path(tmp_path).iterdir()) == []


def test_unknown_role_is_refused():
    with pytest.raises(ConfigError) as err:
        check_name("x", "oracle")
    assert str(err.value) == "new-plugin: unknown role 'oracle'; use one of strategy, data, sizer, broker, notifier"
