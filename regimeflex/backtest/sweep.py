"""Parameter sweeps and walk-forward tests, serial or on a Dask cluster.

This module owns the sweep file (``SWEEP.yaml``: which settings to vary, grid
or random search, the metric to rank by, an optional walk-forward schedule),
expanding it into parameter sets, applying each set to the configuration
(dotted keys into the five YAML files, re-validated, so a bad value is that
set's error, not the sweep's), and running the backtests: serially, on a
``distributed.LocalCluster`` (default: 2 worker processes, one thread each) or
on a scheduler at ``tcp://HOST:PORT``. Workers are warmed up once per sweep
(:mod:`.dask_worker`: imports, plugin host, malloc settings); the bars are
loaded once and scattered once to every worker; each task backtests a batch of
parameter sets and returns only their metrics. A failing set is reported in
its row; a worker lost mid-sweep only means its tasks run again elsewhere
(Dask's retry of tasks on lost workers), and each set's result is kept once.
Results are the same bytes as a serial run, in the same order: each task is a
pure function of (settings, parameters, bars). docs/sweeps.md has the rest.

Walk-forward mode rolls a train window → picks the best set by the metric →
tests it on the following window, and reports out-of-sample results only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from regimeflex.errors import ConfigError, RegimeFlexError

#: the settings files a dotted key may start with, and the Settings attribute each maps to
SECTIONS = ("run", "data", "strategies", "risk", "broker")
#: metrics where smaller is better (ranked ascending)
LOWER_IS_BETTER = {"volatility", "turnover"}


class Uniform(BaseModel):
    """A random-search range: ``{low: 0.1, high: 0.5}`` (``integer: true`` draws whole numbers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    low: float
    high: float
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"low must not exceed high, got low={self.low:g} high={self.high:g}")
        return self


class WalkForward(BaseModel):
    """Rolling train → test windows, in sessions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    train_sessions: int = Field(ge=20)
    test_sessions: int = Field(ge=5)
    step_sessions: int | None = Field(None, ge=1, description="default: test_sessions")


class SweepSpec(BaseModel):
    """``SWEEP.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    params: dict[str, list[Any] | Uniform] = Field(min_length=1)
    mode: Literal["grid", "random"] = "grid"
    samples: int = Field(20, ge=1, description="parameter sets drawn in random mode")
    seed: int = 0
    metric: str = "sharpe"
    start: str | None = None
    end: str | None = None
    walk_forward: WalkForward | None = None

    @field_validator("params")
    @classmethod
    def _keys(cls, params: dict[str, Any]) -> dict[str, Any]:
        for key, values in params.items():
            head = key.split(".", 1)[0]
            if head not in SECTIONS or "." not in key:
                raise ValueError(
                    f"{key}: must start with one of {', '.join(SECTIONS)} and name a key inside "
                    f"it, e.g. strategies.trend.params.fast"
                )
            if isinstance(values, list) and not values:
                raise ValueError(f"{key}: give at least one value")
        return params

    @model_validator(mode="after")
    def _grid_has_lists(self) -> SweepSpec:
        if self.mode == "grid":
            ranges = [k for k, v in self.params.items() if isinstance(v, Uniform)]
            if ranges:
                raise ValueError(f"params.{ranges[0]}: a low/high range needs mode: random (grid takes a list)")
        return self


def load_spec(path: Path) -> SweepSpec:
    """Read and validate a sweep file; errors name the file and key."""
    from regimeflex.config.base import format_validation_error
    from regimeflex.fsio import read_yaml_mapping

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: sweep file not found; pass the path of a SWEEP.yaml")
    raw = read_yaml_mapping(path)
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path.name, exc)) from None


def parameter_sets(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every parameter set of the sweep, in a fixed order (grid: product; random: seeded draws)."""
    keys = list(spec.params)
    if spec.mode == "grid":
        lists = [spec.params[k] for k in keys]
        return [dict(zip(keys, combo)) for combo in itertools.product(*lists)]
    rng = np.random.default_rng(spec.seed)
    out = []
    for _ in range(spec.samples):
        one = {}
        for k in keys:
            v = spec.params[k]
            if isinstance(v, Uniform):
                one[k] = (
                    int(rng.integers(int(v.low), int(v.high) + 1)) if v.integer else float(rng.uniform(v.low, v.high))
                )
            else:
                one[k] = v[int(rng.integers(len(v)))]
        out.append(one)
    return out


def apply_params(settings: Any, params: Mapping[str, Any]) -> Any:
    """A copy of ``settings`` with each dotted key set, every touched file re-validated.

    Raises :class:`ConfigError` naming the key when a value does not validate.
    """
    from regimeflex.config.base import format_validation_error

    changed: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        head, rest = key.split(".", 1)
        if head == "strategies" and not rest.startswith("strategies."):
            rest = f"strategies.{rest}"  # strategies.yaml nests instances under `strategies:`
        data = changed.setdefault(head, getattr(settings, head).model_dump(mode="python"))
        node = data
        parts = rest.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                if part in node and node[part] is not None:
                    raise ConfigError(f"sweep: {key}: {part} is not a section")
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    update = {}
    for head, data in changed.items():
        model = type(getattr(settings, head))
        try:
            update[head] = model.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(f"sweep {head}.yaml", exc)) from None
    return settings.model_copy(update=update)


# ------------------------------------------------------------------ one task


def evaluate(
    settings: Any,
    params: Mapping[str, Any],
    bars: pd.DataFrame,
    start: str | None,
    end: str | None,
    *,
    keep_returns: bool = True,
) -> dict[str, Any]:
    """Backtest one parameter set over ``bars`` (a pure function; runs on a worker).

    Returns the metrics, ``error`` (None, or the one-line reason this set failed) and, with
    ``keep_returns``, the daily returns (walk-forward chains the test windows' returns).
    Per-strategy attribution is skipped: a sweep reads only the metrics, which it does not change.
    """
    from regimeflex.backtest.api import run

    try:
        variant = apply_params(settings, params)
        result = run(variant, bars=bars, host=_host(), start=start, end=end, attribution=False)
        metrics = {k: (float(v) if v is not None else math.nan) for k, v in result.metrics.items()}
        returns = result.equity["equity"].pct_change().fillna(0.0) if keep_returns else None
        return {"metrics": metrics, "error": None, "returns": returns}
    except (RegimeFlexError, ValueError) as exc:
        return {"metrics": {}, "error": f"{type(exc).__name__}: {exc}", "returns": None}


#: one job of a sweep: (position in the sweep, parameter set, start, end)
Job = tuple[int, Mapping[str, Any], str | None, str | None]


def evaluate_batch(
    settings: Any, jobs: Sequence[Job], bars: pd.DataFrame, keep_returns: bool = False
) -> list[tuple[int, dict[str, Any]]]:
    """One Dask task: :func:`evaluate` for each job in turn, results tagged with the job's position."""
    return [(i, evaluate(settings, params, bars, a, b, keep_returns=keep_returns)) for i, params, a, b in jobs]


_HOST = None


def _host():
    """One plugin host per worker process (entry points are read once)."""
    global _HOST
    if _HOST is None:
        from regimeflex.plugins import PluginHost

        _HOST = PluginHost.load()
    return _HOST


#: thread settings of every sweep process: one BLAS/OpenMP thread, so N workers on N cores do not
#: oversubscribe them (a LocalCluster's nannies set them before spawning; `regimeflex sweep` sets
#: them for its own process before numpy loads; the serial baseline of bench_sweep.py runs with them)
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
#: glibc malloc: blocks below this come from the heap and are reused, not mmap'd and page-faulted afresh
MMAP_THRESHOLD = 32 * 2**20
#: glibc malloc: free memory kept at the top of the heap before it is returned to the system
TRIM_THRESHOLD = 64 * 2**20


def tune_process() -> dict[str, str]:
    """Settings for a process that runs backtests one after another (serial sweeps and every worker).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also freezes glibc's
    mmap threshold at 128 KiB: every 10 MB panel a backtest allocates is then a fresh ``mmap``
    whose pages fault in one by one, and a worker spent about 40% more CPU per parameter set than
    the same code in the parent process. Raising both thresholds (``mallopt``) makes the
    allocations reuse the heap; the same call runs in serial sweeps, so both paths run alike.
    Returns what each setting is, for reports (``unknown`` off glibc).
    """
    import ctypes
    import ctypes.util
    import os

    malloc = "unknown (not glibc)"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
        if libc.mallopt(m_mmap_threshold, MMAP_THRESHOLD) == 1 and libc.mallopt(m_trim_threshold, TRIM_THRESHOLD) == 1:
            malloc = f"mmap_threshold={MMAP_THRESHOLD} trim_threshold={TRIM_THRESHOLD}"
    except (OSError, AttributeError):
        pass
    out = {k: os.environ.get(k, "unset") for k in THREAD_ENV}
    out["malloc"] = malloc
    return out


def warm_up(settings: Any | None = None) -> dict[str, str]:
    """Prepare a process for sweep tasks: :func:`tune_process`, import the backtest code, load the
    plugin host and (given the sweep's ``settings``) import the plugins it selects — once per
    worker, when the sweep registers it, instead of inside the worker's first task.
    Returns the process's settings (threads, malloc, pid) for reports and tests."""
    import os
    import threading

    import regimeflex.backtest.lookahead
    import regimeflex.pipeline
    import regimeflex.report.metrics  # noqa: F401 - the imports are the point

    out = tune_process()
    host = _host()
    if settings is not None:
        from regimeflex.backtest.api import resolve_for_backtest

        resolve_for_backtest(settings, host)
    out["pid"] = str(os.getpid())
    out["threads"] = str(threading.active_count())
    return out


# ----------------------------------------------------------------- executors

#: times the batches a cluster lost (with their scattered bars) are resubmitted before the sweep fails
RESUBMITS = 2


class Executor:
    """Runs ``evaluate`` for many parameter sets: serially, or through a Dask client in batches."""

    def __init__(self, client: Any | None = None, batch_size: int | None = None, settings: Any | None = None) -> None:
        self.client = client
        self.batch_size = batch_size
        self._bars: pd.DataFrame | None = None
        self._refs: list[Any] = []
        if client is None:
            tune_process()
        else:
            from regimeflex.backtest.dask_worker import register

            register(client, settings)

    def put_bars(self, bars: pd.DataFrame) -> Any:
        if self.client is None:
            return bars
        self._bars = bars
        # scattered once to every worker; tasks carry only a reference to it
        ref = self.client.scatter(bars, broadcast=True, hash=False)
        self._refs.append(ref)
        return ref

    def release(self, ref: Any = None) -> None:
        """Drop the scattered bars from the cluster (a long-lived cluster does not keep every sweep's)."""
        if self.client is not None and self._refs:
            self.client.cancel(self._refs)
            self._refs = []

    def batches(self, n: int) -> int:
        """Sets per task: about 8 tasks per worker (load balance, a lost worker reruns little),
        at most 8 sets per task; an explicit ``batch_size`` wins."""
        if self.batch_size:
            return self.batch_size
        workers = max(1, len(self.client.scheduler_info().get("workers", {}))) if self.client is not None else 1
        return max(1, min(8, n // (8 * workers)))

    def map(
        self,
        settings: Any,
        jobs: Sequence[tuple[Mapping[str, Any], str | None, str | None]],
        bars_ref: Any,
        on_done: Callable[[int], None] | None = None,
        keep_returns: bool = False,
    ) -> list[dict[str, Any]]:
        """Every job's result, in the order of ``jobs`` (each exactly once, whichever worker ran it)."""
        out: list[dict[str, Any] | None] = [None] * len(jobs)
        if self.client is None:
            for i, (params, start, end) in enumerate(jobs):
                out[i] = evaluate(settings, params, bars_ref, start, end, keep_returns=keep_returns)
                if on_done:
                    on_done(i)
            return out  # type: ignore[return-value]
        from distributed import as_completed

        size = self.batches(len(jobs))
        numbered = [(i, p, a, b) for i, (p, a, b) in enumerate(jobs)]
        pending = {k: numbered[k : k + size] for k in range(0, len(numbered), size)}
        ref = bars_ref
        for attempt in range(RESUBMITS + 1):
            token = _token()
            futures = {
                self.client.submit(
                    evaluate_batch, settings, batch, ref, keep_returns, pure=False, key=f"regimeflex-sweep-{k}-{token}"
                ): k
                for k, batch in pending.items()
            }
            lost: dict[int, list[Job]] = {}
            reason = ""
            for fut in as_completed(list(futures), loop=self.client.loop):  # this client's loop, not the default's
                try:
                    batch_results = fut.result()
                except Exception as exc:  # noqa: BLE001 - evaluate() returns its errors: this is the cluster's
                    lost[futures[fut]] = pending[futures[fut]]
                    reason = f"{type(exc).__name__}: {exc}"
                    continue
                for i, res in batch_results:
                    if out[i] is not None:
                        raise RegimeFlexError(f"sweep: parameter set {i} came back twice (internal error)")
                    out[i] = res
                    if on_done:
                        on_done(i)
            if not lost:
                break
            if attempt == RESUBMITS:
                raise RegimeFlexError(
                    f"sweep: {sum(map(len, lost.values()))} parameter set(s) failed on the cluster {RESUBMITS + 1} "
                    f"times ({reason}); check the workers' logs, or run with --scheduler serial"
                )
            # Dask reruns the tasks of a lost worker itself; what it cannot recover is scattered data
            # (the bars) lost with the only worker holding it: scatter again and resubmit what is missing
            pending = lost
            ref = self.put_bars(self._bars)
        missing = [i for i, r in enumerate(out) if r is None]
        if missing:
            raise RegimeFlexError(f"sweep: no result for parameter set(s) {missing} (internal error)")
        return out  # type: ignore[return-value]


def _token() -> str:
    import uuid

    return uuid.uuid4().hex[:12]


def open_client(scheduler: str | None, workers: int = 2) -> tuple[Any, Any]:
    """``(client, cluster)``: a LocalCluster of ``workers`` processes (one thread each, one
    BLAS thread each), or a client of ``scheduler``."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "sweep: Dask is not installed; pip install 'regimeflex[sweep]' (or pass --scheduler serial)"
        ) from None
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise RegimeFlexError(
                f"sweep: cannot reach the Dask scheduler at {scheduler} ({exc}); "
                f"check the address or start one with `dask scheduler`"
            ) from None
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **THREAD_ENV}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster), cluster


# -------------------------------------------------------------------- sweeps


@dataclass
class SweepResult:
    """The ranked table (one row per parameter set) and, in walk-forward mode, the windows."""

    table: pd.DataFrame
    metric: str
    windows: pd.DataFrame | None = None
    oos_equity: pd.Series | None = None
    oos_metrics: Mapping[str, float] = field(default_factory=dict)


def _rank(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    ascending = metric in LOWER_IS_BETTER
    key = table[metric] if metric in table else pd.Series(np.nan, index=table.index)
    order = key.fillna(np.inf if ascending else -np.inf)
    ranked = table.assign(_k=order, _i=np.arange(len(table)))
    ranked = ranked.sort_values(["_k", "_i"], ascending=[ascending, True], kind="stable")
    return ranked.drop(columns=["_k", "_i"]).reset_index(drop=True)


def _table(sets: list[dict[str, Any]], results: list[dict[str, Any]], metric: str) -> pd.DataFrame:
    rows = []
    for i, (params, res) in enumerate(zip(sets, results)):
        row: dict[str, Any] = {"set": i}
        row.update({k: (v if not isinstance(v, list) else ",".join(map(str, v))) for k, v in params.items()})
        row.update(res["metrics"])
        row["error"] = res["error"]
        rows.append(row)
    return _rank(pd.DataFrame(rows), metric)


def load_sweep_bars(settings: Any, sets: Sequence[Mapping[str, Any]], start: str | None, end: str | None):
    """Bars for every symbol any set trades (union of universes), loaded once."""
    from regimeflex.backtest.api import load_bars, period

    universes = [p["run.universe"] for p in sets if "run.universe" in p]
    symbols = list(dict.fromkeys([*settings.run.universe, *itertools.chain.from_iterable(universes)]))
    widest = apply_params(settings, {"run.universe": symbols}) if universes else settings
    lo, hi = period(settings, start, end)
    return load_bars(widest, _host(), lo, hi), lo, hi


def run_sweep(
    settings: Any,
    spec: SweepSpec,
    *,
    client: Any | None = None,
    bars: pd.DataFrame | None = None,
    on_done: Callable[[int], None] | None = None,
    batch_size: int | None = None,
) -> SweepResult:
    """Backtest every parameter set (or walk forward) and rank them by ``spec.metric``.

    With a Dask ``client``: the workers are warmed up first (:mod:`.dask_worker`), the bars are
    scattered once to every worker, and each task backtests ``batch_size`` sets (default: about
    eight tasks per worker, at most eight sets each). ``on_done(i)`` is called once per set.
    """
    sets = parameter_sets(spec)
    ex = Executor(client, batch_size, settings)
    if bars is None:
        bars, lo, hi = load_sweep_bars(settings, sets, spec.start, spec.end)
    else:
        lo = pd.Timestamp(spec.start) if spec.start else bars.index[0]
        hi = pd.Timestamp(spec.end) if spec.end else bars.index[-1]
    ref = ex.put_bars(bars)
    try:
        if spec.walk_forward is None:
            jobs = [(p, f"{lo:%Y-%m-%d}", f"{hi:%Y-%m-%d}") for p in sets]
            results = ex.map(settings, jobs, ref, on_done)
            return SweepResult(table=_table(sets, results, spec.metric), metric=spec.metric)
        return _walk_forward(settings, spec, sets, bars, lo, hi, ex, ref, on_done)
    finally:
        ex.release(ref)


def windows(
    sessions: pd.DatetimeIndex, wf: WalkForward
) -> list[tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, pd.Timestamp]]:
    """(train start, train end, test start, test end) for each rolling window that fits."""
    step = wf.step_sessions or wf.test_sessions
    out = []
    i = 0
    n = len(sessions)
    while i + wf.train_sessions + wf.test_sessions <= n:
        tr = sessions[i : i + wf.train_sessions]
        te = sessions[i + wf.train_sessions : i + wf.train_sessions + wf.test_sessions]
        out.append((tr[0], tr[-1], te[0], te[-1]))
        i += step
    return out


def _walk_forward(settings, spec, sets, bars, lo, hi, ex, ref, on_done) -> SweepResult:
    from regimeflex.report import metrics as m

    sessions = bars.index[(bars.index >= lo) & (bars.index <= hi)]
    wins = windows(sessions, spec.walk_forward)
    if not wins:
        raise ConfigError(
            f"sweep: walk_forward needs train_sessions + test_sessions = "
            f"{spec.walk_forward.train_sessions + spec.walk_forward.test_sessions} sessions, "
            f"the period has {len(sessions)}; shorten the windows or widen start/end"
        )
    train_jobs = [(p, f"{a:%Y-%m-%d}", f"{b:%Y-%m-%d}") for (a, b, _, _) in wins for p in sets]
    train = ex.map(settings, train_jobs, ref, on_done)
    picks = []
    for w, (a, b, _c, _d) in enumerate(wins):
        chunk = train[w * len(sets) : (w + 1) * len(sets)]
        table = _table(sets, chunk, spec.metric)
        ok = table[table["error"].isna()]
        if ok.empty or spec.metric not in ok:
            raise RegimeFlexError(
                f"sweep: every parameter set failed on the train window "
                f"{a:%Y-%m-%d}..{b:%Y-%m-%d}; first error: {table['error'].iloc[0]}"
            )
        picks.append(int(ok["set"].iloc[0]))
    test_jobs = [(sets[k], f"{c:%Y-%m-%d}", f"{d:%Y-%m-%d}") for k, (_, _, c, d) in zip(picks, wins)]
    tests = ex.map(settings, test_jobs, ref, None, keep_returns=True)
    rows, pieces = [], []
    for k, (a, b, c, d), res in zip(picks, wins, tests):
        row = {"train_start": a, "train_end": b, "test_start": c, "test_end": d, "set": k}
        row.update({f"param:{key}": v for key, v in sets[k].items()})
        row.update({f"test_{name}": v for name, v in res["metrics"].items()})
        row["error"] = res["error"]
        rows.append(row)
        if res["returns"] is not None:
            pieces.append(res["returns"].iloc[1:])  # the first session of a window starts flat
    returns = pd.concat(pieces) if pieces else pd.Series(dtype="float64")
    equity = (1.0 + returns).cumprod()
    oos = dict(m.summary(returns)) if len(returns) else {}
    oos["total_return"] = float(equity.iloc[-1] - 1.0) if len(equity) else math.nan
    table = pd.DataFrame(rows)
    return SweepResult(table=table, metric=spec.metric, windows=table, oos_equity=equity, oos_metrics=oos)


# ------------------------------------------------------------------- outputs


def heatmap_html(result: SweepResult, title: str = "RegimeFlex sweep") -> str:
    """A self-contained HTML page: the metric over the first two swept keys (mean over the rest), and the table."""
    import html

    t = result.table
    metric = result.metric
    params = [c for c in t.columns if c not in ("set", "error") and not _is_metric(c, t)]
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:right}th{background:#f4f4f4}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
    ]
    if len(params) >= 2 and metric in t and result.windows is None:
        x, y = params[0], params[1]
        grid = t.pivot_table(index=y, columns=x, values=metric, aggfunc="mean")
        vals = grid.to_numpy(dtype=float)
        lo, hi = (np.nanmin(vals), np.nanmax(vals)) if np.isfinite(vals).any() else (0.0, 1.0)
        parts.append(
            f"<h2>{html.escape(metric)} by {html.escape(x)} × {html.escape(y)}</h2><table><tr>"
            f"<th>{html.escape(y)} \\ {html.escape(x)}</th>"
            + "".join(f"<th>{html.escape(str(c))}</th>" for c in grid.columns)
            + "</tr>"
        )
        for r, label in enumerate(grid.index):
            cells = []
            for v in vals[r]:
                if not np.isfinite(v):
                    cells.append("<td>–</td>")
                    continue
                f = 0.5 if hi == lo else (v - lo) / (hi - lo)
                colour = f"hsl({int(120 * f)},65%,{85 - int(25 * abs(f - 0.5))}%)"
                cells.append(f"<td style='background:{colour}'>{v:.3f}</td>")
            parts.append(f"<tr><th>{html.escape(str(label))}</th>{''.join(cells)}</tr>")
        parts.append("</table>")
    if result.oos_metrics:
        parts.append(
            "<h2>Out-of-sample (walk-forward)</h2><table>"
            + "".join(
                f"<tr><th>{html.escape(k)}</th><td>{v:.4f}</td></tr>"
                for k, v in result.oos_metrics.items()
                if isinstance(v, float) and np.isfinite(v)
            )
            + "</table>"
        )
    parts.append("<h2>Results</h2>" + t.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="–"))
    parts.append("</body></html>\n")
    return "".join(parts)


def _is_metric(col: str, t: pd.DataFrame) -> bool:
    return col in {
        "cagr",
        "volatility",
        "sharpe",
        "sortino",
        "max_drawdown",
        "calmar",
        "turnover",
        "hit_rate",
        "total_return",
        "final_equity",
        "trades",
        "exposure",
        "benchmark_return",
    }


def write_sweep(result: SweepResult, out_dir: Path) -> list[Path]:
    """results.csv / results.parquet (+ walk-forward oos_equity.csv) and heatmap.html under ``out_dir``."""
    from regimeflex.backtest.results import write_frame, write_text

    out_dir = Path(out_dir)
    files = []
    for suffix in ("csv", "parquet"):
        p = out_dir / f"results.{suffix}"
        write_frame(result.table, p)
        files.append(p)
    if result.oos_equity is not None:
        p = out_dir / "oos_equity.csv"
        write_frame(result.oos_equity.to_frame("equity"), p)
        files.append(p)
    p = out_dir / "heatmap.html"
    write_text(heatmap_html(result), p)
    files.append(p)
    return files


__all__ = [
    "SweepResult",
    "SweepSpec",
    "apply_params",
    "evaluate",
    "evaluate_batch",
    "heatmap_html",
    "load_spec",
    "open_client",
    "parameter_sets",
    "run_sweep",
    "tune_process",
    "warm_up",
    "windows",
    "write_sweep",
]
