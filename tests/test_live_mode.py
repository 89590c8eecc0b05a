"""Live-mode footguns: live needs a live broker and real market data, and no run is for the future."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from regimeflex.config.broker import require_live_capable
from regimeflex.errors import ConfigError
from regimeflex.plugins import PluginHost
from regimeflex.runner import resolve_session

SESSION = "2024-03-13"


def nothing_written(project: Path) -> bool:
    root = project.parent
    return not any((root / d).exists() for d in ("data", "reports", "state", "logs/audit/ledger.jsonl"))


def test_live_mode_with_the_simulated_paper_broker_is_refused_before_anything_runs(run_cli, project: Path) -> None:
    (project / "broker.yaml").write_text("broker: paper\nmode: live\n")
    code, out, err = run_cli("--config", str(project), "run", "--as-of", SESSION, "--live")
    assert code == 2
    assert (
        "mode: live refused: broker.yaml: broker 'paper' does not declare live_trading (a simulated or "
        "paper-only broker); use a live broker such as alpaca, or set mode: paper; data.yaml: provider "
        "'synthetic' does not declare real_market_data (simulated prices); use a real data provider such as "
        "polygon, alpaca or csv"
    ) in out + err  # the run's one error line (logged once, to stderr)
    assert "sent" not in out.split("note:")[0]  # no orders, no "completed, N sent"
    root = project.parent
    assert not (root / "data").exists() and not (root / "state").exists() and not (root / "reports").exists()


@pytest.mark.parametrize(
    ("plugin", "live_trading", "real_market_data"),
    [
        ("paper", False, False),
        ("synthetic", False, False),
        ("csv", False, True),
        ("alpaca", True, True),
        ("polygon", False, True),
    ],
)
def test_plugins_declare_whether_they_trade_live_and_serve_real_prices(plugin, live_trading, real_market_data) -> None:
    caps = PluginHost.load().capabilities(plugin)
    assert (caps.get("live_trading", False), caps.get("real_market_data", False)) == (live_trading, real_market_data)


def test_a_live_broker_on_real_data_passes_and_paper_or_dry_run_modes_are_not_checked() -> None:
    require_live_capable(
        "live",
        broker="alpaca",
        broker_capabilities={"live_trading": True},
        provider="polygon",
        provider_capabilities={"real_market_data": True},
    )
    require_live_capable(
        "paper", broker="paper", broker_capabilities={}, provider="synthetic", provider_capabilities={}
    )


def test_live_on_synthetic_prices_is_refused_naming_the_provider() -> None:
    with pytest.raises(ConfigError) as err:
        require_live_capable(
            "live",
            broker="alpaca",
            broker_capabilities={"live_trading": True},
            provider="synthetic",
            provider_capabilities={},
        )
    assert str(err.value) == (
        "mode: live refused: data.yaml: provider 'synthetic' does not declare real_market_data (simulated "
        "prices); use a real data provider such as polygon, alpaca or csv"
    )


def test_as_of_in_the_future_is_a_usage_error_naming_the_date(run_cli, project: Path) -> None:
    code, out, err = run_cli("--config", str(project), "run", "--as-of", "2099-01-02")
    assert code == 2
    assert err.startswith("error: --as-of 2099-01-02 is in the future (today in New York is ")
    assert len(err.strip().splitlines()) == 1 and out == ""
    assert nothing_written(project)


def test_as_of_today_in_new_york_is_allowed_and_tomorrow_is_not() -> None:
    evening_utc = datetime(2024, 3, 14, 2, 0)  # 22:00 on 2024-03-13 in New York
    assert resolve_session(date(2024, 3, 13), evening_utc)[0].date() == date(2024, 3, 13)
    with pytest.raises(ConfigError):
        resolve_session(date(2024, 3, 14), evening_utc)
