"""``regimeflex ledger verify|show|export|repair``: read and check the audit ledger.

Owns the user's view of ``logs/audit/ledger.jsonl`` (path from run.yaml
``paths.ledger``): ``verify`` checks the whole hash chain and exits 1 naming
the first bad line; ``show`` lists entries filtered by height and kind;
``export --csv`` writes every entry as a CSV row (data as JSON); ``repair``
moves a torn last line aside exactly as the next run would. Reading never
takes the writer's lock, so these work while a run is in progress.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import click

from regimeflex.cli.common import echo_json, load_settings_for
from regimeflex.errors import EXIT_ERROR, LedgerError


def ledger_path(ctx: click.Context, override: Path | None) -> Path:
    if override is not None:
        return override
    settings = load_settings_for(ctx)
    return settings.path(settings.run.paths.ledger)


path_option = click.option(
    "--ledger",
    "override",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Ledger file (default: run.yaml paths.ledger).",
)


@click.group("ledger")
def ledger_group() -> None:
    """Verify, show or export the hash-chained audit ledger."""


@ledger_group.command("verify")
@path_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def verify_cmd(ctx: click.Context, override: Path | None, as_json: bool) -> None:
    """Check every line's hash and chain link; exit 1 naming the first bad line."""
    from regimeflex.ledger import verify_file

    path = ledger_path(ctx, override)
    result = verify_file(path)
    if as_json:
        echo_json(
            {
                "path": str(path),
                "ok": result.ok,
                "entries": result.entries,
                "bad_line": result.bad_line,
                "problem": result.problem or None,
                "torn": result.torn,
            }
        )
        if not result.ok:
            sys.exit(EXIT_ERROR)
        return
    if not result.ok:
        raise LedgerError(result.message(path))
    click.echo(result.message(path))


@ledger_group.command("show")
@path_option
@click.option("--height", type=int, default=None, help="Only entries of this block (trading day).")
@click.option("--kind", "kinds", multiple=True, help="Only entries of this kind (repeatable), e.g. fill.")
@click.option("--last", type=int, default=None, help="Only the last N matching entries.")
@click.option("--json", "as_json", is_flag=True, help="Print entries as a JSON list.")
@click.pass_context
def show_cmd(
    ctx: click.Context,
    override: Path | None,
    height: int | None,
    kinds: tuple[str, ...],
    last: int | None,
    as_json: bool,
) -> None:
    """List ledger entries (height, seq, time, kind, data)."""
    entries = _select(ledger_path(ctx, override), height, kinds)
    if last is not None:
        entries = entries[-last:] if last > 0 else []
    if as_json:
        echo_json(entries)
        return
    if not entries:
        click.echo("no entries match")
        return
    click.echo(f"{'height':>6} {'seq':>6}  {'ts':<27} {'kind':<13} data")
    for e in entries:
        data = json.dumps(e["data"], sort_keys=True, separators=(",", ":"))
        click.echo(f"{e['height']:>6} {e['seq']:>6}  {e['ts']:<27} {e['kind']:<13} {_short(data)}")


@ledger_group.command("export")
@path_option
@click.option("--csv", "as_csv", is_flag=True, required=True, help="Write CSV (the only format for now).")
@click.option("--kind", "kinds", multiple=True, help="Only entries of this kind (repeatable).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (atomically) instead of stdout.",
)
@click.pass_context
def export_cmd(
    ctx: click.Context, override: Path | None, as_csv: bool, kinds: tuple[str, ...], out: Path | None
) -> None:
    """Export entries as CSV: height, seq, ts, kind, id, prev, data (JSON)."""
    entries = _select(ledger_path(ctx, override), None, kinds)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["height", "seq", "ts", "kind", "id", "prev", "data"])
    for e in entries:
        writer.writerow(
            [
                e["height"],
                e["seq"],
                e["ts"],
                e["kind"],
                e["id"],
                e["prev"],
                json.dumps(e["data"], sort_keys=True, separators=(",", ":")),
            ]
        )
    if out is None:
        click.echo(buf.getvalue(), nl=False)
        return
    from regimeflex.fsio import atomic_write_text

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, buf.getvalue())
    click.echo(f"wrote {len(entries)} entries to {out}", err=True)


@ledger_group.command("repair")
@path_option
@click.pass_context
def repair_cmd(ctx: click.Context, override: Path | None) -> None:
    """Move a torn last line (from a crash) to <ledger>.torn and record that in the ledger."""
    from regimeflex.ledger import repair

    path = ledger_path(ctx, override)
    torn = repair(path)
    if torn is None:
        click.echo(f"{path}: no torn line; nothing to repair")
    else:
        click.echo(f"{path}: moved torn line {torn.line_no} ({len(torn.raw)} bytes) to {path.name}.torn")


def _select(path: Path, height: int | None, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    from regimeflex.ledger import read_entries

    if not path.exists():
        raise LedgerError(f"{path}: no ledger yet (it is created by the first `regimeflex run`)")
    return [
        e for e in read_entries(path) if (height is None or e["height"] == height) and (not kinds or e["kind"] in kinds)
    ]


def _short(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
