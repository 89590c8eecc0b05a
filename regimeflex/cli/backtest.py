"""``regimeflex backtest``: the configured strategies over history, with files and a tear sheet."""

from __future__ import annotations

import resource
import time
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regimeflex.cli.common import echo_json, load_settings_for

if TYPE_CHECKING:
    from regimeflex.config import Settings


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option) from None


@click.command("backtest")
@click.option(
    "--start",
    default=None,
    metavar="YYYY-MM-DD",
    help="First session traded (default: run.yaml backtest.start, else ten years back).",
)
@click.option(
    "--end",
    default=None,
    metavar="YYYY-MM-DD",
    help="Last session (default: run.yaml backtest.end, else the last completed session).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write equity/positions/weights/trades/targets (parquet; equity and trades also CSV), "
    "summary.json and tearsheet.html here (default: <reports_dir>/backtests/<UTC timestamp>).",
)
@click.option("--refresh", is_flag=True, help="Refetch bars from the provider even when the cache has them.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option(
    "--allow-lookahead",
    is_flag=True,
    help="Backtest a strategy or sizer the lookahead guard catches anyway; the summary and the tear "
    "sheet then carry a LOOKAHEAD warning.",
)
@click.pass_context
def backtest_cmd(
    ctx: click.Context,
    start: str | None,
    end: str | None,
    out_dir: Path | None,
    refresh: bool,
    as_json: bool,
    allow_lookahead: bool,
) -> None:
    """Backtest the strategies, sizer and universe of the configuration over history.

    The same strategy and sizer hooks as the daily run, called once over the
    whole history. By default (run.yaml `backtest.mode: daily`) each session's
    targets go through the daily run's order planner, the paper broker's fills
    and costs (broker.yaml) and risk.yaml's circuit breakers, exactly as daily
    runs would trade them; `backtest.mode: research` uses idealised fills
    (fractional shares, `backtest.costs`, rebalance rule). Before simulating,
    the lookahead guard re-runs the strategies and sizer on truncated history
    and stops (exit 1) if a value depends on later bars. Same inputs, same bytes.
    """
    from regimeflex.backtest import run, write_outputs
    from regimeflex.backtest.results import lookahead_banner, rules_line, summary, write_tearsheet
    from regimeflex.cli.common import progress_bar

    t0 = time.perf_counter()
    settings = load_settings_for(ctx)
    with progress_bar("backtest", enabled=not as_json) as on_session:
        result = run(
            settings,
            start=parse_day(start, "--start"),
            end=parse_day(end, "--end"),
            refresh=refresh,
            allow_lookahead=allow_lookahead,
            on_session=on_session,
        )
    elapsed = time.perf_counter() - t0
    if out_dir is None:
        from datetime import UTC

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out_dir = settings.path(settings.run.paths.reports_dir) / "backtests" / stamp
    files: list[Path] = []
    if out_dir is not None:
        from concurrent.futures import ThreadPoolExecutor

        pages = _top_contributor_pages(settings, result, out_dir)  # rendered now, written after the files
        # the tear sheet is mostly Python, the files mostly pyarrow outside the GIL: overlap them
        with ThreadPoolExecutor(max_workers=1) as pool:
            sheet = pool.submit(
                write_tearsheet,
                result,
                out_dir / "tearsheet.html",
                benchmark=settings.run.benchmark,
                symbol_pages={s: f"symbols/{p.name}" for s, (p, _) in pages.items()},
                data_info=data_description(settings, result),
            )
            files = write_outputs(result, out_dir)
            files.append(sheet.result())
        from regimeflex.report.render import write_atomic

        files.extend(write_atomic(path, html) for path, html in pages.values())
    info = summary(result)
    if as_json:
        info["files"] = [str(p) for p in files]
        info["seconds_backtest"] = round(elapsed, 4)
        info["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        echo_json(info)
        return
    m = info["metrics"]
    banner = lookahead_banner(result)
    if banner:
        click.secho(banner, fg="red", bold=True)
    click.echo(
        f"backtest {info['start']} → {info['end']}: {info['sessions']} sessions, "
        f"{info['symbols']} symbols, {info['trades']} fills"
    )
    click.echo(
        f"final equity {info['final_equity']:,.2f}  total return {m.get('total_return', 0):+.2%}  "
        f"CAGR {_pct(m.get('cagr'))}  Sharpe {_num(m.get('sharpe'))}  "
        f"max drawdown {_pct(m.get('max_drawdown'))}"
    )
    click.echo(f"rules: {rules_line(result.rules)}")
    for note in info.get("notes", []):
        click.echo(f"note: {note}")
    for p in files:
        click.echo(f"wrote {p}")


def data_description(settings: Settings, result: Any) -> dict[str, Any]:
    """The tear sheet's Data section for a backtest run from the configuration: provider, price basis,
    coverage, rows rejected by validation (from the cache manifest) and whether the prices are synthetic."""
    from regimeflex.data.service import open_cache

    provider = str(settings.data.provider)
    eq = result.equity
    universe = [str(s) for s in result.positions.columns]
    info: dict[str, Any] = {
        "source": f"data provider '{provider}' (data.yaml), cache first",
        "price_basis": ("split/dividend-adjusted" if getattr(settings.data, "adjusted", True) else "raw (unadjusted)")
        + " prices, as data.yaml asks",
        "coverage": f"{len(universe)} symbols, {len(eq)} sessions, {eq.index[0]:%Y-%m-%d} → {eq.index[-1]:%Y-%m-%d}",
    }
    try:
        manifest = open_cache(settings).manifest()
    except Exception:  # noqa: BLE001 - the section then says it cannot tell, never 0
        info["rejected_rows"] = "unknown (no cache manifest)"
    else:
        counts: dict[str, int] = {}
        for symbol in universe:
            cov = manifest.get(symbol)
            for rule, n in ((cov.findings or {}).get("rejected", {}) if cov is not None else {}).items():
                counts[rule] = counts.get(rule, 0) + int(n)
        total = sum(counts.values())
        info["rejected_rows"] = (
            f"{total} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})" if total else "0"
        )
    info["synthetic"] = provider == "synthetic"
    return info


def _top_contributors_of(result: Any) -> list[str]:
    from regimeflex.report.tearsheet import TearSheetData, top_contributors

    eq = result.equity["equity"]
    if len(eq) < 2 or result.trades.empty:
        return []
    return top_contributors(TearSheetData(equity=eq, weights=result.weights, trades=result.trades))


def _top_contributor_pages(settings: Settings, result: Any, out_dir: Path) -> dict[str, tuple[Path, str]]:
    """Trades-on-prices pages (``out_dir/symbols/``) for the tear sheet's top contributors.

    Pages whose prices cannot be loaded are reported on stderr and left out (the backtest's files
    are still written); a page that cannot be written fails the command like any other output file.
    """
    from regimeflex.cli.report import symbol_pages
    from regimeflex.errors import DataError

    symbols = _top_contributors_of(result)
    if not symbols:
        return {}
    rendered: dict[str, tuple[Path, str]] = {}
    try:
        symbol_pages(
            settings,
            symbols,
            out_dir=out_dir,
            trades=result.trades,
            positions=result.positions,
            start=result.equity.index[0],
            end=result.equity.index[-1],
            back_link="../tearsheet.html",
            rendered=rendered,
        )
    except DataError as exc:  # the prices went missing; a file that cannot be written is an error, not this
        click.echo(f"symbol pages not written: {exc}", err=True)
        return {}
    return rendered


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.2%}"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"
