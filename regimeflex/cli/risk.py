"""``regimeflex risk status|reset``: see and clear the risk layer's state.

Owns the two commands over :mod:`regimeflex.risk`: ``status`` prints the
regime the last run read, every circuit breaker (on/off, tripped since when
and on what numbers, ``no data`` when the last run had no input for it,
action and reset rule) and the calendar guard for today
and the coming sessions (``--json`` for machines); ``reset NAME`` clears a
tripped breaker by hand and saves the state atomically.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from regimeflex.cli.common import echo_json, load_settings_for, state
from regimeflex.config.risk import BREAKERS
from regimeflex.errors import RegimeFlexError

if TYPE_CHECKING:
    from regimeflex.config import Settings


@click.group("risk")
def risk_group() -> None:
    """Show the regime, circuit breakers and calendar events; reset a breaker."""


def status_data(settings: Settings, today: dt.date) -> dict[str, Any]:
    """Everything ``risk status`` shows, as plain data."""
    from regimeflex.risk.calendar import calendar_guard, fomc_table, upcoming_events
    from regimeflex.risk.state import load_risk_state, risk_state_path

    path = risk_state_path(settings)
    state = load_risk_state(path)
    enabled = settings.risk.circuit_breakers.enabled()
    breakers = []
    for name in BREAKERS:
        spec, tripped = enabled.get(name), state.breakers.tripped.get(name)
        breakers.append(
            {
                "name": name,
                "enabled": spec is not None,
                "tripped": tripped is not None,
                "threshold": spec.threshold if spec else None,
                "action": (tripped.action if tripped else spec.action if spec else None),
                "reset": (tripped.reset if tripped else spec.reset if spec else None),
                "since": tripped.session.isoformat() if tripped else None,
                "value": tripped.value if tripped else None,
                "state": "tripped"
                if tripped
                else "not evaluated yet"
                if state.breakers.last_session is None
                else "no data"
                if name in state.breakers.no_data
                else "ok",
            }
        )
    guard = calendar_guard(today, settings.risk.calendar)
    fomc = fomc_table(settings.risk.calendar)
    return {
        "state_file": str(path),
        "regime": {
            "label": state.regime,
            "session": state.regime_session.isoformat() if state.regime_session else None,
        },
        "peak_equity": state.breakers.peak_equity,
        "breakers": breakers,
        "calendar": {
            "today": {
                "date": today.isoformat(),
                "is_session": guard.is_session,
                "early_close": guard.early_close,
                "allow_entries": guard.allow_entries,
                "scale": guard.scale,
                "reasons": list(guard.reasons),
                "unknown": list(guard.unknown),
            },
            "fomc_table": {
                "source": fomc.source,
                "covers_from": fomc.start.date().isoformat() if len(fomc.dates) else None,
                "covers_to": fomc.end.date().isoformat() if len(fomc.dates) else None,
                "last_date": fomc.dates.max().date().isoformat() if len(fomc.dates) else None,
                "days_left": (fomc.end.date() - today).days if len(fomc.dates) else None,
            },
            "upcoming": [
                {**e.to_dict(), "rule": getattr(settings.risk.calendar, e.kind).rule}
                for e in upcoming_events(today, settings.risk.calendar)
            ],
        },
    }


def _print_status(data: dict[str, Any]) -> None:
    regime = data["regime"]
    click.echo(
        f"regime: {regime['label'] or 'unknown (no run recorded yet)'}"
        + (f" (as of {regime['session']})" if regime["session"] else "")
    )
    click.echo("circuit breakers:")
    for b in data["breakers"]:
        if not b["enabled"] and not b["tripped"]:
            click.echo(f"  {b['name']:<20} off")
            continue
        state = f"TRIPPED since {b['since']} at {b['value']:.4g}" if b["tripped"] else b["state"]
        if b["state"] == "no data":
            state = "no data at the last run"
        threshold = f"threshold {b['threshold']:g}" if b["threshold"] is not None else "switched off"
        click.echo(f"  {b['name']:<20} {state:<34} {threshold:<18} action {b['action']:<14} reset {b['reset']}")
    today = data["calendar"]["today"]
    if not today["is_session"]:
        verdict = "not a trading session"
    else:
        verdict = "entries allowed" if today["allow_entries"] else "entries skipped"
        if today["scale"] != 1.0:
            verdict += f", targets x {today['scale']:g}"
        if today["early_close"]:
            verdict += ", early close"
        if today["unknown"]:
            verdict += f", {' and '.join(k.upper() for k in today['unknown'])} unknown"
    click.echo(f"today {today['date']}: {verdict}" + (f" ({'; '.join(today['reasons'])})" if today["reasons"] else ""))
    fomc = data["calendar"]["fomc_table"]
    if fomc["last_date"] is None:
        click.echo(f"FOMC table: {fomc['source']} lists no dates: the FOMC state is unknown on every session")
    else:
        left = fomc["days_left"]
        when = f"ends in {left} days" if left >= 0 else f"ENDED {-left} days ago: the FOMC state is unknown"
        click.echo(
            f"FOMC table: {fomc['source']}, {fomc['covers_from']}..{fomc['covers_to']} "
            f"(last date {fomc['last_date']}); {when}"
        )
    upcoming = data["calendar"]["upcoming"]
    click.echo("upcoming events:" if upcoming else "upcoming events: none in the coming sessions")
    for e in upcoming:
        click.echo(f"  {e['date']}  {e['kind']:<12} rule {e['rule']}")


@risk_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date to show the calendar for (default: today in New York).",
)
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool, as_of: dt.datetime | None) -> None:
    """Print the regime, every circuit breaker and the calendar guard's upcoming events."""
    from regimeflex.data.calendar import ny_today

    settings = load_settings_for(ctx)
    today = as_of.date() if as_of else ny_today(state(ctx).now).date()
    data = status_data(settings, today)
    if as_json:
        echo_json(data)
    else:
        _print_status(data)


@risk_group.command("reset")
@click.argument("name", type=click.Choice(list(BREAKERS)))
@click.pass_context
def reset_cmd(ctx: click.Context, name: str) -> None:
    """Clear the tripped circuit breaker NAME (whatever its reset rule) and save the state."""
    from dataclasses import replace

    from regimeflex.log import get_logger
    from regimeflex.risk.breakers import reset_breaker
    from regimeflex.risk.state import load_risk_state, risk_state_path, save_risk_state

    settings = load_settings_for(ctx)
    path = risk_state_path(settings)
    state = load_risk_state(path)
    try:
        breakers, event = reset_breaker(state.breakers, name)
    except KeyError as exc:
        raise RegimeFlexError(f"risk reset: {exc.args[0]}; nothing to do") from None
    save_risk_state(path, replace(state, breakers=breakers))
    get_logger("risk").info("%s by hand (state saved to %s)", event.title, path)
    click.echo(f"circuit breaker {name} reset; state saved to {path}")
