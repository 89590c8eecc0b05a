"""``regimeflex doctor``: one screen that says whether tomorrow's run will work."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

import click

from regimeflex.cli.common import echo_json, state

Status = Literal["OK", "WARN", "FAIL", "SKIP"]

#: Below this much free disk space the cache, ledger and reports are at risk.
MIN_FREE_DISK_MB = 500
#: Warn this many days before the FOMC table's coverage ends.
FOMC_WARN_DAYS = 90


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def run_checks(config_dir: Any, today: date | None = None, *, query_broker: bool = True) -> list[Check]:
    """Every check, in order; a failure early on marks the checks that need it as SKIP.
    ``today`` (default: today in New York) dates the calendar check. ``query_broker=False``
    (chat ``/doctor``) leaves the broker's account alone: the simulated paper broker rewrites
    its book when asked, which must not race a running cycle.
    """
    from regimeflex.config import load_settings
    from regimeflex.errors import RegimeFlexError
    from regimeflex.plugins import PluginHost, resolve

    checks: list[Check] = []
    try:
        settings = load_settings(config_dir)
        checks.append(Check("config", "OK", f"{settings.config_dir} is valid (broker mode {settings.broker.mode})"))
    except RegimeFlexError as exc:
        checks.append(Check("config", "FAIL", str(exc), "fix the file and key named above"))
        return checks

    host = PluginHost.load()
    try:
        selection = resolve(settings, host)
        names = ", ".join(f"{s.role}={s.name}" for s in selection.all())
        checks.append(Check("plugins", "OK", f"all selected plugins load: {names}"))
    except RegimeFlexError as exc:
        checks.append(Check("plugins", "FAIL", str(exc), "see `regimeflex plugins list`"))
        selection = None
    broken = [i for i in host.info() if i.state == "error"]
    if broken:
        checks.append(
            Check(
                "plugins installed",
                "WARN",
                "; ".join(f"{i.name}: {i.error}" for i in broken),
                "reinstall or uninstall the broken packages",
            )
        )

    if selection is not None:
        needed = sorted({(name, s.name) for s in selection.all() for name in host.required_env(s.name, s.settings)})
        missing = [f"{var} (for {plugin})" for var, plugin in needed if not os.environ.get(var)]
        if missing:
            dry = settings.broker.mode == "dry_run"
            checks.append(
                Check(
                    "environment",
                    "WARN" if dry else "FAIL",
                    "missing: " + ", ".join(missing),
                    "set them in the environment or in .env beside the config directory",
                )
            )
        else:
            present = ", ".join(var for var, _ in needed) or "none needed"
            checks.append(Check("environment", "OK", f"required variables present: {present}"))
        if query_broker:
            checks.extend(_endpoint_checks(settings, host, selection))
        else:
            checks.append(
                Check("broker", "SKIP", "account not queried from chat (`regimeflex doctor` on the host does)")
            )
        checks.append(symbols_check(settings, host))

    checks.append(_cache_check(settings))
    checks.append(calendar_check(settings, today))
    checks.extend(_ledger_and_files(settings))
    return checks


def symbols_check(settings: Any, host: Any) -> Check:
    """Can the provider serve every symbol a run loads (cache manifest and local files, no network)?"""
    from regimeflex.cli.config import symbol_preflight
    from regimeflex.errors import RegimeFlexError

    try:
        rows = symbol_preflight(settings, host)
    except RegimeFlexError as exc:
        return Check("symbols", "FAIL", str(exc), "see `regimeflex config validate`")
    missing = [r for r in rows if r["status"] == "unavailable"]
    if missing:
        return Check(
            "symbols",
            "FAIL",
            "; ".join(r["problem"] for r in missing),
            "add the files or fix the symbols (`regimeflex config validate` lists each)",
        )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return Check("symbols", "OK", f"{len(rows)} symbols served: " + ", ".join(f"{n} {k}" for k, n in counts.items()))


def calendar_check(settings: Any, today: date | None = None) -> Check:
    """Does the FOMC table still cover the coming months? WARN from 90 days before it ends."""
    from regimeflex.data.calendar import ny_today
    from regimeflex.risk.calendar import fomc_table

    today = today or ny_today().date()
    cal = settings.risk.calendar
    if cal.fomc.kind == "allow":
        return Check("calendar", "OK", "FOMC rule is allow: the guard does not depend on the FOMC dates")
    table = fomc_table(cal)
    fix = "upgrade regimeflex (a newer release ships the Fed's new schedule) or list the dates in risk.yaml calendar.fomc.dates"
    if len(table.dates) == 0:
        return Check("calendar", "WARN", f"{table.source} lists no dates: FOMC state unknown on every session", fix)
    left = (table.end.date() - today).days
    if left < 0:
        return Check(
            "calendar",
            "WARN",
            f"{table.describe()}, which ended {-left} days ago: every run reports the FOMC state unknown",
            fix,
        )
    if left <= FOMC_WARN_DAYS:
        return Check(
            "calendar",
            "WARN",
            f"{table.describe()}: it ends in {left} days, after which the FOMC state is unknown",
            fix,
        )
    return Check("calendar", "OK", f"{table.describe()} ({left} days ahead)")


def _cache_check(settings: Any) -> Check:
    """How stale the provider's cache is for the universe (the next run fetches only what is missing)."""
    from regimeflex.data.service import open_cache

    cache = open_cache(settings)
    rows = {r["symbol"]: r for r in cache.info()}
    universe = list(settings.run.universe)
    absent = [s for s in universe if s not in rows]
    stale = {s: rows[s]["stale_sessions"] for s in universe if s in rows and rows[s]["stale_sessions"]}
    if len(absent) == len(universe):
        return Check("data cache", "OK", f"{cache.dir} is empty: the next run fetches the whole history")
    detail = f"{len(universe) - len(absent)}/{len(universe)} symbols cached"
    if absent:
        detail += f"; not cached yet: {', '.join(absent)}"
    if stale:
        worst = max(stale.values())
        detail += f"; behind by up to {worst} session(s) ({', '.join(sorted(stale))})"
        return Check("data cache", "OK", detail + " — the next run fetches the missing sessions")
    return Check("data cache", "OK", detail + ", all up to date")


def _endpoint_checks(settings: Any, host: Any, selection: Any) -> list[Check]:
    from regimeflex.errors import RegimeFlexError
    from regimeflex.execution.session import make_context

    broker_env = host.required_env(selection.broker.name, selection.broker.settings)
    if settings.broker.mode == "dry_run" and broker_env and not all(os.environ.get(v) for v in broker_env):
        return [Check("broker", "SKIP", "dry_run without broker keys: account not queried")]
    try:
        context = make_context(
            mode="paper" if settings.broker.mode == "dry_run" else settings.broker.mode,
            session=date.today(),
            broker_settings=selection.broker.settings,
            state_dir=settings.path(settings.run.paths.state_dir),
            journal_path=settings.path(settings.run.paths.ledger),
            kill_switch=None,  # a read-only account check; the switch is reported on its own line
            initial_equity=settings.run.initial_equity,
        )
        account = host.broker_account(selection.broker.name, context=context)
    except RegimeFlexError as exc:
        return [Check("broker", "FAIL", str(exc), "check the broker keys, base URL and network")]
    if account is None:
        return [Check("broker", "OK", f"{selection.broker.name} reports no account (simulated or dry run)")]
    return [
        Check(
            "broker",
            "OK",
            f"{selection.broker.name} account answers: equity {account.equity:,.2f}, "
            f"buying power {account.buying_power:,.2f}",
        )
    ]


def _ledger_and_files(settings: Any) -> list[Check]:
    from regimeflex.ledger.store import verify_file

    out: list[Check] = []
    ledger = settings.path(settings.run.paths.ledger)
    if not ledger.exists():
        out.append(Check("ledger", "OK", f"{ledger} does not exist yet (created by the first run)"))
    else:
        result = verify_file(ledger)
        if result.ok:
            out.append(Check("ledger", "OK", f"{ledger} verifies ({result.entries} entries)"))
        else:
            out.append(Check("ledger", "FAIL", result.message(ledger), "see `regimeflex ledger verify`"))

    kill = settings.path(settings.run.paths.kill_switch)
    if kill.exists():
        reason = kill.read_text(encoding="utf-8").strip() or "no reason given"
        out.append(
            Check(
                "kill switch",
                "WARN",
                f"engaged ({reason}): runs will exit 3",
                "`regimeflex kill off` when you are ready to trade",
            )
        )
    else:
        out.append(Check("kill switch", "OK", "off"))

    out.extend(_disk_checks(settings))
    return out


def _disk_checks(settings: Any) -> list[Check]:
    """Free space and writability on the filesystem of each folder a run writes to."""
    from regimeflex.fsio import probe_folder

    paths = settings.run.paths
    folders = (
        ("ledger", settings.path(paths.ledger).parent, "paths.ledger"),
        ("reports", settings.path(paths.reports_dir), "paths.reports_dir"),
        ("cache", settings.path(paths.cache_dir), "paths.cache_dir"),
        ("state", settings.path(paths.state_dir), "paths.state_dir"),
    )
    out = []
    for role, folder, key in folders:
        probe = probe_folder(folder, key)
        name = f"disk: {role}"
        free = "free space unknown" if probe.free_bytes is None else f"{probe.free_bytes / 1e6:,.0f} MB free"
        where = str(folder) if probe.probed == folder else f"{folder} (not created yet; probed {probe.probed})"
        if probe.problem:
            out.append(Check(name, "FAIL", f"{where}: cannot write: {probe.problem}", probe.fix))
        elif probe.free_bytes is not None and probe.free_bytes / 1e6 < MIN_FREE_DISK_MB:
            out.append(
                Check(
                    name,
                    "FAIL",
                    f"{where}: only {free} on its filesystem",
                    f"free at least {MIN_FREE_DISK_MB} MB there or set {key} in run.yaml to a folder on a disk "
                    "with room",
                )
            )
        else:
            out.append(Check(name, "OK", f"{where}: writable, {free} on its filesystem"))
    return out


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.pass_context
def doctor_cmd(ctx: click.Context, as_json: bool) -> None:
    """Check that tomorrow's run will work: config, plugins, environment keys (names
    only), broker and data endpoints, cache freshness, ledger, kill switch, disk.

    Each line is OK, WARN, FAIL or SKIP with the fix. Exit 1 when anything FAILs.
    """
    from regimeflex.data.calendar import ny_today

    now = state(ctx).now
    checks = run_checks(state(ctx).config_dir, None if now is None else ny_today(now).date())
    failed = any(c.status == "FAIL" for c in checks)
    if as_json:
        echo_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        for c in checks:
            colour = {"OK": "green", "WARN": "yellow", "FAIL": "red", "SKIP": None}[c.status]
            tag = click.style(f"{c.status:<4}", fg=colour) if colour and sys.stdout.isatty() else f"{c.status:<4}"
            click.echo(f"{tag} {c.name:<18} {c.detail}")
            if c.fix and c.status in ("WARN", "FAIL"):
                click.echo(f"     {'':<18} fix: {c.fix}")
    sys.exit(1 if failed else 0)
