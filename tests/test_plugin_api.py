"""The declared plugin API: every listed name resolves, nothing else does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import regimeflex.api as api

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", api.__all__)
def test_every_declared_name_resolves(name):
    assert getattr(api, name) is not None


def test_a_private_name_is_refused_with_a_pointer_to_the_docs():
    with pytest.raises(AttributeError, match="plugin API is the names listed in docs/plugins.md"):
        api.PluginHost  # noqa: B018


def test_every_declared_name_is_documented_in_docs_plugins_md():
    text = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    missing = [name for name in api.__all__ if f"`{name}`" not in text]
    assert missing == []


def test_importing_the_api_does_not_import_pandas():
    code = "import sys, regimeflex.api; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
