"""``regimeflex run``: the daily cycle, once."""

from __future__ import annotations

import sys
from datetime import date, datetime

import click

from regimeflex.cli.common import echo_json, load_settings_for, state


class SessionDate(click.ParamType):
    """YYYY-MM-DD, ``last`` (the last completed XNYS session) or ``previous`` (the one before it)."""

    name = "DATE"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip().lower()
        if text in ("last", "previous"):
            from regimeflex.cli.common import state
            from regimeflex.data import calendar

            last = calendar.last_completed_session(state(ctx).now if ctx is not None else None)
            if text == "last":
                return last.date()
            return calendar.previous_session(last).date()
        try:
            return datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{value!r} is not a date; use YYYY-MM-DD, 'last' or 'previous'", param, ctx)


@click.command("run")
@click.option(
    "--as-of",
    type=SessionDate(),
    default=None,
    help="Run for this session: YYYY-MM-DD, 'last' (last completed session) or 'previous'. Default: today.",
)
@click.option("--live", is_flag=True, help="Allow live trading (broker.yaml must also say mode: live).")
@click.option("--refresh", is_flag=True, help="Refetch bars from the provider even when the cache has them.")
@click.option(
    "--replan",
    is_flag=True,
    help="The session already has orders and the targets changed: cancel its unsent/open orders "
    "(recorded in the ledger) and plan it anew with new client order ids.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
@click.pass_context
def run_cmd(ctx: click.Context, as_of: date | None, live: bool, refresh: bool, replan: bool, as_json: bool) -> None:
    """Run the daily cycle once: kill switch → calendar → data → signals → sizing →
    circuit breakers → orders → ledger → broker → reconcile → report → alerts.

    Dry-run unless broker.yaml says `mode: paper` or `mode: live` (live also needs
    --live). Not a trading session → exit 0 with one line. Kill switch engaged →
    exit 3 and nothing sent. Safe to rerun: orders already intended for the session
    are not planned again (a rerun says so when today's targets differ from the ones
    they were planned for; --replan then cancels them and plans anew). Meant for
    cron/systemd: no TTY needed, absolute paths.
    """
    from regimeflex.runner import RunOptions, run_cycle

    settings = load_settings_for(ctx)
    summary = run_cycle(
        settings, RunOptions(as_of=as_of, live=live, refresh=refresh, now=state(ctx).now, replan=replan)
    )
    if as_json:
        echo_json(summary.as_dict())
    else:
        print_summary(summary)
    sys.exit(summary.exit_code)


def print_summary(summary) -> None:  # noqa: ANN001 - RunSummary, imported lazily
    click.echo("")
    click.echo(f"RegimeFlex run — session {summary.session} — mode {summary.mode} — {summary.status}")
    if summary.regime:
        click.echo(f"  regime: {summary.regime}")
    tripped = [b for b in summary.breakers if b.get("state") == "tripped"]
    blind = [b["name"] for b in summary.breakers if b.get("state") == "no data"]
    if summary.breakers:
        ok = sum(1 for b in summary.breakers if b.get("state") == "ok")
        counts = f"{ok} ok, {len(tripped)} tripped, {len(blind)} no data"
        click.echo(f"  circuit breakers: {counts}" + (f" ({', '.join(blind)})" if blind else ""))
    for b in tripped:
        click.echo(
            f"  circuit breaker TRIPPED {b['name']}: value {b.get('value')} ≥ {b.get('threshold')}, "
            f"action {b.get('action')}, reset {b.get('reset')}"
        )
    for event in summary.calendar:
        click.echo(f"  calendar: {event['event']} ({event['rule']})")
    if summary.targets:
        click.echo("  targets:")
        for symbol, weight in sorted(summary.targets.items()):
            click.echo(f"    {symbol:<8} {weight:>8.2%}")
    elif summary.status == "completed":
        click.echo("  targets: all flat")
    if summary.orders:
        click.echo("  orders:")
        for o in summary.orders:
            click.echo(f"    {o['side']:<4} {o['qty']:>10g} {o['symbol']:<8} {o.get('status', '')}")
    if summary.fills:
        click.echo("  fills:")
        for f in summary.fills:
            click.echo(f"    {f['side']:<4} {f['qty']:>10g} {f['symbol']:<8} @ {f['price']:,.4f}")
    if summary.equity is not None:
        click.echo(
            f"  equity: {summary.equity:,.2f}" + (f"  P&L: {summary.pnl:+,.2f}" if summary.pnl is not None else "")
        )
    if summary.report_path:
        click.echo(f"  report: {summary.report_path}")
    for message in summary.messages:
        if message != summary.error:  # logged once above already
            click.echo(f"  note: {message}")
