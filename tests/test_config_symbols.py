"""Every YAML key is read by something, and tickers are one normalised type (stripped, upper-cased)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regimeflex.config import load_settings
from regimeflex.errors import ConfigError


def test_every_symbol_in_the_yaml_is_stripped_and_upper_cased(project: Path) -> None:
    (project / "run.yaml").write_text("universe: [' spy', qqq ]\nbenchmark: ' spy '\n")
    (project / "risk.yaml").write_text("regime:\n  detect: {benchmark: iwm}\n  vix_symbol: ' vix'\n")
    settings = load_settings(project)
    assert settings.run.universe == ["SPY", "QQQ"]
    assert settings.run.benchmark == "SPY"
    assert settings.risk.regime.detect.benchmark == "IWM"
    assert settings.risk.regime.vix_symbol == "VIX"


def test_a_symbol_listed_twice_in_different_case_is_refused(project: Path) -> None:
    (project / "run.yaml").write_text("universe: [SPY, ' spy']\n")
    with pytest.raises(ConfigError, match="run.yaml: universe: symbol listed twice: SPY"):
        load_settings(project)


def test_a_bad_symbol_names_the_key(project: Path) -> None:
    (project / "risk.yaml").write_text("regime:\n  vix_symbol: 'VIX;rm'\n")
    with pytest.raises(ConfigError, match=r"risk.yaml: regime.vix_symbol: not a ticker symbol: 'VIX;RM'"):
        load_settings(project)


def test_a_lower_case_benchmark_and_vix_symbol_work_in_a_run(run_cli, project: Path) -> None:
    (project / "run.yaml").write_text((project / "run.yaml").read_text().replace("benchmark: SPY", "benchmark: spy"))
    risk = (project / "risk.yaml").read_text().replace("regime:\n", "regime:\n  vix_symbol: vix\n")
    (project / "risk.yaml").write_text(risk.replace("benchmark: SPY", "benchmark: spy"))
    code, out, _ = run_cli("--config", str(project), "run", "--as-of", "2024-03-13", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["regime"] is not None
    vix = next(b for b in summary["breakers"] if b["name"] == "vix")
    assert vix["state"] != "no data" and vix["value"] > 0


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("run.yaml", "universe: [SPY]\ncalendar: XNYS\n", "run.yaml: calendar: removed: RegimeFlex trades XNYS"),
        (
            "risk.yaml",
            "calendar:\n  exchange: BOGUS\n",
            "risk.yaml: calendar.exchange: removed: the calendar guard uses XNYS sessions only",
        ),
    ],
)
def test_calendar_keys_nothing_read_are_refused_naming_why(project: Path, file, text, message) -> None:
    (project / file).write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(project)
    assert str(err.value).startswith(message)


def test_vix_bear_without_a_vix_series_is_refused_instead_of_silently_ignored(project: Path) -> None:
    (project / "risk.yaml").write_text("regime:\n  detect: {vix_bear: 30}\n")
    with pytest.raises(ConfigError, match=r"risk.yaml: regime: regime.detect.vix_bear needs a VIX series to read"):
        load_settings(project)
