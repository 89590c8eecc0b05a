"""``regimeflex init DIR``: a starter project (config/ with the five YAML files, .env.example)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click


def starter_files() -> dict[str, str]:
    """Relative path → text of every file ``init`` writes."""
    root = resources.files("regimeflex.starter")
    files = {
        f"config/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted(root.joinpath("config").iterdir(), key=lambda p: p.name)
        if p.name.endswith(".yaml")
    }
    files[".env.example"] = root.joinpath("env.example").read_text(encoding="utf-8")
    return files


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init_cmd(directory: Path, force: bool) -> None:
    """Write a starter project into DIRECTORY: DIRECTORY/config/*.yaml and DIRECTORY/.env.example.

    The starter runs as-is on the built-in synthetic data provider in dry-run
    mode: `regimeflex --config DIRECTORY/config run`.
    """
    files = starter_files()
    existing = [rel for rel in files if (directory / rel).exists()]
    if existing and not force:
        raise click.UsageError(
            f"{directory} already has {', '.join(existing)}; use --force to overwrite or pick another directory"
        )
    for rel, text in files.items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    click.echo(f"wrote {len(files)} files to {directory}")
    click.echo(f"next: regimeflex --config {directory / 'config'} config validate")
