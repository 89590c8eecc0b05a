"""``regimeflex plugins check NAME``: run the conformance kit on one installed plugin.

Owns the command-line face of :mod:`regimeflex.testing`: it loads the plugin
through PluginHost exactly as the runner would, runs every check of every
role the plugin plays, and prints one PASS/FAIL/SKIP line per stable check id
(or ``--json``). Exit code 1 when any check fails. Plugins that declare
``needs_network`` only run their data/broker/notifier checks when ``--params``
gives settings (e.g. pointing at a local test server), so this command never
reaches a real service by surprise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from regimeflex.cli.common import echo_json
from regimeflex.errors import EXIT_ERROR

#: Roles whose checks call an outside service when the plugin declares needs_network.
NETWORK_ROLES = ("data", "broker", "notifier")


def _read_params(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    from regimeflex.fsio import read_yaml_mapping

    return dict(read_yaml_mapping(path, label=str(path)))


def params_from_config(ctx: click.Context, name: str) -> tuple[dict[str, Any], str] | None:
    """The plugin's section of the project's YAML (``--config``), when the project selects it.

    Returns (raw mapping, "<file>: <key path>") or None when there is no
    config directory or it does not name the plugin. A config that does not
    load is reported on stderr and ignored: checking a plugin must not depend
    on an unrelated typo.
    """
    from regimeflex.cli.common import state
    from regimeflex.errors import RegimeFlexError

    config_dir = state(ctx).config_dir
    if not (config_dir / "run.yaml").is_file():
        return None
    from regimeflex.config import load_settings

    try:
        settings = load_settings(config_dir)
    except RegimeFlexError as exc:
        click.echo(f"note: not using {config_dir} for params: {exc}", err=True)
        return None
    if name in settings.data.providers:
        return dict(settings.data.providers[name] or {}), f"data.yaml: providers.{name}"
    for instance, spec in settings.strategies.strategies.items():
        if spec.plugin == name:
            return dict(spec.params or {}), f"strategies.yaml: strategies.{instance}.params"
    if settings.risk.sizer.plugin == name:
        return dict(settings.risk.sizer.params or {}), "risk.yaml: sizer.params"
    if name in settings.broker.brokers:
        return dict(settings.broker.brokers[name] or {}), f"broker.yaml: brokers.{name}"
    for channel, channel_spec in settings.run.notify.channels.items():
        if (channel_spec.plugin or channel) == name:
            return dict(channel_spec.settings or {}), f"run.yaml: notify.channels.{channel}.settings"
    return None


@click.command("check")
@click.argument("name")
@click.option(
    "--params",
    "params_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="YAML file with the params/settings to test the plugin with (validated by its settings "
    "model). Default: the plugin's section of the --config project when it selects the plugin.",
)
@click.option(
    "--role",
    type=click.Choice(["data", "strategy", "sizer", "broker", "notifier"]),
    help="Only the checks of this role (default: every role the plugin plays).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def check_cmd(ctx: click.Context, name: str, params_file: Path | None, role: str | None, as_json: bool) -> None:
    """Run the conformance kit on plugin NAME (the same checks as regimeflex.testing).

    Prints PASS, FAIL or SKIP for every check id; exits 1 when any check fails.
    """
    from regimeflex.testing.checks import checks_for, run_check
    from regimeflex.testing.load import PluginUnderTest, load_subject

    from_config = None if params_file else params_from_config(ctx, name)
    source: str | None
    where: str | None
    if from_config is not None:
        params, source = from_config
        where = source
    else:
        params, source = _read_params(params_file), (str(params_file) if params_file else None)
        where = f"{params_file}: " if params_file else None
    subject = load_subject(PluginUnderTest(name, params=params, where=where))
    roles = [role] if role else subject.roles
    if role and role not in subject.roles:
        raise click.UsageError(f"plugin '{name}' does not play the {role} role (it plays: {', '.join(subject.roles)})")
    # Settings taken from the project's YAML would reach the real service: only --params counts here.
    if subject.capability("needs_network") and params_file is None:
        reason = (
            "plugin declares needs_network; pass --params FILE with settings for a local test "
            "server, or run the kit from the plugin's own tests"
        )
        subject.skip = {**subject.skip, **{c.id: reason for r in roles if r in NETWORK_ROLES for c in checks_for(r)}}
    results = [run_check(c, subject) for r in roles for c in checks_for(r)]
    counts = {s: sum(r.status == s for r in results) for s in ("PASS", "FAIL", "SKIP")}
    if as_json:
        echo_json(
            {
                "plugin": name,
                "roles": roles,
                "params_from": source,
                "capabilities": dict(subject.capabilities),
                "passed": counts["PASS"],
                "failed": counts["FAIL"],
                "skipped": counts["SKIP"],
                "results": [r.as_dict() for r in results],
            }
        )
    else:
        width = max(len(r.check) for r in results) if results else 10
        click.echo(f"plugin '{name}' — roles: {', '.join(roles)} — params: {source or 'defaults'}")
        for r in results:
            click.echo(f"{r.status:<5} {r.check:<{width}}  {r.seconds * 1000:6.0f} ms")
            if r.status != "PASS":
                click.echo(f"      ↳ {r.message}")
        click.echo(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    if counts["FAIL"]:
        ctx.exit(EXIT_ERROR)
