"""The real-cluster path: `dask scheduler` and two `dask worker` processes started from the command
line, `regimeflex sweep --scheduler tcp://…` against them, one worker SIGKILLed once it has been
given tasks — every parameter set still comes back exactly once, equal to the serial sweep."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from regimeflex.backtest.sweep import THREAD_ENV

BIN = Path(sys.executable).parent
PERIOD = "backtest:\n  start: 2019-03-01\n  end: 2019-12-31\n  warmup_sessions: 40\n  mode: research\n"
SWEEP = (
    "params:\n  strategies.trend.params.fast: [3, 5, 8, 10, 12, 15]\n"
    "  strategies.trend.params.slow: [20, 25, 30, 40, 50, 60]\nmetric: sharpe\n"
)
N_SETS = 36


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` + two `dask worker --no-nanny --nthreads 1` processes; yields (address, workers)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, **THREAD_ENV}
    procs: list[subprocess.Popen] = []

    def start(*args: str, log: str) -> subprocess.Popen:
        out = open(tmp_path / log, "wb")  # noqa: SIM115 - closed with the process below
        proc = subprocess.Popen([str(BIN / "dask"), *args], stdout=out, stderr=subprocess.STDOUT, env=env)
        procs.append(proc)
        return proc

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", log="scheduler.log")
        workers = [
            start(
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"w{i}",
                log=f"worker{i}.log",
            )
            for i in (1, 2)
        ]
        yield address, workers
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def sweep_json(config: Path, sweep: Path, *scheduler: str, timeout: float = 120) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "regimeflex"), "--config", str(config), "sweep", str(sweep), *scheduler, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_sweep_on_a_command_line_cluster_survives_a_killed_worker(make_project, tmp_path, dask_cluster):
    import distributed

    address, (victim, _survivor) = dask_cluster
    config = make_project(run_extra=PERIOD)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP)

    serial = sweep_json(config, sweep, "--scheduler", "serial")
    serial_out, serial_err = serial.communicate(timeout=120)
    assert serial.returncode == 0, serial_err.decode()

    watcher = distributed.Client(address, timeout="30s")
    try:
        watcher.wait_for_workers(2, timeout=60)
        pids = watcher.run(os.getpid)
        victim_address = next(a for a, pid in pids.items() if pid == victim.pid)
        run = sweep_json(config, sweep, "--scheduler", address)
        deadline = time.monotonic() + 90
        killed_mid_sweep = False
        while time.monotonic() < deadline and run.poll() is None:
            if any(
                str(k).startswith("regimeflex-sweep-")
                for k in watcher.processing([victim_address]).get(victim_address, ())
            ):
                os.kill(victim.pid, signal.SIGKILL)
                killed_mid_sweep = run.poll() is None
                break
            time.sleep(0.02)
        out, err = run.communicate(timeout=120)
    finally:
        watcher.close()

    assert killed_mid_sweep, "the victim worker never got a sweep task while the sweep ran"
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert run.returncode == 0, err.decode()
    rows = json.loads(out)["rows"]
    assert sorted(r["set"] for r in rows) == list(range(N_SETS))
    assert rows == json.loads(serial_out)["rows"]
