"""Hook API versions and renamed hooks: a plugin built for another API is refused in one line,
a hook under its old name keeps working with a deprecation warning."""

from __future__ import annotations

import types

import pytest

from regimeflex import hookimpl, hookspecs
from regimeflex.errors import PluginError
from regimeflex.plugins import PluginHost
from regimeflex.plugins.registry import hook_api_problem


def _strategy(api: str | None) -> types.SimpleNamespace:
    @hookimpl
    def generate_signal(bars, params):
        return bars["close"] * 0.0

    plugin = types.SimpleNamespace(generate_signal=generate_signal)
    if api is not None:
        plugin.REGIMEFLEX_HOOK_API = api
    return plugin


def test_a_plugin_declaring_the_core_hook_api_loads_and_shows_it():
    host = PluginHost.from_plugins({"mine": _strategy(hookspecs.HOOK_API_VERSION)})
    info = host.require("mine", "strategy")
    assert info.hook_api == hookspecs.HOOK_API_VERSION
    assert info.as_dict()["hook_api"] == hookspecs.HOOK_API_VERSION


def test_a_plugin_declaring_no_hook_api_still_loads():
    host = PluginHost.from_plugins({"mine": _strategy(None)})
    assert host.require("mine", "strategy").hook_api is None


def test_a_plugin_for_another_major_is_refused_naming_both_versions():
    host = PluginHost.from_plugins({"future": _strategy("2.0")})
    with pytest.raises(PluginError) as raised:
        host.require("future", "strategy")
    message = str(raised.value)
    assert f"is written for hook API 2.0 and this RegimeFlex provides hook API {hookspecs.HOOK_API_VERSION}" in message


def test_a_plugin_needing_a_newer_minor_is_refused():
    major, minor = hookspecs.HOOK_API_VERSION.split(".")
    assert hook_api_problem(f"{major}.{int(minor) + 1}") is not None
    assert hook_api_problem(f"{major}.{minor}") is None


def test_a_malformed_hook_api_declaration_is_explained():
    assert hook_api_problem("one") == (
        f'declares REGIMEFLEX_HOOK_API = \'one\'; write it as "MAJOR.MINOR", e.g. "{hookspecs.HOOK_API_VERSION}"'
    )


def test_a_hook_under_its_old_name_is_called_under_the_new_one_with_a_deprecation_warning(monkeypatch):
    monkeypatch.setitem(hookspecs.RENAMED_HOOKS, "make_signal", ("generate_signal", "2.0"))

    @hookimpl(specname=None)
    def make_signal(bars, params):
        return bars["close"] * 0.0

    plugin = types.SimpleNamespace(make_signal=make_signal, __name__="old_style")
    with pytest.warns(DeprecationWarning, match="hook 'make_signal' was renamed to 'generate_signal'"):
        host = PluginHost.from_plugins({"old_style": plugin})
    assert "generate_signal" in host.require("old_style", "strategy").hooks


def test_every_first_party_plugin_declares_the_core_hook_api():
    from regimeflex_alpaca import hooks as alpaca
    from regimeflex_polygon import hooks as polygon
    from regimeflex_telegram import hooks as telegram

    assert {alpaca.REGIMEFLEX_HOOK_API, polygon.REGIMEFLEX_HOOK_API, telegram.REGIMEFLEX_HOOK_API} == {
        hookspecs.HOOK_API_VERSION
    }
