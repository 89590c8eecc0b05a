"""``make bench``'s runner (benchmarks/run_all.py + targets.py): one table from one run, exit 1 on a miss.

A fake benchmarks folder (copies of run_all.py and targets.py, two bench scripts that record one
target each, no timing) is run as a real process, so nothing of the project's own results changes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

SCRIPT = """from targets import record
record({name!r}, samples={samples!r}, target={target!r}, better={better!r}, detail="fake")
"""


@pytest.fixture
def bench_dir(tmp_path: Path) -> Path:
    for name in ("run_all.py", "targets.py"):
        shutil.copy(BENCHMARKS / name, tmp_path / name)
    (tmp_path / "bench_fast.py").write_text(
        SCRIPT.format(name="fast thing vs reference", samples=[0.8, 0.9, 1.1], target=2.0, better="lower")
    )
    (tmp_path / "bench_slow.py").write_text(
        SCRIPT.format(name="slow thing vs reference", samples=[3.0, 3.5, 4.0], target=2.0, better="lower")
    )
    return tmp_path


def run(bench_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(bench_dir / "run_all.py"), *args], capture_output=True, text=True, cwd=bench_dir
    )


def test_a_missed_target_makes_the_run_exit_1_and_the_table_lists_every_target(bench_dir):
    done = run(bench_dir)
    assert done.returncode == 1
    assert "PASS fast thing vs reference: 0.9x (median of 3, range 0.8x–1.1x) vs ≤ 2x → PASS" in done.stdout
    assert "MISS slow thing vs reference: 3.5x (median of 3, range 3x–4x) vs ≤ 2x → MISS" in done.stdout
    assert "missed targets: slow thing vs reference" in done.stderr


def test_all_targets_met_exits_0(bench_dir):
    (bench_dir / "bench_slow.py").unlink()
    assert run(bench_dir).returncode == 0


def test_table_shows_each_target_with_range_budget_verdict_and_load_average(bench_dir):
    run(bench_dir)
    table = run(bench_dir, "--table").stdout.splitlines()
    assert table[0].startswith("| target | measured (median) | range | budget | verdict | when | load avg 1/5/15 |")
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in table[2:]}
    assert rows["fast thing vs reference"][1:5] == ["0.9x", "0.8x–1.1x (n=3)", "≤ 2x", "PASS"]
    assert rows["slow thing vs reference"][1:5] == ["3.5x", "3x–4x (n=3)", "≤ 2x", "**MISS**"]
    assert len(rows["slow thing vs reference"][6].split()) == 3  # 1/5/15-minute load averages


def test_a_script_that_fails_without_a_target_is_named_and_fails_the_run(bench_dir):
    (bench_dir / "bench_slow.py").write_text("raise SystemExit(3)\n")
    done = run(bench_dir)
    assert done.returncode == 1
    assert "failed scripts: bench_slow.py" in done.stderr


def test_readme_option_rewrites_only_the_table_between_its_markers(bench_dir):
    run(bench_dir)
    (bench_dir / "README.md").write_text("# B\n\nintro\n<!-- targets:begin -->\nold\n<!-- targets:end -->\n\nrest\n")
    assert run(bench_dir, "--readme").returncode == 0
    text = (bench_dir / "README.md").read_text()
    assert text.startswith("# B\n\nintro\n<!-- targets:begin -->\n| target |") and text.endswith(
        "<!-- targets:end -->\n\nrest\n"
    )
    assert "old" not in text and "| slow thing vs reference | 3.5x |" in text
