"""The daily run asks the data provider for the held symbols' splits and dividends (cache first) and
records them in the ledger; what it cannot see it says."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from regimeflex.config import load_settings
from regimeflex.data.actions import ACTIONS_FILE, load_corporate_actions
from regimeflex.plugins import PluginHost
from tests.corporate.conftest import edit_yaml, seed_position

EX = date(2014, 8, 7)


class RecordingHost:
    """The real plugin host, remembering every provide_corporate_actions call (symbols, start, end)."""

    def __init__(self) -> None:
        self.host = PluginHost.load()
        self.calls: list[tuple[tuple[str, ...], date, date]] = []

    def provide_corporate_actions(self, plugin, *, symbols, start, end, settings):
        self.calls.append((tuple(symbols), start, end))
        return self.host.provide_corporate_actions(plugin, symbols=symbols, start=start, end=end, settings=settings)

    def __getattr__(self, name):
        return getattr(self.host, name)


def test_the_provider_is_asked_once_then_only_for_the_days_after_the_cache(disc_project: Path) -> None:
    settings = load_settings(disc_project)
    host = RecordingHost()
    first = load_corporate_actions(settings, host, {"DISCK": date(2014, 6, 2)}, EX)
    assert first.status == "provider"
    assert [(a.symbol, a.ex_date, a.kind, a.ratio) for a in first.actions] == [("DISCK", EX, "split", 2.0)]
    cache = json.loads((disc_project.parent / "data/cache/csv" / ACTIONS_FILE).read_text())
    assert cache["symbols"]["DISCK"]["start"] == "2014-06-02" and cache["symbols"]["DISCK"]["end"] == "2014-08-07"

    again = load_corporate_actions(settings, host, {"DISCK": date(2014, 6, 2)}, date(2014, 8, 12))
    assert again.actions == first.actions
    # the second load re-asks only the last week of what is cached, plus the days after it
    assert host.calls == [(("DISCK",), date(2014, 6, 2), EX), (("DISCK",), date(2014, 7, 31), date(2014, 8, 12))]


def test_a_failing_provider_falls_back_to_the_cache_and_says_how_far_it_is_known(disc_project: Path) -> None:
    settings = load_settings(disc_project)
    load_corporate_actions(settings, PluginHost.load(), {"DISCK": date(2014, 8, 1)}, EX)
    actions_file = disc_project.parent / "data/DISC-actions.csv"
    actions_file.write_text("symbol,ex_date,kind,ratio,cash\nDISCK,2014-08-07,split,two,\n")  # now unreadable
    report = load_corporate_actions(settings, PluginHost.load(), {"DISCK": date(2014, 8, 1)}, date(2014, 8, 20))
    assert report.status == "cache-fallback"
    assert [a.ex_date for a in report.actions] == [EX]  # the cached split is still applied
    assert report.known_through == {"DISCK": "2014-08-07"}
    assert report.line.startswith("corporate actions: csv failed (")
    assert report.line.endswith("using the cache: DISCK through 2014-08-07")
    assert "line 2: a split needs a ratio > 0, got 'two'" in report.line
    (event,) = report.events
    assert event.level.name == "RISK" and event.kind == "data.actions_stale"


def test_a_failing_provider_with_nothing_cached_is_never_taken_as_no_actions(disc_project: Path) -> None:
    settings = load_settings(disc_project)
    (disc_project.parent / "data/DISC-actions.csv").unlink()
    report = load_corporate_actions(settings, PluginHost.load(), {"DISCK": date(2014, 8, 1)}, EX)
    assert report.status == "cache-fallback" and report.actions == []
    assert report.known_through == {"DISCK": None}
    assert "DISCK through never" in report.line and "cannot be read" in report.line


def test_a_provider_without_actions_is_stated_as_not_provided(disc_project: Path) -> None:
    edit_yaml(
        disc_project / "data.yaml", providers={"csv": {"path": "data/DISCA-DISCK-2013-2014-raw.csv", "prices": "raw"}}
    )
    report = load_corporate_actions(load_settings(disc_project), PluginHost.load(), {"DISCK": date(2014, 8, 1)}, EX)
    assert report.status == "not provided" and report.actions == []
    assert report.line == "corporate actions: not provided by csv"


def test_nothing_held_asks_nothing(disc_project: Path) -> None:
    host = RecordingHost()
    report = load_corporate_actions(load_settings(disc_project), host, {}, EX)
    assert (report.status, report.line, host.calls) == ("nothing held", None, [])


def test_the_run_on_the_ex_date_records_the_split_of_the_held_stock(run_cli, disc_project: Path) -> None:
    from regimeflex.ledger import load_state

    seed_position(disc_project, qty=100, price=82.37, day="2014-08-05")
    code, out, _ = run_cli("--config", str(disc_project), "run", "--as-of", "2014-08-07", "--json")
    summary = json.loads(out)
    assert code == 0, out
    recorded = summary["corporate_actions"]["recorded"]
    assert [(r["symbol"], r["ratio"], r["qty_before"], r["qty_after"]) for r in recorded] == [
        ("DISCK", 2.0, 100.0, 200.0)
    ]
    assert "corporate action: DISCK split 2-for-1 on 2014-08-07" in summary["messages"]
    state = load_state(disc_project.parent / "logs/audit/ledger.jsonl")
    assert state.corporate_actions["split:DISCK:2014-08-07"]["source"] == "DISC-actions.csv"


def test_a_run_whose_provider_has_no_actions_says_so_in_its_summary(run_cli, disc_project: Path) -> None:
    edit_yaml(
        disc_project / "data.yaml", providers={"csv": {"path": "data/DISCA-DISCK-2013-2014-raw.csv", "prices": "raw"}}
    )
    seed_position(disc_project, qty=100, price=82.37, day="2014-08-05")
    code, out, _ = run_cli("--config", str(disc_project), "run", "--as-of", "2014-08-07")
    assert "note: corporate actions: not provided by csv" in out
    assert code == 0, out


@pytest.mark.parametrize("bought", ["2014-08-07", "2014-08-08"])
def test_a_position_opened_on_or_after_the_ex_date_gets_no_split(run_cli, disc_project: Path, bought: str) -> None:
    seed_position(disc_project, qty=100, price=41.17, day=bought)
    code, out, _ = run_cli("--config", str(disc_project), "run", "--as-of", "2014-08-08", "--json")
    assert json.loads(out)["corporate_actions"]["recorded"] == []
