"""A 30-year index series without volume imports with findings summarised per rule, not one line per row."""

from __future__ import annotations

from pathlib import Path

VIX = Path(__file__).resolve().parents[1] / "data" / "VIX-1990-2020.csv"


def test_importing_a_30_year_index_without_volume_prints_no_line_per_row(run_cli, project: Path) -> None:
    code, out, err = run_cli("--config", project, "data", "import", VIX, "--prices", "adjusted")
    assert code == 0
    assert "imported 7583 of 7583 rows for 1 symbol(s)" in out
    lines = [ln for ln in (out + err).splitlines() if ln.strip()]
    assert len(lines) <= 5, lines  # one summary (and at most a line per rule), never thousands
    assert not any("zero_volume" in ln for ln in lines)  # no volume column: nothing to flag row by row
