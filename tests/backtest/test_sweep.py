"""Sweeps: parameter sets, per-set errors, ranking, Dask equals serial, lost workers, walk-forward."""

from __future__ import annotations

import json
import os
import signal

import pandas as pd
import pytest

from regimeflex.backtest.sweep import (
    THREAD_ENV,
    SweepSpec,
    apply_params,
    load_spec,
    open_client,
    parameter_sets,
    run_sweep,
    windows,
)
from regimeflex.config import load_settings
from regimeflex.errors import ConfigError

PERIOD = "backtest:\n  start: 2019-06-03\n  end: 2019-12-31\n  warmup_sessions: 40\n  mode: research\n"
GRID = {
    "params": {"strategies.trend.params.fast": [5, 10], "strategies.trend.params.slow": [20, 40, 1]},
    "metric": "sharpe",
}


@pytest.fixture(scope="module")
def sweep_settings(make_shared_project):
    return load_settings(make_shared_project(run_extra=PERIOD))


@pytest.fixture(scope="module")
def serial_result(sweep_settings):
    return run_sweep(sweep_settings, SweepSpec.model_validate(GRID))


@pytest.fixture(scope="module")
def cluster_client():
    import distributed  # noqa: F401 - the sweep extra is installed by `make test`: missing, this fails, not skips

    client, cluster = open_client(None, workers=2)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def one_worker_client():
    client, cluster = open_client(None, workers=1)
    yield client
    client.close()
    cluster.close()


def test_grid_is_the_product_of_the_value_lists():
    sets = parameter_sets(SweepSpec.model_validate(GRID))
    assert len(sets) == 6
    assert sets[0] == {"strategies.trend.params.fast": 5, "strategies.trend.params.slow": 20}
    assert sets[-1] == {"strategies.trend.params.fast": 10, "strategies.trend.params.slow": 1}


def test_random_search_is_seeded_and_stays_in_range():
    spec = SweepSpec.model_validate(
        {
            "mode": "random",
            "samples": 12,
            "seed": 3,
            "params": {
                "risk.sizer.params.max_weight": {"low": 0.2, "high": 0.6},
                "strategies.trend.params.fast": {"low": 5, "high": 15, "integer": True},
            },
        }
    )
    a, b = parameter_sets(spec), parameter_sets(spec)
    assert a == b and len(a) == 12
    assert all(0.2 <= s["risk.sizer.params.max_weight"] <= 0.6 for s in a)
    assert all(isinstance(s["strategies.trend.params.fast"], int) for s in a)


def test_apply_params_sets_dotted_keys_and_revalidates(sweep_settings):
    variant = apply_params(sweep_settings, {"run.backtest.costs.slippage_bps": 5.0, "strategies.trend.params.fast": 7})
    assert variant.run.backtest.costs.slippage_bps == 5.0
    assert variant.strategies.strategies["trend"].params["fast"] == 7
    assert sweep_settings.run.backtest.costs.slippage_bps == 0.0


def test_apply_params_names_the_key_of_a_bad_value(sweep_settings):
    with pytest.raises(ConfigError) as e:
        apply_params(sweep_settings, {"run.backtest.rebalance": "hourly"})
    assert str(e.value).startswith("sweep run.yaml: backtest.rebalance: Input should be ")


def test_a_failing_set_is_reported_in_its_row_not_fatal(serial_result):
    table = serial_result.table
    bad = table[table["strategies.trend.params.slow"] == 1]
    assert len(table) == 6 and len(bad) == 2
    assert bad["error"].str.contains("strategies.trend.params.slow").all()
    assert table.loc[table["error"].isna(), "sharpe"].notna().all()


def test_results_are_ranked_by_the_metric_failures_last(serial_result):
    table = serial_result.table
    ok = table["sharpe"].dropna().tolist()
    assert ok == sorted(ok, reverse=True)
    assert table["error"].iloc[-2:].notna().all()


def test_local_cluster_sweep_equals_serial(sweep_settings, serial_result, cluster_client):
    result = run_sweep(sweep_settings, SweepSpec.model_validate(GRID), client=cluster_client)
    pd.testing.assert_frame_equal(result.table, serial_result.table)


def test_one_worker_cluster_sweep_equals_serial(sweep_settings, serial_result, one_worker_client):
    result = run_sweep(sweep_settings, SweepSpec.model_validate(GRID), client=one_worker_client)
    pd.testing.assert_frame_equal(result.table, serial_result.table)


@pytest.mark.parametrize("batch_size", [1, 4, 6])
def test_batched_tasks_report_every_set_once_in_the_serial_order(
    sweep_settings, serial_result, cluster_client, batch_size
):
    done: list[int] = []
    result = run_sweep(
        sweep_settings,
        SweepSpec.model_validate(GRID),
        client=cluster_client,
        on_done=done.append,
        batch_size=batch_size,
    )
    assert sorted(done) == list(range(6))
    pd.testing.assert_frame_equal(result.table, serial_result.table)


def test_workers_run_one_thread_and_one_blas_thread_warmed_up(sweep_settings, cluster_client):
    run_sweep(sweep_settings, SweepSpec.model_validate(GRID), client=cluster_client)
    info = cluster_client.run(lambda dask_worker: dask_worker.regimeflex_sweep)
    assert len(info) == 2
    for worker in info.values():
        assert {k: worker[k] for k in THREAD_ENV} == THREAD_ENV
        assert worker["malloc"].startswith("mmap_threshold=")
    assert {w["nthreads"] for w in cluster_client.scheduler_info()["workers"].values()} == {1}


def test_the_cli_sweep_runs_with_the_workers_thread_settings():
    from regimeflex.cli.sweep import THREADS

    assert set(THREADS) == set(THREAD_ENV)


def test_sweep_backtests_skip_attribution_without_changing_the_metrics(sweep_settings):
    from regimeflex.backtest.api import run

    full = run(sweep_settings)
    lean = run(sweep_settings, attribution=False)
    assert full.attribution and not lean.attribution
    assert lean.metrics == full.metrics


def test_worker_killed_mid_sweep_its_tasks_rerun_and_the_sweep_completes(sweep_settings, serial_result, cluster_client):
    pids = cluster_client.run(os.getpid)
    killed: list[int] = []

    def kill_one_worker_after_the_first_result(_i):
        if not killed:
            victim = max(pids.values())
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    result = run_sweep(
        sweep_settings,
        SweepSpec.model_validate(GRID),
        client=cluster_client,
        on_done=kill_one_worker_after_the_first_result,
    )
    assert killed
    pd.testing.assert_frame_equal(result.table, serial_result.table)


def test_walk_forward_picks_on_train_and_reports_only_test_windows(sweep_settings):
    spec = SweepSpec.model_validate(
        {
            **GRID,
            "params": {"strategies.trend.params.fast": [5, 10], "strategies.trend.params.slow": [20, 40]},
            "walk_forward": {"train_sessions": 60, "test_sessions": 30},
        }
    )
    result = run_sweep(sweep_settings, spec)
    w = result.windows
    assert len(w) == 2
    assert (w["train_end"] < w["test_start"]).all()
    assert result.oos_equity.index.min() > w["test_start"].iloc[0]
    assert result.oos_equity.index.max() <= w["test_end"].iloc[-1]
    assert {"sharpe", "total_return"} <= set(result.oos_metrics)


def test_walk_forward_windows_roll_by_the_step():
    days = pd.bdate_range("2020-01-01", periods=100)
    from regimeflex.backtest.sweep import WalkForward

    wins = windows(days, WalkForward(train_sessions=40, test_sessions=20, step_sessions=10))
    assert [(a, c) for a, _, c, _ in wins][:2] == [(days[0], days[40]), (days[10], days[50])]
    assert len(wins) == 5


def test_universe_can_be_swept(sweep_settings):
    spec = SweepSpec.model_validate({"params": {"run.universe": [["SPY", "GLD"], ["TLT"]]}})
    table = run_sweep(sweep_settings, spec).table
    assert table["error"].isna().all() and set(table["run.universe"]) == {"SPY,GLD", "TLT"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "params:\n  strategies.trend.params.fast: {low: 1, high: 5}\n",
            "sweep.yaml: (top level): params.strategies.trend.params.fast: a low/high range needs mode: random "
            "(grid takes a list)",
        ),
        (
            "params:\n  trend.fast: [1]\n",
            "sweep.yaml: params: trend.fast: must start with one of run, data, strategies, risk, broker and name a key "
            "inside it, e.g. strategies.trend.params.fast",
        ),
        ("params: {}\n", "sweep.yaml: params: Dictionary should have at least 1 item after validation, not 0"),
    ],
)
def test_bad_sweep_file_names_the_key(tmp_path, raw, message):
    path = tmp_path / "sweep.yaml"
    path.write_text(raw)
    with pytest.raises(ConfigError) as e:
        load_spec(path)
    assert str(e.value) == message


def test_missing_sweep_file_says_so(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_spec(tmp_path / "nope.yaml")
    assert str(e.value) == f"{tmp_path / 'nope.yaml'}: sweep file not found; pass the path of a SWEEP.yaml"


def test_cli_sweep_serial_writes_table_and_heatmap(capsys, tmp_path, sweep_settings):
    from regimeflex.cli import main

    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        "params:\n  strategies.trend.params.fast: [5, 10]\n  strategies.trend.params.slow: [20, 40]\n"
        "metric: total_return\n"
    )
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "--config",
                str(sweep_settings.config_dir),
                "sweep",
                str(sweep),
                "--scheduler",
                "serial",
                "--json",
                "--out",
                str(tmp_path / "out"),
            ]
        )
    out = json.loads(capsys.readouterr().out)
    assert exited.value.code == 0
    returns = [r["total_return"] for r in out["rows"]]
    assert returns == sorted(returns, reverse=True) and len(returns) == 4
    html = (tmp_path / "out" / "heatmap.html").read_text()
    assert "total_return by strategies.trend.params.fast × strategies.trend.params.slow" in html
    assert pd.read_csv(tmp_path / "out" / "results.csv")["set"].tolist() == [r["set"] for r in out["rows"]]
