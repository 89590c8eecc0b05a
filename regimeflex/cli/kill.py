"""``regimeflex kill on|off|status``: the emergency stop.

Owns the operator's side of the kill switch: ``on`` writes the flag file
(run.yaml ``paths.kill_switch``) with a reason, so every run stops before its
first broker call and a running one before its next submission; ``on
--cancel-open`` also cancels every open order at the configured broker and
records the cancels in the ledger; ``off`` removes the flag; ``status``
prints it and exits 3 while it is engaged (handy in scripts).
"""

from __future__ import annotations

import sys

import click

from regimeflex.cli.common import echo_json, load_settings_for
from regimeflex.errors import EXIT_KILLED


def _switch(ctx: click.Context):  # noqa: ANN202 - KillSwitch, imported lazily
    from regimeflex.execution.killswitch import KillSwitch

    settings = load_settings_for(ctx)
    return settings, KillSwitch(settings.path(settings.run.paths.kill_switch))


@click.group("kill")
def kill_group() -> None:
    """Engage, release or inspect the kill switch."""


@kill_group.command("on")
@click.option("--reason", default="", help="Why trading is stopped (shown in status, ledger and alerts).")
@click.option("--cancel-open", is_flag=True, help="Also cancel every open order at the broker.")
@click.option("--live", is_flag=True, help="Needed with --cancel-open when broker.yaml says mode: live.")
@click.pass_context
def on_cmd(ctx: click.Context, reason: str, cancel_open: bool, live: bool) -> None:
    """Stop all trading now: no run sends another order until `kill off`."""
    settings, switch = _switch(ctx)
    switch.engage(reason)
    click.echo(f"kill switch ENGAGED ({switch.path}): {reason or 'engaged by hand'}")
    if cancel_open:
        _cancel_open(settings, live)


def _cancel_open(settings, live: bool) -> None:  # noqa: ANN001
    from regimeflex.cli.reconcile import broker_setup, context_for
    from regimeflex.errors import LedgerError
    from regimeflex.execution.reconcile import result_data
    from regimeflex.ledger.journal import open_journal

    setup = broker_setup(settings, live)
    if setup.mode == "dry_run":
        click.echo("broker.yaml mode is dry_run: no orders were sent, nothing to cancel")
        return
    results = setup.host.cancel_open_orders(setup.broker, context=context_for(setup))
    for r in results:
        click.echo(f"canceled {r.client_order_id} {r.side or ''} {r.qty:g} {r.symbol} → {r.status}")
    click.echo(f"{len(results)} open order(s) canceled at {setup.broker}")
    try:
        with open_journal(setup.ledger) as journal:
            for r in results:
                journal.append("cancel", {**result_data(r), "source": "kill --cancel-open"})
    except LedgerError as exc:  # a run holds the ledger: it records the cancels when it reconciles
        click.echo(f"note: cancels not written to the ledger now ({exc}); the next reconcile records them", err=True)


@kill_group.command("off")
@click.pass_context
def off_cmd(ctx: click.Context) -> None:
    """Allow trading again."""
    _, switch = _switch(ctx)
    was = switch.release()
    click.echo(f"kill switch released ({switch.path})" if was else f"kill switch was not engaged ({switch.path})")


@kill_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show whether the kill switch is engaged (exit 3 if it is, 0 if not)."""
    _, switch = _switch(ctx)
    info = switch.info()
    if as_json:
        echo_json({"engaged": info is not None, "flag": str(switch.path), **(info or {})})
    elif info is None:
        click.echo(f"kill switch off ({switch.path}): trading allowed")
    else:
        click.echo(
            f"kill switch ENGAGED ({switch.path}) since {info.get('at', '?')} by {info.get('by', '?')}: "
            f"{info.get('reason', '')}"
        )
    if info is not None:
        sys.exit(EXIT_KILLED)
