"""A project trading DISCK on its real raw prices (2013-2014) through the csv provider, with the real
2-for-1 of 2014-08-07 in an actions file (tests/data/corporate, see SOURCES.md)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parents[1] / "data" / "corporate"
PRICES = DATA / "DISCA-DISCK-2013-2014-raw.csv"
ACTIONS = DATA / "DISC-actions.csv"


def edit_yaml(path: Path, **changes) -> None:
    doc = yaml.safe_load(path.read_text()) or {}
    doc.update(changes)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture
def disc_project(project: Path) -> Path:
    """The demo config on csv DISCK raw prices with the actions file; paper mode; returns the config dir."""
    root = project.parent
    (root / "data").mkdir(exist_ok=True)
    shutil.copy(PRICES, root / "data" / PRICES.name)
    shutil.copy(ACTIONS, root / "data" / ACTIONS.name)
    edit_yaml(
        project / "data.yaml",
        provider="csv",
        adjusted=False,
        providers={"csv": {"path": f"data/{PRICES.name}", "prices": "raw", "actions_path": f"data/{ACTIONS.name}"}},
    )
    edit_yaml(project / "run.yaml", universe=["DISCK"], benchmark="DISCK", history_sessions=120)
    risk = yaml.safe_load((project / "risk.yaml").read_text())
    risk["regime"]["detect"]["benchmark"] = "DISCK"
    risk["regime"]["detect"]["window"] = 50
    risk["regime"].pop("vix_symbol", None)
    (project / "risk.yaml").write_text(yaml.safe_dump(risk, sort_keys=False))
    return project


def seed_position(
    config: Path, symbol: str = "DISCK", qty: float = 100.0, price: float = 82.37, day: str = "2014-08-06"
):
    """The ledger holds ``qty`` shares bought at ``day``'s open (a paper fill), as an earlier run recorded."""
    from regimeflex.ledger.journal import open_journal

    with open_journal(config.parent / "logs/audit/ledger.jsonl") as journal:
        journal.begin_session(date.fromisoformat(day), mode="paper", broker="paper")
        journal.record(
            "fill",
            {
                "fill_id": "seed-1",
                "client_order_id": "seed-buy",
                "symbol": symbol,
                "side": "buy",
                "qty": qty,
                "price": price,
                "commission": 0.0,
                "ts": f"{day}T14:30:00+00:00",
            },
        )
        journal.end_session(status="completed", session=day)
