"""The example third-party package (examples/regimeflex-example-strategy), installed with pip into a
temp site: it is listed, YAML selects it, a daily run and a backtest use it, the kit passes — and a
deliberately look-ahead variant of it fails the kit naming the check, the symbol and the date."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml

from regimeflex.backtest.engine import simulate
from regimeflex.config import load_settings
from regimeflex.hookspecs import hookimpl
from regimeflex.plugins import PluginHost, resolve
from regimeflex.testing import PluginUnderTest, checks_for, load_subject, run_checks, sample_bars
from regimeflex.testing.sample import cut_points
from tests.kit.conftest import EXAMPLE

pytest_plugins = ["pytester"]

SELECT_EXAMPLE = {
    "strategies": {
        "momentum": {"plugin": "example_momentum", "budget": 1.0, "params": {"lookback": 60, "max_vol": 0.04}}
    }
}


@pytest.fixture
def example_project(project):
    """The demo project with strategies.yaml selecting the example strategy."""
    (project / "strategies.yaml").write_text(yaml.safe_dump(SELECT_EXAMPLE), encoding="utf-8")
    return project


def test_example_shows_in_plugins_list(run_cli, with_site):
    code, out, _ = run_cli("plugins", "list", "--json")
    listed = {p["name"]: p for p in json.loads(out)}
    assert code == 0
    entry = listed["example_momentum"]
    assert (entry["distribution"], entry["version"], entry["roles"], entry["state"]) == (
        "regimeflex-example-strategy",
        "0.1.0",
        ["strategy"],
        "active",
    )


def test_yaml_selects_the_example(with_site, example_project):
    selection = resolve(load_settings(example_project), PluginHost.load())
    chosen = selection.strategies["momentum"]
    assert (chosen.name, chosen.role, dict(chosen.settings)) == (
        "example_momentum",
        "strategy",
        {"lookback": 60, "max_vol": 0.04},
    )


def test_daily_run_calls_the_example(run_cli, with_site, example_project, monkeypatch):
    monkeypatch.setenv("REGIMEFLEX_TRACE_PLUGINS", "1")
    code, out, err = run_cli("--config", str(example_project), "run", "--as-of", "2024-03-13", "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "completed"
    assert "trace generate_signal → example_momentum(" in out + err


def test_backtest_command_runs_the_example_selected_in_yaml(run_cli, with_site, example_project, monkeypatch):
    monkeypatch.setenv("REGIMEFLEX_TRACE_PLUGINS", "1")
    code, out, err = run_cli(
        "--config", str(example_project), "backtest", "--start", "2022-01-03", "--end", "2023-12-29", "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["trades"] > 0
    assert "trace generate_signal → example_momentum(" in out + err


def test_example_trades_over_real_history(with_site):
    host = PluginHost.load()
    bars = sample_bars()
    signals = host.generate_signal("example_momentum", bars=bars, params={"lookback": 60, "max_vol": 0.04})
    weights = host.size_position(
        "equal_weight",
        signals=signals.fillna(0.0),
        bars=bars,
        params=host.validate_settings("equal_weight", {}, where="test: params"),
    )
    result = simulate(weights, bars)
    assert len(result.trade_day) > 0 and result.equity[-1] != result.equity[0]


def test_example_passes_its_three_line_conformance_test(with_site, pytester):
    pytester.makepyfile(test_example=(EXAMPLE / "tests" / "test_conformance.py").read_text())
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=len(checks_for("strategy")))


class CentredVolatility:
    """The example with one classic bug: a centred volatility window (it reads 10 future sessions)."""

    @hookimpl
    def generate_signal(self, bars, params):
        from regimeflex_example_strategy import strategy

        if bars.shape[1] == 0:
            return strategy.momentum_signal(bars, strategy.Params())
        close = bars["close"]
        change = close / close.shift(60) - 1.0
        vol = close.pct_change(fill_method=None).rolling(20, center=True).std()
        signal = ((change > 0) & (vol < 0.015)).astype("float64")
        return signal.where(change.notna() & vol.notna())


NO_LOOKAHEAD = re.compile(
    r"strategy\.no_lookahead/v2: signal for (?P<symbol>[A-Z]+) on (?P<day>\d{4}-\d\d-\d\d) depends on later "
    r"bars: it is (?P<cut_value>\S+) with bars up to (?P<cut>\d{4}-\d\d-\d\d) but (?P<full_value>\S+) with "
    r"bars up to (?P<end>\d{4}-\d\d-\d\d) \(cut (?P<n>\d+)\); the value on a date may use bars up to that date "
    r"only( \(a warm-up NaN filled from later bars, e\.g\. bfill\?\))?"
)


def test_lookahead_variant_fails_the_kit_naming_check_symbol_and_first_date(with_site):
    found = {r.check: r for r in run_checks(load_subject(PluginUnderTest(CentredVolatility(), name="centred")))}
    assert found["strategy.no_lookahead/v2"].status == "FAIL"
    claim = NO_LOOKAHEAD.fullmatch(found["strategy.no_lookahead/v2"].message)
    assert claim is not None, found["strategy.no_lookahead/v2"].message
    bars = sample_bars()

    def differences(cut: int):
        full = CentredVolatility().generate_signal(bars, {}).iloc[: cut + 1]
        part = CentredVolatility().generate_signal(bars.iloc[: cut + 1], {})
        return full, part, ~((full == part) | (full.isna() & part.isna()))

    # the first cut at which the centred window shows (earlier cuts lie inside the 60-session warm-up)
    n = next(i for i, c in enumerate(cut_points(bars.index), start=1) if differences(c)[2].to_numpy().any())
    assert claim["n"] == str(n)
    cut = cut_points(bars.index)[n - 1]
    full, part, differs = differences(cut)
    first_day = differs.any(axis=1).idxmax()
    first_symbol = differs.loc[first_day].idxmax()
    assert (claim["symbol"], claim["day"], claim["cut"], claim["end"]) == (
        first_symbol,
        f"{first_day:%Y-%m-%d}",
        f"{bars.index[cut]:%Y-%m-%d}",
        f"{bars.index[-1]:%Y-%m-%d}",
    )
    assert claim["cut_value"] == _fmt(part.at[first_day, first_symbol])
    assert claim["full_value"] == _fmt(full.at[first_day, first_symbol])


def _fmt(value: float) -> str:
    return "NaN" if pd.isna(value) else f"{value:.10g}"
