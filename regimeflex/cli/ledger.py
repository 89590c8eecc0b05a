"""``regimeflex ledger verify|show|export|repair``: read and check the audit ledger.

Owns the user's view of ``logs/audit/ledger.jsonl`` (path from run.yaml
``paths.ledger``): ``verify`` checks the whole hash chain and exits 1 naming
the first bad line; ``show`` lists entries filtered by height and kind;
``export --csv`` writes every entry as a CSV row (data as JSON); ``repair``
moves a torn last line aside exactly as the next run would (and refuses a chain
broken anywhere else). ``verify`` also checks checkpoint signatures when
``REGIMEFLEX_LEDGER_KEY`` is set, and ``--head HASH`` checks a published head. Reading never
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
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="HASH",
    help="A head hash published by a run (notification, daily report): it must be an entry of this chain. Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def verify_cmd(ctx: click.Context, override: Path | None, heads: tuple[str, ...], as_json: bool) -> None:
    """Check every line's hash, chain link and checkpoint (signatures too when REGIMEFLEX_LEDGER_KEY
    is set); exit 1 naming the first bad line, or when a --head is not in the chain."""
    from regimeflex.ledger import verify_file
    from regimeflex.ledger.store import find_heads

    path = ledger_path(ctx, override)
    result = verify_file(path)
    found = find_heads(path, heads) if heads else {}
    missing = [h for h in heads if found.get(h) is None]
    if as_json:
        echo_json(
            {
                "path": str(path),
                "ok": result.ok and not missing,
                "entries": result.entries,
                "bad_line": result.bad_line,
                "problem": result.problem or None,
                "torn": result.torn,
                "key": result.keyed,
                "checkpoints": result.checkpoints,
                "signed_checkpoints": result.signed,
                "unsigned_checkpoints": result.unsigned,
                "heads": {h: found.get(h) for h in heads},
            }
        )
        if not result.ok or missing:
            sys.exit(EXIT_ERROR)
        return
    if not result.ok:
        raise LedgerError(result.message(path))
    click.echo(result.message(path))
    if result.keyed:
        line = f"signatures: {result.signed} signed checkpoint(s) verified with REGIMEFLEX_LEDGER_KEY"
        if result.unsigned:
            line += f"; {result.unsigned} older checkpoint(s) written before the key was set"
        if not result.signed and result.entries:
            line += (
                "; no signed checkpoint yet: a rewrite of this history cannot be told from the original"
                " (compare with a published head: --head HASH)"
            )
        click.echo(line)
    else:
        click.echo(
            f"signatures: not checked (REGIMEFLEX_LEDGER_KEY is not set): edits, deletions and reordering are "
            f"detected, a rewrite with recomputed hashes is not — compare with a published head (--head HASH); "
            f"{result.checkpoints} checkpoint(s)"
        )
    for h in heads:
        where = found.get(h)
        if where is None:
            click.echo(f"head {h}: NOT in this ledger (history was rewritten since it was published, or wrong file)")
        else:
            click.echo(f"head {h}: found at line {where}")
    if missing:
        sys.exit(EXIT_ERROR)


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
    """Move a torn last line (from a crash) to <ledger>.torn and record that in the ledger.

    Only a torn tail is repaired; a chain broken before its last line is an error (exit 1)
    naming the first bad line, and nothing is changed."""
    from regimeflex.ledger import repair

    path = ledger_path(ctx, override)
    done = repair(path)
    if done.torn is None:
        click.echo(f"{path}: no torn line; nothing to repair (chain verifies, {done.entries} entries)")
    else:
        torn = done.torn
        click.echo(
            f"{path}: moved torn line {torn.line_no} ({len(torn.raw)} bytes) to {path.name}.torn; "
            f"recorded a torn_tail entry (line {(done.recorded_seq or 0) + 1}); chain verifies, {done.entries} entries"
        )


def _select(path: Path, height: int | None, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    from regimeflex.ledger import read_entries

    if not path.exists():
        raise LedgerError(f"{path}: no ledger yet (it is created by the first `regimeflex run`)")
    return [
        e for e in read_entries(path) if (height is None or e["height"] == height) and (not kinds or e["kind"] in kinds)
    ]


def _short(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
