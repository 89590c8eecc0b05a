"""Chat control in the core: the serve_commands hook, `regimeflex bot`, allow-lists, commands, audit records."""

from __future__ import annotations

import json
import threading
import types
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from regimeflex import hookimpl
from regimeflex.config import load_settings
from regimeflex.control import CommandAudit, CommandCenter, orders_text, parse_command, pnl_text
from regimeflex.ledger.store import open_writer, read_entries, verify_file
from regimeflex.types import CommandRequest

CHAT, USER, OTHER_USER = "-100777", "42", "43"


def with_bot(config: Path, **bot: Any) -> Path:
    run = yaml.safe_load((config / "run.yaml").read_text())
    run["bot"] = {"allowed_chat_ids": [int(CHAT)], "allowed_user_ids": [int(USER), int(OTHER_USER)], **bot}
    (config / "run.yaml").write_text(yaml.safe_dump(run))
    return config


def request(text: str, user: str = USER, chat: str = CHAT, **kw: Any) -> CommandRequest:
    return CommandRequest(channel="room", chat_id=chat, user_id=user, text=text, **kw)


@pytest.fixture
def center(project: Path) -> CommandCenter:
    return CommandCenter(load_settings(with_bot(project), load_env=False), "room")


def ledger_of(center: CommandCenter) -> Path:
    return center.settings.path(center.settings.run.paths.ledger)


# ------------------------------------------------------------- the hook + CLI


def toy_chat(script: list[str], replies: list[str]) -> types.ModuleType:
    """A chat plugin that is not Telegram: it 'receives' the scripted texts and keeps the replies."""
    mod = types.ModuleType("toy_chat")

    @hookimpl
    def notify(event, context):  # noqa: ANN001, ANN202
        return None

    @hookimpl
    def serve_commands(context):  # noqa: ANN001, ANN202
        for text in script:
            context.idle()
            reply = context.handle(
                CommandRequest(channel=context.channel, chat_id=CHAT, user_id=USER, text=text, user_name="toy")
            )
            if reply is not None:
                replies.append(reply.text)
        (context.state_dir / "cursor").parent.mkdir(parents=True, exist_ok=True)
        (context.state_dir / "cursor").write_text(str(len(script)))

    mod.notify, mod.serve_commands = notify, serve_commands
    return mod


@pytest.fixture
def toy_host(monkeypatch: pytest.MonkeyPatch):
    from regimeflex.plugins import PluginHost

    def install(script: list[str]) -> list[str]:
        replies: list[str] = []
        real_load = PluginHost.load

        def load(**kw: Any) -> PluginHost:
            host = real_load(**kw)
            PluginHost._register(host._reg, "toy_chat", toy_chat(script, replies), None, None, "toy_chat")
            return host

        monkeypatch.setattr(PluginHost, "load", classmethod(lambda cls, **kw: load(**kw)))
        return replies

    return install


def add_channel(config: Path, name: str, plugin: str) -> None:
    run = yaml.safe_load((config / "run.yaml").read_text())
    run["notify"]["channels"][name] = {"plugin": plugin}
    (config / "run.yaml").write_text(yaml.safe_dump(run))


def test_any_chat_plugin_can_serve_the_commands_through_the_hook(run_cli, project: Path, toy_host) -> None:
    replies = toy_host(["/status", "/kill lunch"])
    add_channel(with_bot(project, channel="room"), "room", "toy_chat")
    code, out, err = run_cli("--config", project, "bot")
    assert code == 0, err
    assert "RegimeFlex status" in replies[0] and "ENGAGED" in replies[1]
    assert (project / "kill_switch.flag").exists()
    kinds = [(e["kind"], e["data"]["command"]) for e in read_entries(project.parent / "logs/audit/ledger.jsonl")]
    assert kinds == [("command", "status"), ("command", "kill")]
    assert (project.parent / "state/bot/room/cursor").read_text() == "2"


def test_the_channel_is_found_when_only_one_can_serve_commands(run_cli, project: Path, toy_host) -> None:
    replies = toy_host(["/help"])
    add_channel(with_bot(project), "room", "toy_chat")
    code, _, err = run_cli("--config", project, "bot")
    assert code == 0, err
    assert replies[0].startswith("RegimeFlex commands:")


def test_bot_refuses_to_start_while_an_allow_list_is_empty(run_cli, project: Path) -> None:
    with_bot(project, allowed_user_ids=[])
    code, _, err = run_cli("--config", project, "bot")
    assert code == 2
    assert "run.yaml: bot.allowed_user_ids is empty, so nobody may command the bot" in err


def test_a_channel_whose_plugin_cannot_receive_commands_is_a_config_error(run_cli, project: Path) -> None:
    with_bot(project, channel="console")
    code, _, err = run_cli("--config", project, "bot")
    assert code == 2
    assert "plugin 'console' of channel 'console' cannot receive commands" in err


def test_a_second_bot_for_the_same_project_exits_naming_the_first(run_cli, project: Path, toy_host) -> None:
    from regimeflex.fsio import exclusive_lock

    toy_host(["/help"])
    add_channel(with_bot(project, channel="room"), "room", "toy_chat")
    with exclusive_lock(project.parent / "state/bot/bot.lock"):
        code, _, err = run_cli("--config", project, "bot")
    assert code == 1
    assert "another `regimeflex bot` already serves this project" in err and "409 Conflict" in err


def test_bot_ids_must_be_whole_numbers_or_strings(run_cli, project: Path) -> None:
    with_bot(project, allowed_chat_ids=[1.5])
    code, _, err = run_cli("--config", project, "config", "validate")
    assert code == 2
    assert "run.yaml: bot.allowed_chat_ids: ids must be whole numbers (Telegram) or strings" in err


# ------------------------------------------------------------------ commands


def test_commands_parse_with_a_bot_name_and_arguments() -> None:
    assert parse_command("/PnL@RegimeFlexBot 10") == ("pnl", ["10"])
    assert parse_command("hello /status") is None and parse_command("/") is None


def test_chatter_from_an_allowed_user_is_not_answered_or_recorded(center: CommandCenter) -> None:
    assert center.handle(request("good morning")) is None
    assert center.audit is not None and center.audit.pending() == 0


def test_an_unknown_command_points_at_help(center: CommandCenter) -> None:
    reply = center.handle(request("/sell_everything"))
    assert reply is not None and reply.text == "unknown command /sell_everything; /help lists the commands"


def test_an_allowed_user_outside_the_allowed_chats_is_ignored(center: CommandCenter) -> None:
    assert center.handle(request("/kill", chat=USER)) is None  # a private chat that is not on the list
    assert not center._switch().engaged()


def test_a_resume_code_sent_back_by_another_allowed_user_is_refused(center: CommandCenter) -> None:
    center.new_code = lambda: "000123"
    center.handle(request("/kill"))
    center.handle(request("/resume"))
    reply = center.handle(request("/resume 000123", user=OTHER_USER))
    assert reply is not None and "issued to someone else" in reply.text
    assert center._switch().engaged()
    again = center.handle(request("/resume 000123"))  # one attempt per code
    assert again is not None and "no resume code is pending" in again.text and center._switch().engaged()


def test_a_wrong_resume_code_burns_the_code(center: CommandCenter) -> None:
    center.new_code = lambda: "654321"
    center.handle(request("/kill"))
    center.handle(request("/resume"))
    assert "wrong code" in center.handle(request("/resume 111111")).text  # type: ignore[union-attr]
    assert "no resume code is pending" in center.handle(request("/resume 654321")).text  # type: ignore[union-attr]
    assert center._switch().engaged()


def test_resume_when_the_switch_is_off_says_so(center: CommandCenter) -> None:
    reply = center.handle(request("/resume"))
    assert reply is not None and reply.text == "the kill switch is not engaged; nothing to resume"


def test_a_failing_command_answers_with_the_error_and_is_recorded(center: CommandCenter) -> None:
    def broken() -> list[tuple[str, str, str]]:
        raise OSError("disk on fire")

    center.doctor = broken
    reply = center.handle(request("/doctor"))
    assert reply is not None and reply.text == "/doctor failed: disk on fire"
    center.idle()
    [entry] = [e for e in read_entries(ledger_of(center)) if e["kind"] == "command"]
    assert entry["data"]["outcome"] == "failed: OSError"


def test_doctor_lists_the_checks(center: CommandCenter) -> None:
    center.doctor = lambda: [("OK", "config", "valid"), ("FAIL", "disk", "10 MB free")]
    reply = center.handle(request("/doctor"))
    assert reply is not None and reply.text == "doctor: 1 FAIL\nOK   config: valid\nFAIL disk: 10 MB free"


def run_end(session: str, equity: float) -> dict[str, Any]:
    return {"kind": "run_end", "height": 1, "data": {"session": session, "equity": equity, "status": "completed"}}


def test_pnl_lists_each_session_and_the_change_over_the_window() -> None:
    entries = [run_end("2024-03-11", 100_500.0), run_end("2024-03-12", 101_000.0), run_end("2024-03-13", 100_000.0)]
    text = pnl_text(entries, 2, 100_000.0)
    assert text.splitlines() == [
        "P&L over the last 2 session(s): -500.00 (-0.50%)",
        "2024-03-12  equity 101,000.00  day +500.00",
        "2024-03-13  equity 100,000.00  day -1,000.00",
        "since 100,000.00 at the start: +0.00",
    ]


def test_pnl_rejects_a_bad_number_of_days(center: CommandCenter) -> None:
    reply = center.handle(request("/pnl lots"))
    assert reply is not None and reply.text == "usage: /pnl [days] with days from 1 to 365"


def test_pnl_without_a_run_says_no_data() -> None:
    assert pnl_text([], 5, 100_000.0) == "P&L: no completed run recorded yet"


def test_orders_shows_todays_intents_and_their_state() -> None:
    intent = {"client_order_id": "a", "session": "2024-03-13", "symbol": "SPY", "side": "buy", "qty": 5.0}
    entries = [
        {"kind": "intent", "height": 1, "data": {**intent, "type": "market", "mode": "paper"}},
        {"kind": "order_ack", "height": 1, "data": {"client_order_id": "a", "status": "accepted"}},
    ]
    now = datetime(2024, 3, 13, 21, 0, tzinfo=UTC)
    assert orders_text(entries, now) == "orders for 2024-03-13:\nbuy 5 SPY market → accepted"
    later = datetime(2024, 3, 14, 21, 0, tzinfo=UTC)
    assert orders_text(entries, later).startswith("no order intents for 2024-03-14; the last were for 2024-03-13:")


def test_status_shows_a_tripped_breaker_and_the_engaged_switch(center: CommandCenter) -> None:
    from regimeflex.risk.breakers import BreakerState, TrippedBreaker
    from regimeflex.risk.state import RiskState, risk_state_path, save_risk_state

    tripped = TrippedBreaker(
        name="max_drawdown", session=date(2024, 3, 12), value=0.12, threshold=0.1, action="flatten", reset="manual"
    )
    save_risk_state(
        risk_state_path(center.settings),
        RiskState(
            breakers=BreakerState(tripped={"max_drawdown": tripped}), regime="bear", regime_session=date(2024, 3, 12)
        ),
    )
    center.handle(request("/kill"))
    text = center.handle(request("/status")).text  # type: ignore[union-attr]
    assert "regime: bear as of 2024-03-12" in text
    assert "circuit breakers: TRIPPED max_drawdown (since 2024-03-12, flatten)" in text
    assert "kill switch: ENGAGED since" in text


def test_status_says_unknown_when_the_risk_state_is_unreadable(center: CommandCenter) -> None:
    from regimeflex.risk.state import risk_state_path

    path = risk_state_path(center.settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    text = center.handle(request("/status")).text  # type: ignore[union-attr]
    assert "regime: unknown" in text and "circuit breakers: unknown (risk state unreadable)" in text


# --------------------------------------------------------------------- audit


def test_records_wait_while_the_ledger_is_locked_and_land_after(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    audit = CommandAudit(ledger, tmp_path / "spool")
    with open_writer(ledger) as writer:
        writer.record("run_start", {"session": "2024-03-13"})
        audit.record("command", {"command": "status"})
        assert audit.flush() == 0 and audit.pending() == 1
        writer.record("run_end", {"session": "2024-03-13"})
    assert audit.flush() == 1 and audit.pending() == 0
    assert [e["kind"] for e in read_entries(ledger)] == ["run_start", "run_end", "command"]
    assert verify_file(ledger).ok


def test_a_flush_that_crashed_after_its_commit_writes_nothing_twice(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    audit = CommandAudit(ledger, tmp_path / "spool")
    audit.record("command", {"command": "kill"})
    audit.record("command", {"command": "status"})
    spooled = audit.pending_path.read_text()
    assert audit.flush() == 2
    audit.flushing_path.write_text(spooled)  # the crash: committed, but the spool was not removed
    audit.record("command", {"command": "help"})  # and a new record arrived after the restart
    assert audit.flush() == 1
    commands = [e["data"]["command"] for e in read_entries(ledger)]
    assert commands == ["kill", "status", "help"]


def test_a_torn_last_spool_line_is_skipped(tmp_path: Path) -> None:
    audit = CommandAudit(tmp_path / "ledger.jsonl", tmp_path / "spool")
    audit.record("command", {"command": "kill"})
    with audit.pending_path.open("a") as fh:
        fh.write('{"kind": "command", "da')  # a crash in the middle of appending
    assert audit.flush() == 1


def test_a_run_waits_for_a_short_lived_ledger_writer(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from regimeflex import fsio
    from regimeflex.runner import RunOptions, run_cycle

    ledger = project.parent / "logs/audit/ledger.jsonl"
    held, release = threading.Event(), threading.Event()

    def bot_flush() -> None:  # the bot writing a command record, as slow as a loaded disk makes it
        with open_writer(ledger) as writer:
            writer.record("command", {"command": "status"})
            held.set()
            release.wait(timeout=30)

    real_sleep = time.sleep

    def waiting(seconds: float) -> None:  # the run is waiting for the lock: the bot finishes its write now
        release.set()
        real_sleep(seconds)

    monkeypatch.setattr(fsio.time, "sleep", waiting)
    holder = threading.Thread(target=bot_flush)
    holder.start()
    held.wait(timeout=30)
    summary = run_cycle(load_settings(project), RunOptions(as_of=date(2024, 3, 13)))
    release.set()
    holder.join()
    assert summary.status == "completed", summary.messages
    assert json.loads(ledger.read_text().splitlines()[0])["kind"] == "command"
