"""Fixtures for the backtest tests: real bars from tests/data/backtest (see SOURCES.md there)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from regimeflex.types import make_bars

DATA = Path(__file__).resolve().parent.parent / "data" / "backtest"


def _wide_from_long(path: Path):
    df = pd.read_csv(path, parse_dates=["date"])
    return {
        f: df.pivot(index="date", columns="Name", values=f).astype("float64")
        for f in ("open", "high", "low", "close", "volume")
    }


def _wide_from_lumibot(names: tuple[str, ...]):
    frames = {}
    for name in names:
        df = pd.read_csv(DATA / f"{name}-2019-lumibot.csv", parse_dates=["Date"], index_col="Date")
        frames[name] = df
    return {
        f: pd.DataFrame({n: frames[n][f.capitalize()] for n in names}).astype("float64")
        for f in ("open", "high", "low", "close", "volume")
    }


@pytest.fixture(scope="session")
def etf_bars():
    """SPY, GLD, TLT, 2019 (252 sessions, complete)."""
    return make_bars(_wide_from_lumibot(("SPY", "GLD", "TLT")))


@pytest.fixture(scope="session")
def stock_bars():
    """AAPL, APTV, BHF, DHR, O from 2015-07 (missing opens, late listings)."""
    return make_bars(_wide_from_long(DATA / "all_stocks_5yr-cut.csv"))


def _trend_weights(bars, fast=10, slow=40):
    """Long-only 1/N SMA-trend targets: simple, deterministic weights for engine tests."""
    c = bars["close"]
    sig = ((c > c.rolling(fast).mean()) & (c > c.rolling(slow).mean())).astype(float)
    return sig / c.shape[1]


@pytest.fixture(scope="session")
def trend_weights():
    return _trend_weights


def write_project(root: Path, *, run_extra: str = "", strategies: str | None = None) -> Path:
    """A project whose csv provider reads the SPY/GLD/TLT 2019 files; returns its config dir."""
    import shutil

    csv_dir = root / "data" / "csv"
    csv_dir.mkdir(parents=True, exist_ok=True)
    for name in ("SPY", "GLD", "TLT"):
        shutil.copy(DATA / f"{name}-2019-lumibot.csv", csv_dir / f"{name}.csv")
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "run.yaml").write_text("universe: [SPY, GLD, TLT]\nbenchmark: SPY\ninitial_equity: 100000\n" + run_extra)
    (config / "data.yaml").write_text(f"provider: csv\nproviders:\n  csv:\n    path: {csv_dir}\n")
    (config / "strategies.yaml").write_text(
        strategies
        or (
            "strategies:\n  trend:\n    plugin: trend\n    budget: 1.0\n"
            "    params: {rule: crossover, fast: 10, slow: 40}\n"
        )
    )
    (config / "risk.yaml").write_text("sizer:\n  plugin: equal_weight\n  params: {max_weight: 0.5}\n")
    (config / "broker.yaml").write_text("broker: paper\nmode: dry_run\n")
    return config


@pytest.fixture
def make_project(tmp_path: Path):
    """Factory: ``make_project(run_extra=..., strategies=...)`` → config dir of a fresh project."""
    counter = iter(range(1000))

    def make(**kwargs) -> Path:
        return write_project(tmp_path / f"p{next(counter)}", **kwargs)

    return make


@pytest.fixture(scope="session")
def make_shared_project(tmp_path_factory):
    """Like ``make_project``, for module/session-scoped fixtures."""

    def make(**kwargs) -> Path:
        return write_project(tmp_path_factory.mktemp("project"), **kwargs)

    return make


@pytest.fixture
def etf_project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path, run_extra="backtest:\n  start: 2019-03-01\n  end: 2019-12-31\n  warmup_sessions: 40\n"
    )
