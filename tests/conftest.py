"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTS_DATA = Path(__file__).resolve().parent / "data"


def pytest_configure(config: pytest.Config) -> None:
    # per-user caches (the XNYS session table) go to a folder of this run, inherited by CLI subprocesses
    if "REGIMEFLEX_CACHE_HOME" not in os.environ:
        import tempfile

        os.environ["REGIMEFLEX_CACHE_HOME"] = tempfile.mkdtemp(prefix="regimeflex-cache-")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's demo project (config/ only) in a temp dir; returns its config dir."""
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    return config


@pytest.fixture(autouse=True)
def _restore_environ():
    """Code under test may load .env files into os.environ; put the environment back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _no_secrets_or_plugin_env(monkeypatch: pytest.MonkeyPatch, _restore_environ) -> None:
    """Tests start without real credentials or plugin switches from the developer's shell."""
    from regimeflex.secrets import SECRET_ENV_VARS

    for name in (
        *SECRET_ENV_VARS,  # the one list of secret variables, so a new one is cleared here too
        "REGIMEFLEX_DISABLED_PLUGINS",
        "REGIMEFLEX_TRACE_PLUGINS",
        "REGIMEFLEX_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run the ``regimeflex`` command line in-process: ``code, out, err = run_cli("--config", d, "run")``.

    Goes through :func:`regimeflex.cli.main`, so exit codes and the one-line error
    handling are exactly what a user's shell sees.
    """
    from regimeflex.cli import main

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()  # drop anything printed before this call
        with pytest.raises(SystemExit) as exited:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return invoke
