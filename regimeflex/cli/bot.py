"""``regimeflex bot``: serve chat commands (/status, /kill, ...) until stopped.

Owns the long-running process a systemd service starts: it checks run.yaml's
``bot`` section (allow-lists must not be empty), picks the notify channel whose
plugin implements ``serve_commands``, makes sure only one bot serves the
project (a lock file in the state directory), and hands the plugin a
:class:`~regimeflex.types.CommandContext` backed by
:class:`regimeflex.control.CommandCenter`. SIGTERM or SIGINT asks the plugin to
stop after its current poll; pending command records are flushed on the way out.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from regimeflex.cli.common import load_settings_for, state
from regimeflex.errors import ConfigError, RegimeFlexError


class BotAlreadyRunning(RegimeFlexError):
    """Another ``regimeflex bot`` serves this project."""


def pick_channel(settings: Any, host: Any) -> tuple[str, str]:
    """(channel name, plugin name) that serves commands; a clear ConfigError otherwise."""
    bot = settings.run.bot
    channels = settings.run.notify.channels
    if bot.channel is not None:
        if bot.channel not in channels:
            listing = ", ".join(channels) or "none"
            raise ConfigError(
                f"run.yaml: bot.channel: '{bot.channel}' is not a channel under notify.channels "
                f"(configured: {listing}); add it there with plugin: telegram"
            )
        spec = channels[bot.channel]
        plugin = spec.plugin or bot.channel
        host.require(plugin, "notifier", where=f"run.yaml: notify.channels.{bot.channel}.plugin")
        if not host.serves_commands(plugin):
            raise ConfigError(
                f"run.yaml: bot.channel: plugin '{plugin}' of channel '{bot.channel}' cannot receive commands "
                "(it does not implement serve_commands); use a chat plugin such as telegram"
            )
        return bot.channel, plugin
    serving = [
        (name, spec.plugin or name)
        for name, spec in channels.items()
        if host.get(spec.plugin or name) is not None and host.serves_commands(spec.plugin or name)
    ]
    if len(serving) != 1:
        found = ", ".join(n for n, _ in serving) or "none"
        raise ConfigError(
            f"run.yaml: bot.channel is not set and {len(serving)} notify channels can serve commands ({found}); "
            "set bot.channel to the one to use (e.g. a channel with plugin: telegram)"
        )
    return serving[0]


def check_allow_lists(settings: Any) -> None:
    bot = settings.run.bot
    for key in ("allowed_chat_ids", "allowed_user_ids"):
        if not getattr(bot, key):
            raise ConfigError(
                f"run.yaml: bot.{key} is empty, so nobody may command the bot; list the ids "
                "(Telegram: send the bot a message and read chat.id and from.id in its log)"
            )


@contextlib.contextmanager
def single_bot(path: Path) -> Iterator[None]:
    """Hold the project's bot lock for the life of the process; a second bot exits with the holder's pid."""
    from regimeflex.fsio import LockHeld, exclusive_lock

    try:
        lock = exclusive_lock(path, timeout=0)
        lock.__enter__()
    except LockHeld as held:
        raise BotAlreadyRunning(
            f"another `regimeflex bot` already serves this project ({held.holder}, lock {path}); "
            "stop it first — two pollers on one bot token make Telegram answer 409 Conflict"
        ) from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


@click.command("bot")
@click.pass_context
def bot_cmd(ctx: click.Context) -> None:
    """Answer chat commands (/status /positions /pnl /orders /report /doctor /kill /resume /help).

    Runs until SIGTERM or Ctrl-C. Only senders on run.yaml's bot.allowed_chat_ids
    AND bot.allowed_user_ids are answered; everything else is ignored and recorded.
    Every accepted command is a ledger entry. Meant for a systemd service (see README).
    """
    from regimeflex.plugins import PluginHost

    settings = load_settings_for(ctx)
    check_allow_lists(settings)
    host = PluginHost.load()
    channel, plugin = pick_channel(settings, host)
    spec = settings.run.notify.channels[channel]
    validated = host.validate_settings(plugin, spec.settings, where=f"run.yaml: notify.channels.{channel}.settings")
    bot_dir = settings.path(settings.run.paths.state_dir) / "bot"
    with single_bot(bot_dir / "bot.lock"):
        _serve(settings, host, channel, plugin, validated, bot_dir, state(ctx).config_dir)


def _serve(
    settings: Any, host: Any, channel: str, plugin: str, validated: Any, bot_dir: Path, config_dir: Path
) -> None:
    from regimeflex.control import CommandCenter
    from regimeflex.log import get_logger
    from regimeflex.types import CommandContext

    log = get_logger("bot")
    stop = threading.Event()

    def ask_to_stop(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping after the current poll", signum)
        stop.set()

    previous = {s: signal.signal(s, ask_to_stop) for s in (signal.SIGTERM, signal.SIGINT)}

    def doctor() -> list[tuple[str, str, str]]:
        from regimeflex.cli.doctor import run_checks

        return [(c.status, c.name, c.detail) for c in run_checks(config_dir, query_broker=False)]

    center = CommandCenter(settings, channel, doctor=doctor)
    context = CommandContext(
        channel=channel,
        settings=validated,
        state_dir=bot_dir / channel,
        commands=center.commands,
        handle=center.handle,
        idle=center.idle,
        should_stop=stop.is_set,
    )
    bot = settings.run.bot
    log.info(
        "bot serving commands on channel '%s' (plugin %s) for %d chat(s) and %d user(s)",
        channel,
        plugin,
        len(bot.allowed_chat_ids),
        len(bot.allowed_user_ids),
    )
    try:
        center.idle()  # records left pending by the previous process
        host.serve_commands(plugin, context=context)
    finally:
        center.idle()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert center.audit is not None
    pending = center.audit.pending()
    if pending:
        log.info("%d command record(s) still pending (the ledger was busy); the next start writes them", pending)
    log.info("bot stopped")
