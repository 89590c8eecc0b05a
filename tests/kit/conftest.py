"""Plugin packages built and pip-installed once per session: the five scaffolds and the example.

Their wheels are built with setuptools' PEP 517 backend and installed with
``pip install --no-deps --no-index --target <tmp>/site`` (offline; nothing
touches the test venv, pytest removes the temp dirs); a test that
needs them prepends that site to ``sys.path`` so entry points and imports see
them, exactly as an installed distribution is seen.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from regimeflex.scaffold import ROLES, write_package

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "regimeflex-example-strategy"


def scaffold_name(role: str) -> str:
    return f"kit_{role}"


@pytest.fixture(scope="session")
def plugin_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """role (or "example") → source folder of the package."""
    root = tmp_path_factory.mktemp("packages")
    folders = {role: write_package(scaffold_name(role), role, root) for role in ROLES}
    folders["example"] = Path(
        shutil.copytree(
            EXAMPLE, root / EXAMPLE.name, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__")
        )
    )
    return folders


#: Builds each package's wheel with its own PEP 517 backend, all in one interpreter (what pip
#: does per package in a subprocess of its own; one process keeps the suite fast).
BUILD_WHEELS = """
import os, sys
from setuptools import build_meta
out = os.path.abspath(sys.argv[1])
for src in sys.argv[2:]:
    os.chdir(src)
    build_meta.build_wheel(out)
"""


@pytest.fixture(scope="session")
def installed_site(plugin_packages: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding every package of ``plugin_packages``: wheels built, then pip-installed."""
    wheels = tmp_path_factory.mktemp("wheels")
    site = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-c", BUILD_WHEELS, str(wheels), *(str(p) for p in plugin_packages.values())],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, f"building the wheels failed:\n{built.stderr[-3000:]}"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--no-compile",
        "--disable-pip-version-check",
        "--target",
        str(site),
        *map(str, sorted(wheels.glob("*.whl"))),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return site


@pytest.fixture
def with_site(installed_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The installed packages are importable and their entry points visible for this test only."""
    monkeypatch.syspath_prepend(str(installed_site))
    yield installed_site
    for name in [m for m in sys.modules if m.startswith(("regimeflex_kit_", "regimeflex_example_strategy"))]:
        del sys.modules[name]  # the next test without the site must not see them
