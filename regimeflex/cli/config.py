"""``regimeflex config validate|show``."""

from __future__ import annotations

import click
import yaml

from regimeflex.cli.common import echo_json, load_settings_for


@click.group("config")
def config_group() -> None:
    """Validate or show the configuration."""


@config_group.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def validate_cmd(ctx: click.Context, as_json: bool) -> None:
    """Check every YAML file and every plugin it selects (installed, loads, right role, valid settings).

    Exit 0 when valid, 2 with one line naming the file, key and fix otherwise.
    """
    from regimeflex.plugins import PluginHost, resolve

    settings = load_settings_for(ctx)
    selection = resolve(settings, PluginHost.load())
    selection_names = {s.where: s.name for s in selection.all()}
    summary = {
        "config_dir": str(settings.config_dir),
        "valid": True,
        "plugins": selection_names,
        "broker_mode": settings.broker.mode,
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(f"configuration in {settings.config_dir} is valid")
    for where, name in selection_names.items():
        click.echo(f"  {where:<48} {name}")
    click.echo(f"  broker mode: {settings.broker.mode}")


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@click.pass_context
def show_cmd(ctx: click.Context, as_json: bool) -> None:
    """Print the effective configuration with defaults filled in and secrets redacted."""
    settings = load_settings_for(ctx)
    data = settings.redacted_dump()
    if as_json:
        echo_json(data)
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
