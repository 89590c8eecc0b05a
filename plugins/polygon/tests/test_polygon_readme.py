"""The plugin's README documents every setting, the key variable and the API root."""

from __future__ import annotations

from pathlib import Path

from regimeflex_polygon.client import KEY_ENV
from regimeflex_polygon.config import PolygonSettings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_names_every_setting() -> None:
    assert [name for name in PolygonSettings.model_fields if f"`{name}`" not in README] == []


def test_readme_names_the_key_variable_and_the_default_api_root() -> None:
    assert KEY_ENV in README and PolygonSettings().base_url in README
