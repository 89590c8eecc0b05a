"""``regimeflex report``: find the daily reports and re-render tear sheets.

Owns the report commands: ``list`` (every daily report under
``paths.reports_dir``, newest first), ``path`` (the file of the latest or a
given session, for ``xdg-open $(regimeflex report path)``), and
``tearsheet`` (render the tear sheet again from a ``regimeflex backtest
--out DIR`` folder: equity.csv, weights.csv, trades.csv).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from regimeflex.cli.common import echo_json, load_settings_for
from regimeflex.errors import ConfigError, RegimeFlexError


def _daily_reports(reports_dir: Path) -> list[tuple[date, Path]]:
    found = []
    for path in sorted((reports_dir / "daily").glob("*.html")):
        try:
            found.append((date.fromisoformat(path.stem), path))
        except ValueError:
            continue  # not one of ours (named YYYY-MM-DD.html)
    return sorted(found, reverse=True)


@click.group("report")
def report_group() -> None:
    """Daily reports and backtest tear sheets (self-contained HTML files)."""


@report_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the daily reports, newest first."""
    settings = load_settings_for(ctx)
    reports_dir = settings.path(settings.run.paths.reports_dir)
    reports = _daily_reports(reports_dir)
    if as_json:
        echo_json(
            {
                "reports_dir": str(reports_dir),
                "daily": [{"session": d.isoformat(), "path": str(p), "bytes": p.stat().st_size} for d, p in reports],
            }
        )
        return
    if not reports:
        click.echo(f"no daily reports in {reports_dir / 'daily'} yet (`regimeflex run` writes one per session)")
        return
    for day, path in reports:
        click.echo(f"{day.isoformat()}  {path}")


@report_group.command("path")
@click.option("--session", default=None, metavar="YYYY-MM-DD", help="The session (default: the latest report).")
@click.pass_context
def path_cmd(ctx: click.Context, session: str | None) -> None:
    """Print the path of a daily report (the latest by default)."""
    settings = load_settings_for(ctx)
    reports_dir = settings.path(settings.run.paths.reports_dir)
    reports = dict(_daily_reports(reports_dir))
    if session is None:
        if not reports:
            raise RegimeFlexError(f"no daily reports in {reports_dir / 'daily'} yet; run `regimeflex run` first")
        click.echo(str(reports[max(reports)]))
        return
    try:
        day = date.fromisoformat(session)
    except ValueError:
        raise ConfigError(f"--session: not a date: {session!r}; use YYYY-MM-DD") from None
    if day not in reports:
        raise RegimeFlexError(
            f"no daily report for {day.isoformat()} in {reports_dir / 'daily'}; "
            f"run `regimeflex run --as-of {day.isoformat()}` to write it"
        )
    click.echo(str(reports[day]))


@report_group.command("tearsheet")
@click.argument("backtest_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the HTML (default: BACKTEST_DIR/tearsheet.html).",
)
@click.option("--title", default="RegimeFlex backtest", show_default=True, help="Page title.")
@click.option(
    "--benchmark-name", default="benchmark", show_default=True, help="Label of the benchmark column of equity.csv."
)
def tearsheet_cmd(backtest_dir: Path, out_path: Path | None, title: str, benchmark_name: str) -> None:
    """Render the tear sheet from a `regimeflex backtest --out DIR` folder."""
    from regimeflex.report.tearsheet import load_backtest_dir, write_tearsheet

    data = load_backtest_dir(backtest_dir, title=title, benchmark_name=benchmark_name)
    path = write_tearsheet(data, out_path or backtest_dir / "tearsheet.html")
    click.echo(f"wrote {path}")
