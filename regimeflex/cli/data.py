"""``regimeflex data fetch|import|validate|info|coverage``: the user's handle on the bar cache.

Owns the data commands: ``fetch`` fills the cache from the configured
provider (cache first, only missing sessions; a progress bar on a terminal
for many symbols), ``import`` turns the user's CSV files into a validated
cache, ``validate`` re-checks cached bars or files against every rule (exit 1
and a findings table when a rule rejects rows), ``info`` shows each cached
symbol's first/last date, rows and staleness in sessions, ``coverage`` each
symbol's role, holes, rejected rows by rule and distance from the run's
session. Findings are summarised one line per rule (``--verbose`` lists
them all). Each takes ``--json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regimeflex.cli.common import echo_json, is_tty, load_settings_for
from regimeflex.errors import EXIT_ERROR

if TYPE_CHECKING:
    from regimeflex.config import Settings


VERBOSE_HELP = "List every finding (default: one line per rule with its count)."
PRICES_HELP = (
    "What the files' Open/High/Low/Close are when they have no Adj Close column "
    "(overrides data.yaml providers.csv.prices)."
)

#: symbols per load_bars call while a progress bar is shown
PROGRESS_CHUNK = 25


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def _date(value: str | None) -> date | None:
    return datetime.strptime(value, "%Y-%m-%d").date() if value else None


def _symbols(settings: Settings, given: Iterable[str]) -> list[str]:
    chosen = [s.upper() for s in given]
    return chosen or list(dict.fromkeys([*settings.run.universe, settings.run.benchmark]))


@click.group("data")
def data_group() -> None:
    """Fetch, import, validate and inspect cached daily bars."""


@data_group.command("fetch")
@click.argument("symbols", nargs=-1)
@click.option("--start", help="First session (YYYY-MM-DD); default: run.yaml history_sessions back from --end.")
@click.option("--end", help="Last session (YYYY-MM-DD); default: the last completed session.")
@click.option("--refresh", is_flag=True, help="Ignore what the cache covers and fetch the whole range again.")
@click.option("--verbose", is_flag=True, help=VERBOSE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the data report as JSON.")
@click.pass_context
def fetch_cmd(
    ctx: click.Context,
    symbols: tuple[str, ...],
    start: str | None,
    end: str | None,
    refresh: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    """Fill the cache for SYMBOLS (default: the universe and benchmark) from the configured provider."""
    from regimeflex.data import calendar
    from regimeflex.data.service import DataReport, load_bars
    from regimeflex.plugins import PluginHost

    settings = load_settings_for(ctx)
    host = PluginHost.load()
    wanted = _symbols(settings, symbols)
    last = _date(end) or calendar.last_completed_session().date()
    first = _date(start)
    if first is None:
        window = calendar.sessions(date(last.year - 3, 1, 1), last)
        first = window[-min(settings.run.history_sessions, len(window))].date() if len(window) else last
    if first > last:
        raise click.UsageError(f"--start {first} is after --end {last}")
    chunks = [wanted[i : i + PROGRESS_CHUNK] for i in range(0, len(wanted), PROGRESS_CHUNK)]
    reports: list[DataReport] = []
    if len(chunks) > 1 and is_tty() and not as_json:
        with click.progressbar(
            chunks, label=f"fetching {len(wanted)} symbols", item_show_func=lambda c: c[0] if c else None
        ) as bar:
            for chunk in bar:
                reports.append(load_bars(settings, host, chunk, first, last, refresh=refresh)[1])
    else:
        reports.append(load_bars(settings, host, wanted, first, last, refresh=refresh)[1])
    report = reports[0]
    for extra in reports[1:]:
        report.symbols.update(extra.symbols)
        report.validation.extend(extra.validation)
        report.events.extend(extra.events)
        report.provider_calls += extra.provider_calls
        report.provider_error = report.provider_error or extra.provider_error
    failed = bool(report.missing) or report.provider_error is not None
    if as_json:
        echo_json(report.as_dict())
    else:
        rows = [
            (s.symbol, s.source, s.rows_fetched, s.first_bar, s.last_bar, s.stale_sessions)
            for s in report.symbols.values()
        ]
        click.echo(_table(rows, ["symbol", "source", "fetched", "first", "last", "stale"]))
        click.echo(f"{report.provider}: {report.provider_calls} provider call(s), {first} → {report.end}")
        for event in report.events:
            click.echo(
                f"{event.level.name}: {event.title}\n  " + event.body.replace("\n", "\n  "),
                err=event.level.name in ("RISK", "ERROR"),
            )
        _print_findings(report.validation, verbose)
    if failed:
        ctx.exit(EXIT_ERROR)


@data_group.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--provider", help="Whose cache receives the bars (default: data.yaml provider).")
@click.option("--symbol", "symbols", multiple=True, help="Import only this symbol (repeatable).")
@click.option("--prices", type=click.Choice(["adjusted", "raw"]), help=PRICES_HELP)
@click.option("--verbose", is_flag=True, help=VERBOSE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_cmd(
    ctx: click.Context,
    path: Path,
    provider: str | None,
    symbols: tuple[str, ...],
    prices: str | None,
    verbose: bool,
    as_json: bool,
) -> None:
    """Validate CSV files at PATH (a file or a folder) and store them in the cache.

    Rows a rule rejects stay out; everything else is kept, and every finding is listed.
    """
    from regimeflex.data.service import import_source

    settings = load_settings_for(ctx)
    target = provider or settings.data.provider
    if is_tty() and not as_json and path.is_dir():
        # a progress bar over the files of a folder; it appears once the folder is listed
        state: dict[str, Any] = {}

        def step(total: int, file: Path) -> None:
            if "bar" not in state:
                state["bar"] = click.progressbar(length=total, label=f"importing {total} files", show_pos=True)
                state["bar"].__enter__()
            else:
                state["bar"].update(1)
            state["bar"].label = f"importing {file.name}"

        try:
            stored, report = import_source(
                settings, path, provider=target, symbols=symbols or None, prices=prices, progress=step
            )
        finally:
            if "bar" in state:
                state["bar"].update(1)
                state["bar"].__exit__(None, None, None)
    else:
        stored, report = import_source(settings, path, provider=target, symbols=symbols or None, prices=prices)
    if as_json:
        echo_json(
            {
                "provider": target,
                "symbols": stored,
                "rows_in": report.rows_in,
                "rows_out": report.rows_out,
                "findings": [f.as_dict() for f in report.findings],
            }
        )
        return
    click.echo(
        f"imported {report.rows_out} of {report.rows_in} rows for {len(stored)} symbol(s) into the "
        f"{target} cache; {len(report.rejected)} row(s) rejected"
    )
    _print_findings(report, verbose)


@data_group.command("validate")
@click.argument("symbols", nargs=-1)
@click.option(
    "--path",
    type=click.Path(exists=True, path_type=Path),
    help="Validate CSV files (a file or folder) instead of the cache.",
)
@click.option("--provider", help="Whose cache to check (default: data.yaml provider).")
@click.option("--prices", type=click.Choice(["adjusted", "raw"]), help=PRICES_HELP)
@click.option("--verbose", is_flag=True, help=VERBOSE_HELP)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_context
def validate_cmd(
    ctx: click.Context,
    symbols: tuple[str, ...],
    path: Path | None,
    provider: str | None,
    prices: str | None,
    verbose: bool,
    strict: bool,
    as_json: bool,
) -> None:
    """Check cached bars (or files with --path) against every rule; exit 1 when a rule rejects rows."""
    from regimeflex.data.service import validate_cache, validate_files

    settings = load_settings_for(ctx)
    if path is not None:
        report = validate_files(settings, path, symbols=symbols or None, prices=prices)
    else:
        report = validate_cache(settings, symbols or None, provider=provider)
    failed = bool(report.rejected) or (strict and bool(report.findings))
    if as_json:
        echo_json(
            {
                "ok": not failed,
                "rows": report.rows_in,
                "counts": report.counts(),
                "findings": [f.as_dict() for f in report.findings],
            }
        )
    else:
        where = path or f"the {provider or settings.data.provider} cache"
        click.echo(
            f"validated {report.rows_in} rows from {where}: "
            f"{len(report.rejected)} rejected, {len(report.findings) - len(report.rejected)} other finding(s)"
        )
        _print_findings(report, verbose)
    if failed:
        ctx.exit(EXIT_ERROR)


@data_group.command("info")
@click.argument("symbols", nargs=-1)
@click.option("--provider", help="Whose cache to show (default: data.yaml provider).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def info_cmd(ctx: click.Context, symbols: tuple[str, ...], provider: str | None, as_json: bool) -> None:
    """Per cached symbol: first and last date, rows, and how many sessions stale it is."""
    from regimeflex.data.service import open_cache

    settings = load_settings_for(ctx)
    cache = open_cache(settings, provider)
    rows = cache.info()
    if symbols:
        wanted = {s.upper() for s in symbols}
        rows = [r for r in rows if r["symbol"] in wanted]
    if as_json:
        echo_json({"provider": cache.provider, "dir": str(cache.dir), "symbols": rows})
        return
    if not rows:
        click.echo(f"the {cache.provider} cache ({cache.dir}) is empty; fill it with `regimeflex data fetch`")
        return
    click.echo(
        _table(
            [(r["symbol"], r["first"], r["last"], r["rows"], r["stale_sessions"]) for r in rows],
            ["symbol", "first", "last", "rows", "stale"],
        )
    )


def _print_findings(report: Any, verbose: bool = False) -> None:
    """One line per rule with its count and examples; ``--verbose``: every finding as a table."""
    from regimeflex.data.coverage import findings_by_rule

    if not report.findings:
        return
    if verbose:
        click.echo(
            _table(
                [(f.symbol, f.date, f.rule, f.action, f.detail) for f in report.findings],
                ["symbol", "date", "rule", "action", "detail"],
            )
        )
        return
    for line in findings_by_rule(report.findings):
        click.echo(line)
    click.echo("(--verbose lists every finding)")


@data_group.command("coverage")
@click.argument("symbols", nargs=-1)
@click.option("--provider", help="Whose cache to read (default: data.yaml provider).")
@click.option("--as-of", "as_of", help="The run's session (YYYY-MM-DD); default: the last completed session.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def coverage_cmd(
    ctx: click.Context, symbols: tuple[str, ...], provider: str | None, as_of: str | None, as_json: bool
) -> None:
    """Per symbol: role, first/last session, sessions missing inside its history, rejected rows by rule,
    and how far its last bar is behind the run's session. Reads the cache only (no network)."""
    from regimeflex.data import calendar
    from regimeflex.data.coverage import roles_of, symbol_coverage
    from regimeflex.data.service import open_cache

    settings = load_settings_for(ctx)
    cache = open_cache(settings, provider)
    session = _date(as_of) or calendar.last_completed_session().date()
    rows = symbol_coverage(cache, roles_of(settings), session)
    if symbols:
        wanted = {s.upper() for s in symbols}
        rows = [r for r in rows if r.symbol in wanted]
    if as_json:
        echo_json(
            {
                "provider": cache.provider,
                "dir": str(cache.dir),
                "session": session.isoformat(),
                "symbols": [r.as_dict() for r in rows],
            }
        )
        return
    click.echo(
        _table(
            [
                (
                    r.symbol,
                    r.role,
                    r.first or "-",
                    r.last or "-",
                    r.rows,
                    len(r.missing),
                    ", ".join(f"{k} {v}" for k, v in r.rejected.items()) or "-",
                    "no bars" if r.behind is None else r.behind,
                    r.damaged or "",
                )
                for r in rows
            ],
            ["symbol", "role", "first", "last", "rows", "missing", "rejected", "behind", "damaged"],
        )
    )
    click.echo(f"{cache.provider} cache {cache.dir}; behind = sessions after the last bar up to {session}")
