"""The README's crontab line works as cron runs it: no TTY, a bare environment, cwd=/, plain logs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from regimeflex.ledger.journal import open_journal

REPO = Path(__file__).resolve().parent.parent


def readme_cron_command() -> str:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```cron\n(.*?)```", text, re.S)
    assert block, "README.md must show a crontab block"
    line = next(ln for ln in block.group(1).splitlines() if ln and not ln.startswith(("#", "CRON_TZ")))
    return line.split(None, 5)[5]  # drop the five schedule fields


@pytest.fixture
def mybot(tmp_path: Path) -> Path:
    """The README's /opt/mybot, made real under tmp_path with the demo config."""
    root = tmp_path / "mybot"
    shutil.copytree(REPO / "config", root / "config")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "regimeflex").symlink_to(Path(sys.executable).parent / "regimeflex")
    return root


def cron_env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "SHELL": "/bin/sh", "LOGNAME": "cron"}


def test_readme_crontab_line_runs_under_a_cron_like_environment(mybot: Path) -> None:
    command = readme_cron_command().replace("/opt/mybot", str(mybot))
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        cwd="/",
        env=cron_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    log = (mybot / "regimeflex-cron.log").read_text()
    assert done.returncode == 0, log
    assert "\x1b[" not in log, "no colour codes when not on a TTY"
    assert "RegimeFlex run — session" in log or "is not a trading session" in log


def test_overlapping_run_refuses_while_the_ledger_is_locked(mybot: Path) -> None:
    command = readme_cron_command().replace("/opt/mybot", str(mybot)).replace(" run ", " run --as-of 2024-03-13 ")
    with open_journal(mybot / "logs/audit/ledger.jsonl"):
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd="/",
            env=cron_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
        )
    log = (mybot / "regimeflex-cron.log").read_text()
    assert done.returncode == 1
    assert "another RegimeFlex run is writing this ledger" in log
    assert not (mybot / "reports").exists()
