"""A chunked research backtest (``backtest.chunk_symbols``) on raw prices applies the corporate actions like
the unchunked one: the real DISCA/DISCK 2-for-1 of 2014-08-07 (tests/data/corporate, SOURCES.md) with REGN
(no action in the period, all three from tests/data/all_stocks_5yr_subset.csv.gz) in chunks of 1 and 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from regimeflex.backtest import run
from regimeflex.config import load_settings
from tests.corporate.conftest import ACTIONS, edit_yaml

SUBSET = Path(__file__).resolve().parents[1] / "data" / "all_stocks_5yr_subset.csv.gz"
UNIVERSE = ["DISCA", "DISCK", "REGN"]


def raw_project(project: Path, chunk: int | None) -> Path:
    """The demo config on the three symbols' real raw prices (2013-02..2014-12) with the actions file;
    research mode, independent sleeves, trend strategy with the sleeve sizer; returns the config dir."""
    root = project.parent
    (root / "data").mkdir(exist_ok=True)
    long = pd.read_csv(SUBSET)
    long = long[long["Name"].isin(UNIVERSE) & (long["date"] <= "2014-12-31")]
    long.to_csv(root / "data" / "raw.csv", index=False)
    shutil.copy(ACTIONS, root / "data" / ACTIONS.name)
    edit_yaml(
        project / "data.yaml",
        provider="csv",
        adjusted=False,
        providers={"csv": {"path": "data/raw.csv", "prices": "raw", "actions_path": f"data/{ACTIONS.name}"}},
    )
    backtest = {"mode": "research", "sleeves": True, "breakers": False, "rebalance": "on_change"}
    backtest.update(start="2014-03-03", end="2014-12-31", warmup_sessions=60)
    if chunk is not None:
        backtest["chunk_symbols"] = chunk
    edit_yaml(project / "run.yaml", universe=UNIVERSE, benchmark="DISCK", backtest=backtest)
    edit_yaml(
        project / "strategies.yaml",
        strategies={"trend": {"plugin": "trend", "budget": 1.0, "params": {"rule": "price_above_sma", "slow": 20}}},
    )
    risk = yaml.safe_load((project / "risk.yaml").read_text())
    risk["sizer"] = {"plugin": "sleeve", "params": {}}
    risk["regime"]["detect"].update(benchmark="DISCK", window=50)
    risk["regime"].pop("vix_symbol", None)
    (project / "risk.yaml").write_text(yaml.safe_dump(risk, sort_keys=False))
    return project


@pytest.fixture
def unchunked(project: Path):
    return run(load_settings(raw_project(project, None)))


@pytest.mark.parametrize("chunk", [1, 2])
def test_chunked_book_equals_the_unchunked_one_across_the_real_split(tmp_path, unchunked, chunk) -> None:
    config = tmp_path / f"chunk{chunk}" / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    chunked = run(load_settings(raw_project(config, chunk)))
    held = unchunked.positions.loc["2014-08-06", ["DISCA", "DISCK"]]
    assert (held > 0).all()  # the split meets held positions (the loop doubles them)
    assert chunked.metrics["final_equity"] == pytest.approx(unchunked.metrics["final_equity"], rel=1e-9)
    pd.testing.assert_series_equal(chunked.equity["equity"], unchunked.equity["equity"], rtol=1e-9)
    pd.testing.assert_series_equal(chunked.equity["benchmark"], unchunked.equity["benchmark"], rtol=1e-9)
    pd.testing.assert_frame_equal(chunked.trades, unchunked.trades, rtol=1e-9)


def test_chunked_notes_say_the_splits_were_applied_like_the_unchunked_run(tmp_path, unchunked) -> None:
    config = tmp_path / "chunked" / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    notes = run(load_settings(raw_project(config, 1))).notes
    applied = [n for n in unchunked.notes if n.startswith("raw prices from csv: 2 split(s)")]
    assert applied and applied[0] in notes
    assert not any("not applied" in n for n in notes)
