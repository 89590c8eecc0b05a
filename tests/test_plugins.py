"""Plugin manager: loading, selection per role, and one clear error for every failure."""

from __future__ import annotations

import sys
import textwrap
import types
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeflex import hookimpl
from regimeflex.errors import ConfigError, PluginCallError, PluginError
from regimeflex.plugins import PluginHost
from regimeflex.types import make_bars


def tiny_bars(symbols=("AAA", "BBB"), n=5) -> pd.DataFrame:
    dates = pd.bdate_range("2024-01-02", periods=n)
    base = pd.DataFrame(
        np.arange(1.0, n * len(symbols) + 1).reshape(n, len(symbols)) + 10, index=dates, columns=list(symbols)
    )
    return make_bars({"open": base, "high": base + 1, "low": base - 1, "close": base, "volume": base * 100})


def plugin(name: str, **hooks) -> types.ModuleType:
    ns = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(ns, hook_name, hookimpl(fn))
    return ns


def flat_signal(bars, params):
    close = bars["close"]
    return pd.DataFrame(0.5, index=close.index, columns=close.columns)


def test_selected_strategy_is_the_only_one_called() -> None:
    calls: list[str] = []

    def mk(tag):
        def generate_signal(bars, params):
            calls.append(tag)
            return flat_signal(bars, params)

        return generate_signal

    host = PluginHost.from_plugins(
        {"one": plugin("one", generate_signal=mk("one")), "two": plugin("two", generate_signal=mk("two"))}
    )
    host.generate_signal("two", bars=tiny_bars(), params={})
    assert calls == ["two"]


def test_roles_are_inferred_from_implemented_hooks() -> None:
    host = PluginHost.from_plugins({"s": plugin("s", generate_signal=flat_signal)})
    info = host.get("s")
    assert info is not None and info.roles == ("strategy",) and info.hooks == ("generate_signal",)


def test_unknown_plugin_name_lists_installed_ones_and_suggests_the_closest() -> None:
    host = PluginHost.from_plugins({"trend": plugin("trend", generate_signal=flat_signal)})
    with pytest.raises(PluginError) as err:
        host.require("trnd", "strategy", where="strategies.yaml: strategies.core.plugin")
    assert str(err.value) == (
        "strategies.yaml: strategies.core.plugin: no plugin named 'trnd' is installed (did you mean 'trend'?). "
        "Installed strategy plugins: trend. Fix the name, or install the package that provides it "
        "(pip install <package>)."
    )


def test_plugin_lacking_the_hook_for_its_role_is_named_with_alternatives() -> None:
    host = PluginHost.from_plugins(
        {
            "trend": plugin("trend", generate_signal=flat_signal),
            "eq": plugin("eq", size_position=lambda signals, bars, params: signals.fillna(0.0)),
        }
    )
    with pytest.raises(PluginError) as err:
        host.require("trend", "sizer", where="risk.yaml: sizer.plugin")
    assert str(err.value) == (
        "risk.yaml: sizer.plugin: plugin 'trend' (not from a distribution) cannot act as sizer: "
        "it does not implement size_position. Choose a sizer plugin: eq."
    )


def test_disabled_plugin_is_blocked_with_the_remedy(monkeypatch) -> None:
    host = PluginHost.from_plugins({"trend": plugin("trend", generate_signal=flat_signal)}, disabled=["trend"])
    assert host.get("trend").state == "blocked"
    with pytest.raises(PluginError) as err:
        host.require("trend", "strategy")
    assert str(err.value) == (
        "plugin 'trend' (not from a distribution) is disabled by REGIMEFLEX_DISABLED_PLUGINS; "
        "remove it from that variable to use it."
    )


def test_disabled_plugins_env_var_blocks_entry_points(monkeypatch, tmp_path: Path) -> None:
    module = write_module(
        tmp_path,
        monkeypatch,
        "rf_ok_plugin",
        """
        from regimeflex import hookimpl
        @hookimpl
        def generate_signal(bars, params):
            return None
    """,
    )
    monkeypatch.setenv("REGIMEFLEX_DISABLED_PLUGINS", "okp, other")
    host = PluginHost.load(entry_points=[ep("okp", module)])
    assert host.get("okp").state == "blocked"


def write_module(tmp_path: Path, monkeypatch, name: str, source: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    return name


def ep(name: str, module: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=module, group="regimeflex")


def test_import_failure_is_recorded_and_raised_only_when_selected(tmp_path, monkeypatch) -> None:
    bad = write_module(tmp_path, monkeypatch, "rf_broken_plugin", "import does_not_exist_anywhere\n")
    good = write_module(
        tmp_path,
        monkeypatch,
        "rf_good_plugin",
        """
        from regimeflex import hookimpl
        @hookimpl
        def notify(event, context):
            pass
    """,
    )
    host = PluginHost.load(entry_points=[ep("broken", bad), ep("good", good)])
    assert host.get("good").state == "active"
    info = host.get("broken")
    assert info.state == "error"
    with pytest.raises(PluginError) as err:
        host.require("broken", "strategy", where="strategies.yaml: strategies.x.plugin")
    assert str(err.value) == (
        "strategies.yaml: strategies.x.plugin: plugin 'broken' (not from a distribution) cannot be used: "
        "failed to import rf_broken_plugin: ModuleNotFoundError: No module named 'does_not_exist_anywhere'. "
        "Fix: fix the plugin module."
    )


def test_a_plugin_module_is_imported_only_when_something_asks_for_it(tmp_path, monkeypatch) -> None:
    source = """
        from regimeflex import hookimpl
        @hookimpl
        def generate_signal(bars, params):
            return None
    """
    used = write_module(tmp_path, monkeypatch, "rf_lazy_used_plugin", source)
    unused = write_module(tmp_path, monkeypatch, "rf_lazy_unused_plugin", source)
    host = PluginHost.load(entry_points=[ep("used", used), ep("unused", unused)])
    assert used not in sys.modules and unused not in sys.modules
    host.require("used", "strategy")
    assert used in sys.modules and unused not in sys.modules
    assert [i.name for i in host.info()] == ["unused", "used"]  # listing imports every plugin
    assert unused in sys.modules


def test_two_distributions_with_one_plugin_name_are_an_error_without_importing_either(tmp_path, monkeypatch) -> None:
    mod = write_module(tmp_path, monkeypatch, "rf_twice_plugin", "raise RuntimeError('imported')\n")
    host = PluginHost.load(entry_points=[ep("twice", mod), ep("twice", mod)])
    info = host.get("twice")
    assert info.state == "error" and "two installed distributions register a plugin named 'twice'" in info.error
    assert mod not in sys.modules


def test_misspelled_hook_name_is_an_error_with_a_suggestion(tmp_path, monkeypatch) -> None:
    mod = write_module(
        tmp_path,
        monkeypatch,
        "rf_typo_plugin",
        """
        from regimeflex import hookimpl
        @hookimpl
        def generate_signals(bars, params):
            return None
    """,
    )
    host = PluginHost.load(entry_points=[ep("typo", mod)])
    assert host.get("typo").error == (
        "implements unknown hook 'generate_signals' (did you mean 'generate_signal'?); "
        "see docs/hooks.md for the hook names"
    )


def test_hookimpl_with_wrong_argument_is_an_invalid_plugin(tmp_path, monkeypatch) -> None:
    mod = write_module(
        tmp_path,
        monkeypatch,
        "rf_badarg_plugin",
        """
        from regimeflex import hookimpl
        @hookimpl
        def generate_signal(bars, parameters):
            return None
    """,
    )
    host = PluginHost.load(entry_points=[ep("badarg", mod)])
    info = host.get("badarg")
    assert info.state == "error"
    assert info.error.startswith("invalid hook implementation: ")
    assert "parameters" in info.error


def test_hook_raising_becomes_one_line_naming_plugin_and_hook() -> None:
    def boom(bars, params):
        raise ValueError("window too short")

    host = PluginHost.from_plugins({"bad": plugin("bad", generate_signal=boom)})
    with pytest.raises(PluginCallError) as err:
        host.generate_signal("bad", bars=tiny_bars(), params={})
    assert str(err.value) == (
        "plugin 'bad' (not from a distribution) raised in generate_signal: ValueError: window too short. "
        "Run with REGIMEFLEX_DEBUG=1 for the traceback, and report it to the plugin's author."
    )


def test_wrong_return_type_is_named() -> None:
    host = PluginHost.from_plugins({"bad": plugin("bad", generate_signal=lambda bars, params: [1, 2])})
    with pytest.raises(PluginCallError) as err:
        host.generate_signal("bad", bars=tiny_bars(), params={})
    assert str(err.value) == (
        "plugin 'bad' (not from a distribution) returned list[2] from generate_signal; expected a dates × "
        "symbols float DataFrame aligned to its input. Fix the plugin (run `regimeflex plugins check bad`)."
    )


def test_signal_outside_minus_one_to_one_is_rejected_with_symbol_and_date() -> None:
    def loud(bars, params):
        out = flat_signal(bars, params)
        out.iloc[2, 1] = 3.0
        return out

    host = PluginHost.from_plugins({"loud": plugin("loud", generate_signal=loud)})
    with pytest.raises(PluginCallError) as err:
        host.generate_signal("loud", bars=tiny_bars(), params={})
    assert str(err.value) == (
        "plugin 'loud' (not from a distribution) returned 3 from generate_signal for BBB on 2024-01-04; "
        "signals must lie in [-1, 1]."
    )


def test_misaligned_signal_columns_are_rejected() -> None:
    def partial(bars, params):
        return flat_signal(bars, params)[["AAA"]]

    host = PluginHost.from_plugins({"p": plugin("p", generate_signal=partial)})
    with pytest.raises(PluginCallError, match=r"symbols differ from its input \(missing \['BBB'\]"):
        host.generate_signal("p", bars=tiny_bars(), params={})


def test_sizer_returning_nan_is_rejected() -> None:
    host = PluginHost.from_plugins({"z": plugin("z", size_position=lambda signals, bars, params: signals * np.nan)})
    bars = tiny_bars()
    with pytest.raises(PluginCallError, match=r"returned NaN from size_position for AAA on 2024-01-02"):
        host.size_position("z", signals=flat_signal(bars, {}), bars=bars, params={})


def test_params_reach_the_plugin_read_only() -> None:
    seen = {}

    def remember(bars, params):
        seen["params"] = params
        return flat_signal(bars, params)

    host = PluginHost.from_plugins({"s": plugin("s", generate_signal=remember)})
    host.generate_signal("s", bars=tiny_bars(), params={"window": 3})
    assert seen["params"]["window"] == 3
    with pytest.raises(TypeError):
        seen["params"]["window"] = 4


def test_plugin_settings_are_validated_by_its_own_model() -> None:
    from pydantic import BaseModel, ConfigDict

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        window: int = 20

    host = PluginHost.from_plugins({"s": plugin("s", generate_signal=flat_signal, settings_model=lambda: Params)})
    assert host.validate_settings("s", {}, where="strategies.yaml: strategies.x.params")["window"] == 20
    with pytest.raises(ConfigError) as err:
        host.validate_settings("s", {"windw": 3}, where="strategies.yaml: strategies.x.params")
    assert str(err.value) == (
        "strategies.yaml: strategies.x.params.windw: unknown key (check the spelling; "
        "see `regimeflex config show` for valid keys)"
    )


def test_trace_logs_each_call_with_secrets_redacted(monkeypatch, caplog) -> None:
    monkeypatch.setenv("REGIMEFLEX_TRACE_PLUGINS", "1")
    monkeypatch.setenv("POLYGON_API_KEY", "pk-test-not-real-123")
    host = PluginHost.from_plugins({"s": plugin("s", generate_signal=flat_signal)})
    import logging

    caplog.set_level(logging.INFO, logger="regimeflex")
    logger = logging.getLogger("regimeflex")
    logger.addHandler(caplog.handler)
    try:
        host.generate_signal("s", bars=tiny_bars(), params={"note": "pk-test-not-real-123"})
    finally:
        logger.removeHandler(caplog.handler)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "trace generate_signal → s(bars=DataFrame[5×10], params={'note': '***'})" in text
    assert "trace generate_signal ← s returned DataFrame[5×2]" in text
    assert "pk-test-not-real-123" not in text


def test_hook_hitting_a_full_disk_names_the_file_cause_and_fix_instead_of_blaming_the_plugin() -> None:
    import errno

    from regimeflex.errors import StorageError

    def full(bars, params):
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/bot/state/model.bin")

    host = PluginHost.from_plugins({"bad": plugin("bad", generate_signal=full)})
    with pytest.raises(StorageError) as err:
        host.generate_signal("bad", bars=tiny_bars(), params={})
    message = str(err.value)
    assert message.startswith(
        "plugin 'bad' (not from a distribution) in generate_signal: file /srv/bot/state/model.bin: cannot write: "
        "no space left on that filesystem (ENOSPC"
    )
    assert "free space there" in message and "report it" not in message and err.value.exit_code == 1
