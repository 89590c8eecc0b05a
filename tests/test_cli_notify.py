"""`regimeflex notify test`: every channel gets a test message; failures exit 1 with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pytest_httpserver import HTTPServer


def with_channels(config: Path, channels: dict[str, object]) -> Path:
    run = yaml.safe_load((config / "run.yaml").read_text())
    run["notify"] = {"channels": channels}
    (config / "run.yaml").write_text(yaml.safe_dump(run))
    return config


def test_notify_test_reaches_every_channel_whatever_its_level(run_cli, project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with_channels(
        project,
        {
            "console": {},
            "ops": {"plugin": "webhook", "min_level": "ERROR", "settings": {"url": httpserver.url_for("/hook")}},
        },
    )
    code, out, err = run_cli("--config", str(project), "notify", "test")
    assert code == 0
    assert out.splitlines()[-2:] == ["console (console): ok", "ops (webhook): ok"]
    assert json.loads(httpserver.log[0][0].data)["title"] == "RegimeFlex test message"
    assert "[INFO] RegimeFlex test message" in err


def test_notify_test_reports_a_failing_channel_and_exits_1(run_cli, project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("unknown hook", status=404)
    with_channels(project, {"ops": {"plugin": "webhook", "settings": {"url": httpserver.url_for("/hook")}}})
    code, out, err = run_cli("--config", str(project), "notify", "test")
    assert code == 1
    assert "ops (webhook): FAILED: webhook localhost: HTTP 404: unknown hook" in out
    assert "1 channel(s) failed the test" in err


def test_notify_test_of_an_unknown_channel_lists_the_channels(run_cli, project: Path) -> None:
    with_channels(project, {"console": {}})
    code, _, err = run_cli("--config", str(project), "notify", "test", "--channel", "phone")
    assert code == 2
    assert "run.yaml: notify.channels has no channel named 'phone' (channels: console)" in err
