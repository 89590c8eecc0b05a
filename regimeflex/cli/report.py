"""``regimeflex report``: find the daily reports and re-render tear sheets.

Owns the report commands: ``list`` (every daily report under
``paths.reports_dir``, newest first), ``path`` (the file of the latest or a
given session, for ``xdg-open $(regimeflex report path)``), and
``tearsheet`` (render the tear sheet again from a ``regimeflex backtest
--out DIR`` folder: equity.csv, weights, trades) and ``symbol`` (trades on
prices for one symbol: price, the strategy's indicator lines, entries and
exits, position size).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regimeflex.cli.common import echo_json, load_settings_for
from regimeflex.errors import ConfigError, RegimeFlexError

if TYPE_CHECKING:
    import pandas as pd


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


# ---------------------------------------------------------------- symbol pages


def symbol_pages(
    settings: Any,
    symbols: list[str],
    *,
    out_dir: Path,
    trades: pd.DataFrame | None = None,
    positions: pd.DataFrame | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    source: str = "",
    host: Any = None,
    back_link: str | None = None,
    rendered: dict[str, tuple[Path, str]] | None = None,
) -> dict[str, Path]:
    """Write one trades-on-prices page per symbol; returns symbol → path.

    Closes come from the configured data (cache first), indicator lines from each strategy instance
    of strategies.yaml through its ``indicator_lines`` hook (with its own params), fills and shares
    held from ``trades``/``positions`` (a backtest's) when given. The page covers ``start`` … ``end``
    (default: run.yaml's backtest period), with warm-up history loaded before it so the lines exist
    from the start. With ``rendered`` (a dict) the pages are rendered into it as ``symbol → (path,
    html)`` and not written, for a caller that writes them after its other files.
    """
    import pandas as pd

    from regimeflex.backtest.api import resolve_for_backtest
    from regimeflex.data.service import load_bars
    from regimeflex.errors import DataError
    from regimeflex.plugins import PluginHost
    from regimeflex.report.symbol import SymbolPageData, render_symbol_page, symbol_page_path, write_symbol_page

    host = host or PluginHost.load()
    selection = resolve_for_backtest(settings, host)
    if start is None or end is None:
        from regimeflex.backtest.api import period

        lo, hi = period(settings)
        start, end = start or lo, end or hi
    warm = max(int(settings.run.backtest.warmup_sessions or 0), 260)
    first = (start - pd.Timedelta(days=int(warm * 1.6) + 10)).date()
    bars, _ = load_bars(settings, host, symbols, first, end.date())
    written = {}
    for symbol in symbols:
        if symbol not in set(bars.columns.get_level_values("symbol")):
            raise DataError(f"report symbol: no bars for {symbol} (data.yaml provider '{settings.data.provider}')")
        one = bars.loc[:, pd.IndexSlice[:, [symbol]]]
        lines: dict[str, pd.Series] = {}
        described = []
        for name, sel in selection.strategies.items():
            drawn = host.indicator_lines(sel.name, bars=one, params=sel.settings)
            for line, frame in drawn.items():
                if symbol in frame.columns:
                    lines[f"{name}: {line}" if len(selection.strategies) > 1 else line] = frame[symbol]
            params = ", ".join(f"{k} {v}" for k, v in dict(sel.settings).items())
            described.append(f"{name} ({sel.name}{': ' + params if params else ''})")
        close = one["close"][symbol]
        close = close[(close.index >= start) & (close.index <= end)]
        fills = trades[trades["symbol"].astype(str) == symbol] if trades is not None else None
        held = positions[symbol] if positions is not None and symbol in positions.columns else None
        data = SymbolPageData(
            symbol=symbol,
            close=close,
            lines=lines,
            fills=fills,
            position=held,
            strategy="; ".join(described),
            source=source,
            back_link=back_link,
            generated_at=datetime.combine(end.date(), datetime.min.time(), tzinfo=UTC),
        )
        target = symbol_page_path(out_dir, symbol)
        if rendered is not None:
            rendered[symbol] = (target, render_symbol_page(data))
            written[symbol] = target
        else:
            written[symbol] = write_symbol_page(data, target)
    return written


@report_group.command("symbol")
@click.argument("symbol")
@click.option(
    "--from",
    "from_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A `regimeflex backtest --out` folder: its fills and positions are drawn on the prices.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the HTML (default: FROM/symbols/SYMBOL.html, else reports_dir/symbols/SYMBOL.html).",
)
@click.pass_context
def symbol_cmd(ctx: click.Context, symbol: str, from_dir: Path | None, out_path: Path | None) -> None:
    """Trades on prices: price, the strategy's indicator lines, entries and exits, position size."""
    settings = load_settings_for(ctx)
    symbol = symbol.strip().upper()
    if from_dir is not None and not (from_dir / "equity.csv").is_file():
        raise ConfigError(
            f"--from {from_dir}: no equity.csv there; write the folder with `regimeflex backtest --out {from_dir}`"
        )
    import pandas as pd

    from regimeflex.report.tearsheet import load_backtest_dir, read_frame

    kwargs: dict[str, Any] = {}
    if from_dir is not None:
        sheet = load_backtest_dir(from_dir)
        index = pd.DatetimeIndex(sheet.equity.index)
        kwargs = dict(
            trades=sheet.trades,
            positions=read_frame(from_dir, "positions"),
            start=index[0],
            end=index[-1],
            source=str(from_dir),
            back_link="../tearsheet.html" if (from_dir / "tearsheet.html").is_file() else None,
        )
    base = from_dir if from_dir is not None else settings.path(settings.run.paths.reports_dir)
    pages = symbol_pages(settings, [symbol], out_dir=base, **kwargs)
    path = pages[symbol]
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        path = Path(path.replace(out_path))
    click.echo(f"wrote {path}")
