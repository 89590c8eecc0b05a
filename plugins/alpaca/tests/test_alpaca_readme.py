"""The plugin's README documents every setting, both environment variables and both trading endpoints."""

from __future__ import annotations

from pathlib import Path

from regimeflex_alpaca.client import KEY_ID_ENV, SECRET_ENV
from regimeflex_alpaca.config import DATA_URL, LIVE_URL, PAPER_URL, AlpacaDataSettings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_names_every_setting_of_the_broker_and_data_sections() -> None:
    assert [
        name for name in AlpacaDataSettings.model_fields if f"`{name}`" not in README and f"{name}:" not in README
    ] == []


def test_readme_names_the_key_variables_and_the_paper_live_and_data_urls() -> None:
    assert all(text in README for text in (KEY_ID_ENV, SECRET_ENV, PAPER_URL, LIVE_URL, DATA_URL, "--live"))


def test_readme_describes_take_profit_as_an_oco_exit_and_the_trailing_refusal() -> None:
    from regimeflex_alpaca.hooks import capabilities

    caps = capabilities()
    assert caps["supports_take_profit"] and not caps["supports_trailing_take_profit"]
    assert all(text in README for text in ('order_class: "oco"', "supports_take_profit", "reason: take_profit"))
    assert "Take-profits are not placed" not in README
