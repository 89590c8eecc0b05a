"""``regimeflex notify test``: check that every configured channel really delivers.

Owns the one notification command: it sends a harmless test event to each
channel of ``notify.channels`` (or one, with ``--channel``), ignoring the
channels' minimum levels and rate limits, waits for the deliveries and
prints ok or the error for each. Exit 1 when any channel failed.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import click

from regimeflex.cli.common import echo_json, load_settings_for
from regimeflex.errors import ConfigError, RegimeFlexError


@click.group("notify")
def notify_group() -> None:
    """Notification channels (run.yaml notify.channels)."""


@notify_group.command("test")
@click.option("--channel", "only", default=None, metavar="NAME", help="Test only this channel.")
@click.option("--json", "as_json", is_flag=True, help="Print the delivery report as JSON.")
@click.pass_context
def test_cmd(ctx: click.Context, only: str | None, as_json: bool) -> None:
    """Send a test message to each channel and report what happened."""
    from regimeflex.notify.dispatch import ChannelPolicy, Dispatcher
    from regimeflex.plugins import PluginHost
    from regimeflex.types import Event, Level

    settings = load_settings_for(ctx)
    configured = Dispatcher.from_settings(settings, PluginHost.load())
    channels = configured.channels
    if only is not None:
        channels = [c for c in channels if c.name == only]
        if not channels:
            names = ", ".join(c.name for c in configured.channels) or "none"
            raise ConfigError(f"run.yaml: notify.channels has no channel named '{only}' (channels: {names})")
    # a test goes through whatever the channel's level and rate limit would say
    channels = [
        dataclasses.replace(c, policy=ChannelPolicy(min_level=Level.INFO, burst=1, rate_per_minute=1)) for c in channels
    ]
    dispatcher = Dispatcher(channels, configured.host)
    dispatcher.send(
        Event(
            kind="test",
            level=Level.INFO,
            title="RegimeFlex test message",
            body="If you can read this, the channel works.",
            ts=datetime.now(UTC),
        )
    )
    report = dispatcher.close()
    if as_json:
        echo_json(report.to_dict())
    else:
        errors = {f.channel: f.error for f in report.failures}
        for channel in channels:
            state = "ok" if channel.name not in errors else f"FAILED: {errors[channel.name]}"
            click.echo(f"{channel.name} ({channel.plugin}): {state}")
    if report.failures:
        raise RegimeFlexError(f"{len({f.channel for f in report.failures})} channel(s) failed the test")
