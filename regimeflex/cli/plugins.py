"""``regimeflex plugins list``: every plugin, its distribution, hooks, roles and state."""

from __future__ import annotations

import click

from regimeflex.cli.common import echo_json


@click.group("plugins")
def plugins_group() -> None:
    """List installed plugins or check one against the conformance kit."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option(
    "--role",
    type=click.Choice(["data", "strategy", "sizer", "broker", "notifier"]),
    help="Only plugins that can play this role.",
)
def list_cmd(as_json: bool, role: str | None) -> None:
    """Show every plugin of the `regimeflex` entry-point group.

    State is `active`, `blocked` (REGIMEFLEX_DISABLED_PLUGINS) or `error`
    (with the load error). Built-ins come from the `regimeflex` distribution.
    """
    from regimeflex.plugins import PluginHost

    infos = [i for i in PluginHost.load().info() if role is None or role in i.roles]
    if as_json:
        echo_json([i.as_dict() for i in infos])
        return
    if not infos:
        click.echo("no plugins installed" + (f" for role {role}" if role else ""))
        return
    header = f"{'NAME':<18} {'DISTRIBUTION':<26} {'ROLES':<16} {'STATE':<8} HOOKS"
    click.echo(header)
    for i in infos:
        dist = f"{i.distribution} {i.version}" if i.distribution else "-"
        click.echo(f"{i.name:<18} {dist:<26} {','.join(i.roles) or '-':<16} {i.state:<8} {','.join(i.hooks)}")
        if i.error:
            click.echo(f"{'':<18} ↳ {i.error}")


# `plugins check` lives in its own module (the conformance kit's CLI); the import is cheap (click only).
from regimeflex.cli.plugins_check import check_cmd  # noqa: E402

plugins_group.add_command(check_cmd)
