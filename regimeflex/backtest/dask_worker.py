"""Dask workers for sweeps: warm imports, one BLAS thread, heap-friendly malloc.

Every sweep registers :class:`SweepWorker` with its client (``regimeflex-sweep``): each worker,
and every worker that joins later (a nanny restarting a killed one), runs
:func:`regimeflex.backtest.sweep.warm_up` once — imports the backtest code, loads the plugin
host, applies :func:`regimeflex.backtest.sweep.tune_process` — so no task pays for it.
On a cluster of your own, ``dask worker --preload regimeflex.backtest.dask_worker`` does the
same when the worker starts (see docs/sweeps.md).

Imported only when a sweep runs on Dask (the ``sweep`` extra).
"""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

#: the name the plugin is registered under (registering again replaces it: idempotent)
NAME = "regimeflex-sweep"


class SweepWorker(WorkerPlugin):
    """Warms a worker up for sweep tasks (see the module docstring); with the sweep's settings,
    the plugins they select are imported too."""

    name = NAME

    def __init__(self, settings: Any | None = None) -> None:
        self.settings = settings

    def setup(self, worker: Any) -> None:
        from regimeflex.backtest.sweep import warm_up

        worker.regimeflex_sweep = warm_up(self.settings)


def register(client: Any, settings: Any | None = None) -> None:
    """Register :class:`SweepWorker` on every current and future worker of ``client``'s cluster."""
    client.register_plugin(SweepWorker(settings), name=NAME)


def dask_setup(worker: Any) -> None:
    """``dask worker --preload regimeflex.backtest.dask_worker``: warm up when the worker starts."""
    SweepWorker().setup(worker)
