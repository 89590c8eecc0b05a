"""A /kill that arrives while a daily run is in the middle of sending orders.

The run holds the ledger lock from start to end. The bot must answer at once
(never wait for the lock), the run must see the flag before its next order and
stop, and the bot's ledger records must land after the run, chain intact.
"""

from __future__ import annotations

import threading
import types
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from bot_api import BotApi, update
from pytest_httpserver import HTTPServer
from test_bot import Harness, write_project

from regimeflex import hookimpl
from regimeflex.builtins import paper
from regimeflex.config import load_settings
from regimeflex.ledger.store import read_entries, verify_file
from regimeflex.plugins import PluginHost
from regimeflex.runner import RunOptions, run_cycle


def gated_paper(in_run: threading.Event, go: threading.Event) -> types.ModuleType:
    """The paper broker, paused inside execute_orders until ``go`` is set."""
    mod = types.ModuleType("gated_paper")

    @hookimpl
    def settings_model():  # noqa: ANN202
        return paper.settings_model()

    @hookimpl
    def execute_orders(orders, context):  # noqa: ANN001, ANN202
        in_run.set()
        assert go.wait(timeout=120), "the test never released the broker"
        return paper.execute_orders(orders, context)

    @hookimpl
    def broker_account(context):  # noqa: ANN001, ANN202
        return paper.broker_account(context)

    @hookimpl
    def broker_orders(client_order_ids, context):  # noqa: ANN001, ANN202
        return paper.broker_orders(client_order_ids, context)

    @hookimpl
    def broker_fills(since, context):  # noqa: ANN001, ANN202
        return paper.broker_fills(since, context)

    for fn in (settings_model, execute_orders, broker_account, broker_orders, broker_fills):
        setattr(mod, fn.__name__, fn)
    return mod


def test_kill_during_a_running_cycle_stops_its_orders_without_blocking_or_breaking_it(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    api = BotApi(httpserver)
    config = write_project(tmp_path, api.url)
    (config / "broker.yaml").write_text(yaml.safe_dump({"broker": "gated_paper", "mode": "paper"}))
    in_run, go = threading.Event(), threading.Event()
    host = PluginHost.load()
    PluginHost._register(host._reg, "gated_paper", gated_paper(in_run, go), None, None, "gated_paper")
    settings = load_settings(config, load_env=False)
    result: dict[str, Any] = {}

    def cycle() -> None:
        try:
            result["summary"] = run_cycle(settings, RunOptions(as_of=date(2024, 3, 13)), host=host)
        except BaseException as exc:  # reported by the main thread's assertion
            result["error"] = repr(exc)

    run = threading.Thread(target=cycle)
    run.start()
    try:
        while run.is_alive() and not in_run.wait(timeout=0.1):
            pass
        assert in_run.is_set(), f"the run never reached the broker: {result}"
        h = Harness(config, api)
        api.then(update(1, "/kill"), update(2, "/status"))
        h.serve()  # while the run holds the ledger lock and sits inside the broker call
        kill_reply, status_reply = api.texts()
        assert "ENGAGED" in kill_reply and h.flag.exists()
        assert "run for 2024-03-13 started" in status_reply and "has not finished" in status_reply
        assert run.is_alive()  # the bot answered while the run was still in progress
        assert h.center.audit is not None and h.center.audit.pending() == 2
    finally:
        go.set()
        run.join(timeout=300)
    summary = result["summary"]
    assert summary.status == "killed" and summary.exit_code == 3
    ledger = h.ledger
    kinds = [e["kind"] for e in read_entries(ledger)]
    assert "kill" in kinds and "order_ack" not in kinds  # the run stopped before the broker placed anything
    h.center.idle()  # the run is over: the records reach the ledger now
    kinds = [e["kind"] for e in read_entries(ledger)]
    assert kinds[-2:] == ["command", "command"] and "run_end" in kinds
    assert kinds.index("run_end") < len(kinds) - 2
    assert verify_file(ledger).ok
