"""``regimeflex sweep SWEEP.yaml``: grid/random parameter search or walk-forward, on Dask."""

from __future__ import annotations

import os
from pathlib import Path

import click

from regimeflex.cli.common import echo_json, is_tty, load_settings_for

#: one BLAS/OpenMP thread in this process (set before numpy loads), as in every LocalCluster worker
#: (regimeflex.backtest.sweep.THREAD_ENV): backtests run side by side, not threads inside one
THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--scheduler",
    default="local",
    show_default=True,
    metavar="local|serial|tcp://HOST:PORT",
    help="Where the backtests run: a LocalCluster of --workers processes, in this process, "
    "or an existing Dask scheduler.",
)
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes of the LocalCluster."
)
@click.option("--metric", default=None, help="Rank by this metric (default: the sweep file's `metric`).")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1), help="Rows printed.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write results.csv/.parquet and heatmap.html (walk-forward: oos_equity.csv) here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the ranked results as JSON.")
@click.pass_context
def sweep_cmd(
    ctx: click.Context,
    sweep_file: Path,
    scheduler: str,
    workers: int,
    metric: str | None,
    top: int,
    out_dir: Path | None,
    as_json: bool,
) -> None:
    """Backtest every parameter set of SWEEP_FILE and rank them by a metric.

    \b
    SWEEP.yaml:
      params:                               # dotted keys into run/strategies/risk/data.yaml
        strategies.trend.params.fast: [10, 20, 50]
        strategies.trend.params.slow: [100, 200]
        run.universe: [[SPY, QQQ], [SPY, TLT, GLD]]
      mode: grid                            # or random (with samples:, seed:, {low:, high:} ranges)
      metric: sharpe
      walk_forward: {train_sessions: 504, test_sessions: 126}   # optional: out-of-sample only

    A parameter set that fails is reported in its row; the sweep goes on. On a cluster of your
    own: `dask scheduler`, `dask worker tcp://HOST:8786 --nthreads 1` on each machine, then
    --scheduler tcp://HOST:8786 (docs/sweeps.md).
    """
    for name in THREADS:
        os.environ.setdefault(name, "1")
    from regimeflex.backtest.sweep import load_spec, open_client, run_sweep, write_sweep

    spec = load_spec(sweep_file)
    if metric:
        spec = spec.model_copy(update={"metric": metric})
    settings = load_settings_for(ctx)
    client = cluster = None
    if scheduler != "serial":
        client, cluster = open_client(None if scheduler == "local" else scheduler, workers)
    try:
        from regimeflex.backtest.sweep import parameter_sets

        total: int | None = len(parameter_sets(spec))
        if spec.walk_forward is not None:
            total = None  # the window count is known once bars are loaded
        if is_tty() and not as_json and total:
            with click.progressbar(length=total, label="backtests", file=click.get_text_stream("stderr")) as bar:  # type: ignore[operator]
                result = run_sweep(settings, spec, client=client, on_done=lambda _i: bar.update(1))
        else:
            result = run_sweep(settings, spec, client=client)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    files = write_sweep(result, out_dir) if out_dir is not None else []
    table = result.table
    if as_json:
        echo_json(
            {
                "metric": result.metric,
                "rows": _records(table),
                "out_of_sample": dict(result.oos_metrics) if result.windows is not None else None,
                "files": [str(p) for p in files],
            }
        )
        return
    if result.windows is not None:
        click.echo(f"walk-forward: {len(table)} windows, out-of-sample only")
        for k, v in result.oos_metrics.items():
            click.echo(f"  {k:>14}: {v:.4f}")
    failed = int(table["error"].notna().sum())
    click.echo(table.head(top).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if failed:
        click.echo(f"{failed} parameter set(s) failed; see the error column")
    for p in files:
        click.echo(f"wrote {p}")


def _records(table) -> list[dict]:  # noqa: ANN001 - DataFrame
    import math

    rows = []
    for rec in table.to_dict(orient="records"):
        rows.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in rec.items()})
    return rows
