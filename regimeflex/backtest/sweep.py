"""Parameter sweeps and walk-forward tests, serial or on a Dask cluster.

This module owns the sweep file (``SWEEP.yaml``: which settings to vary, grid
or random search, the metric to rank by, an optional walk-forward schedule),
expanding it into parameter sets, applying each set to the configuration
(dotted keys into the five YAML files, re-validated, so a bad value is that
set's error, not the sweep's), and running the backtests: serially, on a
``distributed.LocalCluster`` (default: 2 worker processes) or on a scheduler
at ``tcp://HOST:PORT``. The bars are loaded once and scattered once to every
worker; each task receives only its parameter set. A failing set is reported
in its row; a worker lost mid-sweep only means its tasks run again elsewhere
(Dask's retry of tasks on lost workers). Results are the same bytes as a
serial run: each task is a pure function of (settings, parameters, bars).

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
    settings: Any, params: Mapping[str, Any], bars: pd.DataFrame, start: str | None, end: str | None
) -> dict[str, Any]:
    """Backtest one parameter set over ``bars`` (a pure function; runs on a worker).

    Returns the metrics and ``error`` (None, or the one-line reason this set failed).
    """
    from regimeflex.backtest.api import run

    try:
        variant = apply_params(settings, params)
        result = run(variant, bars=bars, host=_host(), start=start, end=end)
        metrics = {k: (float(v) if v is not None else math.nan) for k, v in result.metrics.items()}
        return {"metrics": metrics, "error": None, "returns": result.equity["equity"].pct_change().fillna(0.0)}
    except (RegimeFlexError, ValueError) as exc:
        return {"metrics": {}, "error": f"{type(exc).__name__}: {exc}", "returns": None}


_HOST = None


def _host():
    """One plugin host per worker process (entry points are read once)."""
    global _HOST
    if _HOST is None:
        from regimeflex.plugins import PluginHost

        _HOST = PluginHost.load()
    return _HOST


# ----------------------------------------------------------------- executors


class Executor:
    """Runs ``evaluate`` for many parameter sets: serially, or through a Dask client."""

    def __init__(self, client: Any | None = None) -> None:
        self.client = client

    def put_bars(self, bars: pd.DataFrame) -> Any:
        if self.client is None:
            return bars
        # scattered once to every worker; tasks carry only a reference to it
        return self.client.scatter(bars, broadcast=True, hash=False)

    def map(
        self,
        settings: Any,
        jobs: Sequence[tuple[Mapping[str, Any], str | None, str | None]],
        bars_ref: Any,
        on_done: Callable[[int], None] | None = None,
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any] | None] = [None] * len(jobs)
        if self.client is None:
            for i, (params, start, end) in enumerate(jobs):
                out[i] = evaluate(settings, params, bars_ref, start, end)
                if on_done:
                    on_done(i)
            return out  # type: ignore[return-value]
        from distributed import as_completed

        futures = [
            self.client.submit(
                evaluate, settings, params, bars_ref, start, end, pure=False, key=f"regimeflex-sweep-{i}-{_token()}"
            )
            for i, (params, start, end) in enumerate(jobs)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            i = index[fut.key]
            out[i] = fut.result()
            if on_done:
                on_done(i)
        return out  # type: ignore[return-value]


def _token() -> str:
    import uuid

    return uuid.uuid4().hex[:12]


def open_client(scheduler: str | None, workers: int = 2) -> tuple[Any, Any]:
    """``(client, cluster)``: a LocalCluster of ``workers`` processes, or a client of ``scheduler``."""
    try:
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
) -> SweepResult:
    """Backtest every parameter set (or walk forward) and rank them by ``spec.metric``."""
    sets = parameter_sets(spec)
    if bars is None:
        bars, lo, hi = load_sweep_bars(settings, sets, spec.start, spec.end)
    else:
        lo = pd.Timestamp(spec.start) if spec.start else bars.index[0]
        hi = pd.Timestamp(spec.end) if spec.end else bars.index[-1]
    ex = Executor(client)
    ref = ex.put_bars(bars)
    if spec.walk_forward is None:
        jobs = [(p, f"{lo:%Y-%m-%d}", f"{hi:%Y-%m-%d}") for p in sets]
        results = ex.map(settings, jobs, ref, on_done)
        return SweepResult(table=_table(sets, results, spec.metric), metric=spec.metric)
    return _walk_forward(settings, spec, sets, bars, lo, hi, ex, ref, on_done)


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
    tests = ex.map(settings, test_jobs, ref, None)
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
    "heatmap_html",
    "load_spec",
    "open_client",
    "parameter_sets",
    "run_sweep",
    "windows",
    "write_sweep",
]
