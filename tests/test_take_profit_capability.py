"""risk.yaml ``stops.take_profit_pct`` needs a broker that places take-profits (``supports_take_profit``);
with ``kind: trailing`` one that can pair them with a trailing stop (``supports_trailing_take_profit``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regimeflex.config.risk import StopSettings, require_stops_supported
from regimeflex.errors import ConfigError
from regimeflex.plugins import PluginHost


def test_a_take_profit_with_a_broker_that_does_not_declare_it_is_refused_naming_key_broker_and_fix() -> None:
    with pytest.raises(ConfigError) as refused:
        require_stops_supported(StopSettings(kind="fixed", take_profit_pct=0.1), broker="mybroker", capabilities={})
    assert str(refused.value) == (
        "risk.yaml: stops.take_profit_pct is set but broker.yaml: broker 'mybroker' does not declare "
        "supports_take_profit (it cannot place a take-profit); remove stops.take_profit_pct or use a broker that "
        "places take-profits (paper, alpaca)"
    )


def test_a_trailing_take_profit_needs_the_trailing_capability() -> None:
    stops = StopSettings(kind="trailing", take_profit_pct=0.1)
    with pytest.raises(ConfigError, match=r"stops.kind: trailing with stops.take_profit_pct is refused"):
        require_stops_supported(stops, broker="alpaca", capabilities={"supports_take_profit": True})
    both = {"supports_take_profit": True, "supports_trailing_take_profit": True}
    require_stops_supported(stops, broker="paper", capabilities=both)  # accepted


def test_stops_without_a_take_profit_need_no_take_profit_capability() -> None:
    require_stops_supported(StopSettings(kind="trailing"), broker="mybroker", capabilities={})


@pytest.mark.parametrize(("plugin", "take_profit", "trailing"), [("paper", True, True), ("alpaca", True, False)])
def test_brokers_declare_whether_they_place_take_profits(plugin: str, take_profit: bool, trailing: bool) -> None:
    caps = PluginHost.load().capabilities(plugin)
    assert (caps.get("supports_take_profit", False), caps.get("supports_trailing_take_profit", False)) == (
        take_profit,
        trailing,
    )


def test_plugin_resolution_refuses_a_take_profit_the_broker_does_not_declare() -> None:
    """The check runs where plugins are resolved, so `config validate`, `doctor` and `run` all see it."""
    from regimeflex.plugins import resolve

    class NoTakeProfit:
        def __getattr__(self, name):
            return getattr(host, name)

        def capabilities(self, plugin):
            return {k: v for k, v in host.capabilities(plugin).items() if k != "supports_take_profit"}

    from regimeflex.config import load_settings

    host = PluginHost.load()
    repo = Path(__file__).resolve().parents[1]
    settings = load_settings(repo / "config")
    stops = StopSettings(kind="fixed", take_profit_pct=0.1)
    settings = settings.model_copy(update={"risk": settings.risk.model_copy(update={"stops": stops})})
    resolve(settings, host)  # the paper broker declares it
    with pytest.raises(ConfigError, match=r"^risk.yaml: stops.take_profit_pct is set but broker.yaml: broker 'paper'"):
        resolve(settings, NoTakeProfit())  # type: ignore[arg-type]
