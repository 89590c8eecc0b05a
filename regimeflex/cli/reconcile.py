"""``regimeflex reconcile``: compare the ledger with the broker and record what differs.

Owns the on-demand run of step 8 (and of a run's start-up recovery): it opens
the ledger as the single writer, asks the configured broker about every open
order and for its fills, writes missing fills and status changes, and prints
one row per mismatch (unknown broker order, missing order, quantity or price
difference, position drift). Exit 0 when ledger and broker agree, 1 when they
do not. In ``dry_run`` mode there is no broker to compare with.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click

from regimeflex.cli.common import echo_json, load_settings_for
from regimeflex.errors import EXIT_ERROR


@dataclass(frozen=True)
class BrokerSetup:
    """Everything a command needs to talk to the configured broker."""

    host: Any
    broker: str
    mode: str
    broker_settings: Any
    ledger: Path
    state_dir: Path
    kill_switch: Any
    initial_equity: float


def broker_setup(settings: Any, live: bool) -> BrokerSetup:
    from regimeflex.config.broker import effective_mode
    from regimeflex.execution.killswitch import KillSwitch
    from regimeflex.plugins import PluginHost

    mode = effective_mode(settings.broker, live)
    host = PluginHost.load()
    name = settings.broker.broker
    host.require(name, "broker", where="broker.yaml: broker")
    validated = host.validate_settings(name, settings.broker.brokers.get(name), where=f"broker.yaml: brokers.{name}")
    return BrokerSetup(
        host=host,
        broker=name,
        mode=mode,
        broker_settings=validated,
        ledger=settings.path(settings.run.paths.ledger),
        state_dir=settings.path(settings.run.paths.state_dir),
        kill_switch=KillSwitch(settings.path(settings.run.paths.kill_switch)),
        initial_equity=float(settings.run.initial_equity),
    )


def context_for(setup: BrokerSetup, session: date | None = None) -> Any:
    """The broker context of an operator command (reconcile, ``kill on --cancel-open``): it reads
    and cancels even while the kill switch is engaged; it never sends an order."""
    from regimeflex.execution.session import make_context

    return make_context(
        mode=setup.mode,  # type: ignore[arg-type]  # validated by broker.yaml's model
        session=session or date.today(),
        broker_settings=setup.broker_settings,
        state_dir=setup.state_dir,
        journal_path=setup.ledger,
        kill_switch=None,
        initial_equity=setup.initial_equity,
    )


def ledger_broken_event(message: str) -> Any:
    """The ERROR alert sent when a command refuses to act on a ledger that does not verify."""
    from regimeflex.types import Event, Level

    return Event(kind="ledger_broken", level=Level.ERROR, title="RegimeFlex: ledger does not verify", body=message)


@click.command("reconcile")
@click.option("--live", is_flag=True, help="Needed when broker.yaml says mode: live.")
@click.option("--json", "as_json", is_flag=True, help="Print the reconcile report as JSON.")
@click.pass_context
def reconcile_cmd(ctx: click.Context, live: bool, as_json: bool) -> None:
    """Compare ledger intents and fills with the broker's orders, fills and positions;
    write missing fills; list every mismatch. Exit 1 when there is any."""
    from regimeflex.execution.reconcile import reconcile
    from regimeflex.ledger.journal import open_journal

    settings = load_settings_for(ctx)
    setup = broker_setup(settings, live)
    if setup.mode == "dry_run":
        message = "broker.yaml mode is dry_run: no orders were sent, so there is nothing to reconcile"
        if as_json:
            echo_json({"ok": True, "mode": "dry_run", "message": message, "mismatches": []})
        else:
            click.echo(message)
        return
    from regimeflex.cli.common import now_of
    from regimeflex.data.calendar import ny_today
    from regimeflex.errors import LedgerBroken
    from regimeflex.notify.dispatch import Dispatcher

    dispatcher = Dispatcher.from_settings(settings, setup.host)
    try:
        with open_journal(setup.ledger) as journal:
            today = ny_today(now_of(ctx)).date()
            report = reconcile(
                journal, setup.host, setup.broker, context_for(setup, today), today=today, notify=dispatcher.send
            )
    except LedgerBroken as exc:
        dispatcher.send(ledger_broken_event(str(exc)))
        raise
    finally:
        dispatcher.close()
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(
            f"reconcile ({setup.broker}, {setup.mode}): {report.sync.fills_written} fill(s) written, "
            f"{len(report.sync.updated)} order(s) updated, {len(report.sync.expired)} intent(s) expired"
        )
        if report.mismatches:
            click.echo(f"{'kind':<17} {'symbol':<7} detail")
            for m in report.mismatches:
                click.echo(f"{m.kind:<17} {m.symbol:<7} {m.detail}")
        else:
            click.echo("ledger and broker agree")
    if report.mismatches:
        sys.exit(EXIT_ERROR)
