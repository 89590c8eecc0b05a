"""``regimeflex new-plugin NAME --role ROLE``: start a plugin package the way an author should.

Owns the command-line face of :mod:`regimeflex.scaffold`: it writes a ready
package (pyproject with the entry point, hookimpl skeleton with the
documented signatures, README, a conformance test that passes as generated)
and prints the next steps.
"""

from __future__ import annotations

from pathlib import Path

import click

ROLE_CHOICES = ("strategy", "data", "sizer", "broker", "notifier")


@click.command("new-plugin")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLE_CHOICES), help="The role the plugin plays.")
@click.option(
    "--dir",
    "parent",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to create the package folder.",
)
def new_plugin_cmd(name: str, role: str, parent: Path) -> None:
    """Write a ready-to-install plugin package NAME for ROLE (conformance test included)."""
    from regimeflex.scaffold import check_name, write_package

    package = check_name(name, role)
    target = write_package(name, role, parent)
    click.echo(f"created {target}/ — {role} plugin '{package.name}' (distribution {package.distribution})")
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        click.echo(f"  {path.relative_to(target)}")
    click.echo("next:")
    click.echo(f"  cd {target} && pip install -e '.[test]' && pytest")
    click.echo(f"  regimeflex plugins check {package.name}")
