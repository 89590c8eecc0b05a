"""Fixtures for the execution tests: real SPY bars, a paper-broker host, a ledger journal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from regimeflex.builtins import paper
from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.session import execute_session
from regimeflex.ledger.journal import Journal, open_journal
from regimeflex.plugins import PluginHost
from regimeflex.types import make_bars

TESTS_DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="session")
def spy_bars() -> pd.DataFrame:
    """Real SPY daily bars, 2016-12-01 … 2016-12-30 (tests/data/SPY-1993-2017.csv)."""
    raw = pd.read_csv(TESTS_DATA / "SPY-1993-2017.csv", parse_dates=["Date"], index_col="Date")
    raw = raw.loc["2016-12-01":"2016-12-30"]
    return make_bars(
        {
            f: raw[[f.capitalize()]].rename(columns={f.capitalize(): "SPY"})
            for f in ("open", "high", "low", "close", "volume")
        }
    )


def sessions(bars: pd.DataFrame) -> list[date]:
    return [d.date() for d in bars.index]


def upto(bars: pd.DataFrame, day: date) -> pd.DataFrame:
    return bars.loc[: pd.Timestamp(day)]


def close_of(bars: pd.DataFrame, day: date) -> dict[str, float]:
    return {"SPY": float(bars["close"].loc[pd.Timestamp(day), "SPY"])}


@pytest.fixture
def host() -> PluginHost:
    return PluginHost.from_plugins({"paper": paper})


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def journal(workdir: Path) -> Iterator[Journal]:
    j = open_journal(workdir / "logs" / "audit" / "ledger.jsonl")
    yield j
    j.close()


@pytest.fixture
def kill(workdir: Path) -> KillSwitch:
    return KillSwitch(workdir / "config" / "kill_switch.flag")


@pytest.fixture
def run_day(host: PluginHost, workdir: Path, kill: KillSwitch, spy_bars: pd.DataFrame):
    """Run execute_session for ``day`` with the bars known up to that day."""

    def run(
        journal: Journal,
        day: date,
        weight: float = 0.5,
        mode: str = "paper",
        settings: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        bars = upto(spy_bars, day)
        return execute_session(
            journal=journal,
            host=kwargs.pop("host", host),
            broker="paper",
            mode=mode,
            session=day,
            targets={"SPY": weight},
            prices=close_of(spy_bars, day),
            bars=bars,
            broker_settings=settings if settings is not None else {"slippage_bps": 0.0},
            state_dir=kwargs.pop("state_dir", workdir / "state"),
            kill_switch=kill,
            initial_equity=100_000.0,
            **kwargs,
        )

    return run
