"""Dispatcher.from_settings: channels from run.yaml, validated by each notifier's own model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer

from regimeflex.builtins import console, mail, webhook
from regimeflex.config import load_settings
from regimeflex.errors import ConfigError, PluginError
from regimeflex.notify.dispatch import Dispatcher
from regimeflex.plugins import PluginHost
from regimeflex.types import Event, Level

HOST = PluginHost.from_plugins({"console": console, "webhook": webhook, "email": mail})


def with_channels(config: Path, channels: dict[str, object]) -> Path:
    run = yaml.safe_load((config / "run.yaml").read_text())
    run["notify"] = {"channels": channels}
    (config / "run.yaml").write_text(yaml.safe_dump(run))
    return config


def test_channels_take_policy_and_plugin_from_run_yaml(project: Path) -> None:
    settings = load_settings(
        with_channels(
            project,
            {
                "console": {"min_level": "RISK"},
                "ops": {
                    "plugin": "webhook",
                    "burst": 2,
                    "rate_per_minute": 6,
                    "dedup_seconds": 60,
                    "settings": {"url": "http://127.0.0.1:9/hook"},
                },
            },
        )
    )
    channels = {c.name: c for c in Dispatcher.from_settings(settings, HOST).channels}
    assert channels["console"].plugin == "console" and channels["console"].policy.min_level == Level.RISK
    assert channels["ops"].plugin == "webhook"
    assert (
        channels["ops"].policy.burst,
        channels["ops"].policy.rate_per_minute,
        channels["ops"].policy.dedup_seconds,
    ) == (2, 6, 60)
    assert channels["ops"].settings["url"] == "http://127.0.0.1:9/hook"


def test_typo_in_channel_settings_names_the_yaml_key(project: Path) -> None:
    settings = load_settings(
        with_channels(
            project, {"hook": {"plugin": "webhook", "settings": {"url": "http://127.0.0.1:9/hook", "timeout": 5}}}
        )
    )
    with pytest.raises(ConfigError, match=r"^run.yaml: notify.channels.hook.settings.timeout: unknown key"):
        Dispatcher.from_settings(settings, HOST)


def test_unknown_notifier_plugin_names_the_channel(project: Path) -> None:
    settings = load_settings(with_channels(project, {"pager": {}}))
    with pytest.raises(PluginError, match=r"^run.yaml: notify.channels.pager: no plugin named 'pager' is installed"):
        Dispatcher.from_settings(settings, HOST)


def test_configured_webhook_receives_events_through_the_plugin_host(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    settings = load_settings(
        with_channels(
            project,
            {"ops": {"plugin": "webhook", "min_level": "RISK", "settings": {"url": httpserver.url_for("/hook")}}},
        )
    )
    dispatcher = Dispatcher.from_settings(settings, HOST)
    dispatcher.send(Event(kind="run", level=Level.INFO, title="Routine"))
    dispatcher.send(Event(kind="breaker", level=Level.RISK, title="Breaker tripped"))
    report = dispatcher.close(timeout=10)
    assert report.ok
    assert [json.loads(req.data)["title"] for req, _ in httpserver.log] == ["Breaker tripped"]
