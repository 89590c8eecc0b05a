"""`regimeflex bot` over Telegram: the poll loop against a local Bot API serving real bodies,
with the core's command center behind it (allow-lists, kill switch, ledger records)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from bot_api import ALLOWED_CHAT, ALLOWED_USER, GROUP_CHAT, TOKEN, BotApi, update
from pytest_httpserver import HTTPServer

from regimeflex.config import load_settings
from regimeflex.control import CommandCenter
from regimeflex.errors import ConfigError
from regimeflex.ledger.store import read_entries, verify_file
from regimeflex.types import CommandContext
from regimeflex_telegram.bot import TelegramBot
from regimeflex_telegram.client import TelegramClient
from regimeflex_telegram.config import TelegramSettings

STRANGER = 99887766


def write_project(root: Path, api_url: str, **bot: Any) -> Path:
    """A fresh `regimeflex init` project with a telegram channel and the bot's allow-lists."""
    from regimeflex.cli.init import starter_files

    for rel, text in starter_files().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    run = yaml.safe_load((root / "config/run.yaml").read_text())
    run["notify"]["channels"]["phone"] = {
        "plugin": "telegram",
        "min_level": "RISK",
        "settings": {"api_url": api_url, "poll_timeout_seconds": 0},
    }
    run["bot"] = {"channel": "phone", "allowed_chat_ids": [ALLOWED_CHAT], "allowed_user_ids": [ALLOWED_USER], **bot}
    (root / "config/run.yaml").write_text(yaml.safe_dump(run))
    return root / "config"


@pytest.fixture
def api(httpserver: HTTPServer) -> BotApi:
    return BotApi(httpserver)


@pytest.fixture
def config(tmp_path: Path, api: BotApi) -> Path:
    return write_project(tmp_path, api.url)


class Harness:
    """One bot process, in-process: the core's center, the plugin's loop, recorded sleeps."""

    def __init__(self, config: Path, api: BotApi, **center: Any) -> None:
        self.settings = load_settings(config, load_env=False)
        self.api = api
        self.sleeps: list[float] = []
        self.center = CommandCenter(self.settings, "phone", **center)
        self.tg = TelegramSettings.model_validate({"api_url": api.url, "poll_timeout_seconds": 0})
        self.client = TelegramClient(TOKEN, api_url=api.url, sleep=self.sleeps.append)
        self.context = CommandContext(
            channel="phone",
            settings=self.tg,
            state_dir=self.settings.path("state/bot/phone"),
            commands=self.center.commands,
            handle=self.center.handle,
            idle=self.center.idle,
            should_stop=api.drained.is_set,
        )

    def bot(self, sleep: Any = None) -> TelegramBot:
        return TelegramBot(self.client, self.context, self.tg, sleep=sleep or self.sleeps.append)

    def serve(self) -> None:
        self.api.drained.clear()
        self.bot().serve()
        self.center.idle()

    @property
    def ledger(self) -> Path:
        return self.settings.path(self.settings.run.paths.ledger)

    def entries(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in read_entries(self.ledger) if e["kind"] == kind]

    @property
    def flag(self) -> Path:
        return self.settings.path(self.settings.run.paths.kill_switch)


def test_status_from_an_allowed_user_is_answered_in_their_chat(config: Path, api: BotApi) -> None:
    api.then(update(1, "/status"))
    Harness(config, api).serve()
    [reply] = api.messages
    assert reply["chat_id"] == str(ALLOWED_CHAT)
    assert "kill switch: off" in reply["text"] and "last run: none recorded yet" in reply["text"]
    assert "next session: " in reply["text"] and "unknown" not in reply["text"].split("next session: ")[1]


def test_kill_engages_the_switch_at_once_and_is_a_ledger_entry(config: Path, api: BotApi) -> None:
    api.then(update(1, "/kill market is crazy"))
    h = Harness(config, api)
    h.serve()
    assert h.flag.exists()
    assert "market is crazy" in json.loads(h.flag.read_text())["reason"]
    assert "ENGAGED" in api.texts()[0]
    [entry] = h.entries("command")
    assert entry["data"]["command"] == "kill" and entry["data"]["outcome"] == "engaged"
    assert (entry["data"]["user_id"], entry["data"]["chat_id"]) == (str(ALLOWED_USER), str(ALLOWED_CHAT))
    assert verify_file(h.ledger).ok


def test_an_unknown_sender_is_ignored_and_recorded(config: Path, api: BotApi) -> None:
    api.then(update(1, "/kill", chat=STRANGER, user=STRANGER))
    h = Harness(config, api)
    h.serve()
    assert api.messages == [] and not h.flag.exists()
    [entry] = h.entries("command_rejected")
    assert entry["data"]["user_id"] == str(STRANGER) and entry["data"]["reason"] == "chat not allowed"
    assert h.entries("command") == []


def test_an_allowed_user_in_a_chat_not_on_the_list_is_ignored(config: Path, api: BotApi) -> None:
    api.then(update(1, "/kill", chat=GROUP_CHAT, user=ALLOWED_USER))
    h = Harness(config, api)
    h.serve()
    assert api.messages == [] and not h.flag.exists()
    assert h.entries("command_rejected")[0]["data"]["reason"] == "chat not allowed"


def test_a_flood_from_a_stranger_is_recorded_once_a_minute(config: Path, api: BotApi) -> None:
    api.then(*[update(i, f"/status {i}", chat=STRANGER, user=STRANGER) for i in range(1, 30)])
    h = Harness(config, api)
    h.serve()
    assert len(h.entries("command_rejected")) == 1


def test_the_offset_survives_a_restart(config: Path, api: BotApi) -> None:
    api.then(update(41, "/help"))
    Harness(config, api).serve()
    api.polls.clear()
    Harness(config, api).serve()  # a new process: reads the offset file
    assert api.polls[0]["offset"] == 42
    assert len(api.messages) == 1  # /help was not answered twice


def test_a_command_queued_while_the_bot_was_down_is_refused(config: Path, api: BotApi) -> None:
    api.then(update(1, "/kill", date=time.time() - 3 * 3600))
    h = Harness(config, api)
    h.serve()
    assert not h.flag.exists()
    assert "ignored" in api.texts()[0] and "180 min ago" in api.texts()[0]


def test_report_sends_the_latest_daily_report_as_a_document(config: Path, api: BotApi) -> None:
    daily = config.parent / "reports" / "daily"
    daily.mkdir(parents=True)
    (daily / "2024-03-12.html").write_text("<html>old</html>")
    (daily / "2024-03-13.html").write_text("<html>latest</html>")
    api.then(update(1, "/report"))
    Harness(config, api).serve()
    [doc] = api.documents
    assert (doc["chat_id"], doc["file_name"], doc["bytes"]) == (str(ALLOWED_CHAT), "2024-03-13.html", 19)


def test_resume_needs_the_code_back_from_the_same_user_within_the_window(config: Path, api: BotApi) -> None:
    clock = [1000.0]
    h = Harness(config, api, clock=lambda: clock[0], new_code=lambda: "314159")
    h.flag.parent.mkdir(parents=True, exist_ok=True)
    h.flag.write_text("{}")
    api.then(update(1, "/resume"))
    h.serve()
    assert "/resume 314159" in api.texts()[-1] and h.flag.exists()
    api.then(update(2, "/resume 314159"))
    h.serve()
    assert not h.flag.exists() and "released" in api.texts()[-1]
    outcomes = [e["data"]["outcome"] for e in h.entries("command")]
    assert outcomes == ["code issued", "released"]
    assert "314159" not in h.ledger.read_text()


def test_a_resume_code_expires_after_60_seconds(config: Path, api: BotApi) -> None:
    clock = [1000.0]
    h = Harness(config, api, clock=lambda: clock[0], new_code=lambda: "271828")
    h.flag.parent.mkdir(parents=True, exist_ok=True)
    h.flag.write_text("{}")
    api.then(update(1, "/resume"))
    h.serve()
    clock[0] += 60.5
    api.then(update(2, "/resume 271828"))
    h.serve()
    assert h.flag.exists() and "expired" in api.texts()[-1]


# ------------------------------------------------------------ Telegram faults


def test_409_conflict_backs_off_says_so_once_and_serves_again(
    config: Path, api: BotApi, caplog: pytest.LogCaptureFixture
) -> None:
    api.then_error(409, "getUpdates_409_conflict.json").then_error(409, "getUpdates_409_conflict.json")
    api.then(update(1, "/help"))
    h = Harness(config, api)
    with caplog.at_level(logging.INFO):
        h.serve()
    assert h.sleeps == [15.0, 15.0]
    conflicts = [r for r in caplog.records if r.name.startswith("regimeflex") and "409" in r.getMessage()]
    assert len(conflicts) == 1 and "another process polls this bot token" in conflicts[0].getMessage()
    assert api.texts()[0].startswith("RegimeFlex commands:")


def test_429_on_getupdates_waits_the_retry_after_telegram_names(config: Path, api: BotApi) -> None:
    api.then_error(429, "sendMessage_429_retry_after.json").then(update(1, "/help"))
    h = Harness(config, api)
    h.serve()
    assert h.sleeps == [41.0]
    assert len(api.messages) == 1


def test_a_network_drop_backs_off_and_the_bot_recovers(tmp_path: Path) -> None:
    server = HTTPServer(port=0)
    server.start()
    try:
        api = BotApi(server)
        config = write_project(tmp_path, api.url)
        api.then(update(1, "/status"))
        h = Harness(config, api)
        server.stop()  # the connection is refused: the network is gone
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 2:
                server.start()  # back after the second backoff

        h.bot(sleep=sleep).serve()
        assert waits == [1.0, 2.0]
        assert "RegimeFlex status" in api.texts()[0]
    finally:
        if server.is_running():
            server.stop()


def test_a_refused_token_stops_the_bot_with_a_config_error(config: Path, api: BotApi, httpserver: HTTPServer) -> None:
    httpserver.clear()
    httpserver.expect_request(f"/bot{TOKEN}/getUpdates").respond_with_json(
        {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
    )
    h = Harness(config, api)
    with pytest.raises(ConfigError) as raised:
        h.bot().serve()
    assert "401" in str(raised.value) and "TELEGRAM_BOT_TOKEN" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_the_token_never_appears_in_logs_or_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)  # masked by the URL pattern, not by its env value
    server = HTTPServer(port=0)
    server.start()
    try:
        api = BotApi(server)
        config = write_project(tmp_path, api.url)
        api.then_error(409, "getUpdates_409_conflict.json").then_error(429, "sendMessage_429_retry_after.json")
        api.then(update(1, "/status"))
        h = Harness(config, api)
        server.stop()
        calls = []

        def sleep(seconds: float) -> None:
            calls.append(seconds)
            if not server.is_running():
                server.start()

        with caplog.at_level(logging.DEBUG):
            h.bot(sleep=sleep).serve()
        # everything RegimeFlex, requests and urllib3 logged (werkzeug is the emulated Telegram server's own log)
        text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
        assert "getUpdates" in text and "/bot***/" in text  # the URL was logged, masked
        assert TOKEN not in text and TOKEN.split(":")[1] not in text
    finally:
        if server.is_running():
            server.stop()


def test_read_only_commands_never_take_the_ledger_write_lock(config: Path, api: BotApi) -> None:
    from regimeflex.ledger.store import open_writer

    h = Harness(config, api)
    (config.parent / "reports" / "daily").mkdir(parents=True)
    (config.parent / "reports" / "daily" / "2024-03-13.html").write_text("<html></html>")
    with open_writer(h.ledger) as writer:  # another process (a run) holds the lock throughout
        writer.record("run_start", {"session": "2024-03-13"})
        api.then(
            *[update(i, f"/{c}") for i, c in enumerate(["status", "positions", "pnl", "orders", "report", "help"], 1)]
        )
        h.serve()
        assert len(api.messages) == 5 and len(api.documents) == 1
        assert h.center.audit is not None and h.center.audit.pending() == 6  # recorded, waiting for the lock
    h.center.idle()
    assert [e["data"]["command"] for e in h.entries("command")] == [
        "status",
        "positions",
        "pnl",
        "orders",
        "report",
        "help",
    ]
    assert verify_file(h.ledger).ok


def test_sent_at_is_the_message_date(config: Path, api: BotApi) -> None:
    moment = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    api.then(update(1, "/help", date=moment.timestamp()))
    h = Harness(config, api, now=lambda: moment)
    h.serve()
    assert h.entries("command")[0]["data"]["sent_at"] == "2026-12-01T05:00:00Z"


# ------------------------------------------------------- the whole command line


REPO = Path(__file__).resolve().parents[3]


def readme_bot_unit() -> dict[str, str]:
    """The README's regimeflex-bot.service: WorkingDirectory, ExecStart, Environment."""
    import re

    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```ini\n(.*?)```", text, re.S) if " bot\n" in b]
    assert len(blocks) == 1, "README.md must show one systemd unit whose ExecStart runs `regimeflex ... bot`"
    unit: dict[str, str] = {}
    for line in blocks[0].splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("WorkingDirectory", "ExecStart"):
            unit[key] = value
        elif sep and key == "Environment":
            name, _, val = value.partition("=")
            unit[f"env:{name}"] = val
    return unit


def test_fresh_init_bot_answers_status_and_kill_and_ignores_a_stranger(tmp_path: Path) -> None:
    """Done-when of issue 16 part 1: `regimeflex init`, then the README's systemd service runs
    `regimeflex bot` against the local Bot API; SIGTERM (systemctl stop) ends it cleanly."""
    import os
    import shlex
    import signal
    import subprocess
    import sys

    installed = Path(sys.executable).parent / "regimeflex"  # the installed console script
    mybot = tmp_path / "mybot"  # the README's /opt/mybot
    (mybot / ".venv" / "bin").mkdir(parents=True)
    (mybot / ".venv" / "bin" / "regimeflex").symlink_to(installed)
    server = HTTPServer(port=0)
    server.start()
    try:
        api = BotApi(server, idle_wait=0.05)
        subprocess.run([str(installed), "init", str(mybot)], check=True, capture_output=True)
        config = write_project(mybot, api.url)
        (mybot / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\n")  # secrets in .env, read by regimeflex itself
        api.then(update(1, "/status"), update(2, "/kill going on holiday"))
        api.then(update(3, "/resume", chat=STRANGER, user=STRANGER))
        unit = readme_bot_unit()
        command = [a.replace("/opt/mybot", str(mybot)) for a in shlex.split(unit["ExecStart"])]
        env = {k[4:]: v for k, v in unit.items() if k.startswith("env:")}
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # systemd's default
        if "REGIMEFLEX_CACHE_HOME" in os.environ:  # this test run's session-table cache
            env["REGIMEFLEX_CACHE_HOME"] = os.environ["REGIMEFLEX_CACHE_HOME"]
        bot = subprocess.Popen(
            command,
            cwd=unit["WorkingDirectory"].replace("/opt/mybot", str(mybot)),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            drained = api.drained.wait(timeout=120)
        finally:
            bot.send_signal(signal.SIGTERM)  # what `systemctl stop` sends
            out, err = bot.communicate(timeout=60)
        assert drained, f"the bot never polled past the scripted updates: {err[-2000:]}"
        assert bot.returncode == 0, err[-2000:]
        status, kill = api.texts()
        assert "RegimeFlex status" in status and "kill switch: off" in status
        assert "kill switch ENGAGED" in kill
        assert "going on holiday" in json.loads((config / "kill_switch.flag").read_text())["reason"]
        entries = list(read_entries(mybot / "logs/audit/ledger.jsonl"))
        assert [(e["kind"], e["data"].get("command")) for e in entries] == [
            ("command", "status"),
            ("command", "kill"),
            ("command_rejected", None),
        ]
        assert "\x1b[" not in err, "no colour codes under systemd"
        assert TOKEN not in out + err and "test-token-not-real" not in out + err
        verify = subprocess.run(
            [str(installed), "--config", str(config), "ledger", "verify"], capture_output=True, text=True
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        server.stop()
