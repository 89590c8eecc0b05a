"""Plugin scaffold: the templates behind ``regimeflex new-plugin NAME --role ROLE``.

Owns turning a plugin name and role into a ready, installable package —
pyproject with the entry point, a hookimpl skeleton with the documented
signatures, a README and a three-line conformance test that passes on the
generated code — rendered from the jinja2 templates in ``templates/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from regimeflex.errors import ConfigError

ROLES: tuple[str, ...] = ("strategy", "data", "sizer", "broker", "notifier")

#: role → the contract class its conformance test subclasses.
CONTRACTS: dict[str, str] = {
    "strategy": "StrategyContract",
    "sizer": "SizerContract",
    "data": "DataProviderContract",
    "broker": "BrokerContract",
    "notifier": "NotifierContract",
}

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class PluginPackage:
    """The names a new plugin package is built from."""

    name: str  # entry-point name, as YAML selects it (my_momentum)
    role: str

    @property
    def distribution(self) -> str:
        return "regimeflex-" + self.name.replace("_", "-")

    @property
    def module(self) -> str:
        return "regimeflex_" + self.name.replace("-", "_")

    @property
    def contract(self) -> str:
        return CONTRACTS[self.role]

    @property
    def core_version(self) -> str:
        """The RegimeFlex release the package is generated with (the lower pin)."""
        from regimeflex import __version__

        return __version__

    @property
    def core_next(self) -> str:
        """The first release outside the compatible range: the next minor while on 0.x, else the next major."""
        major, minor = (int(x) for x in self.core_version.split(".")[:2])
        return f"0.{minor + 1}" if major == 0 else f"{major + 1}"

    @property
    def hook_api(self) -> str:
        from regimeflex.hookspecs import HOOK_API_VERSION

        return HOOK_API_VERSION


def check_name(name: str, role: str) -> PluginPackage:
    """Validate the plugin name and role; raise ConfigError naming the fix."""
    if role not in ROLES:
        raise ConfigError(f"new-plugin: unknown role {role!r}; use one of {', '.join(ROLES)}")
    if not _NAME.match(name):
        raise ConfigError(
            f"new-plugin: plugin name {name!r} must start with a lower-case letter and use only "
            f"a-z, 0-9, '_' or '-' (it becomes the entry-point name YAML selects)"
        )
    return PluginPackage(name=name.replace("-", "_"), role=role)


def render(package: PluginPackage) -> dict[str, str]:
    """Relative path → file text of the new package."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    ctx = {"p": package}
    files = {
        "pyproject.toml": "pyproject.toml.j2",
        "README.md": "README.md.j2",
        f"{package.module}/__init__.py": "init.py.j2",
        f"{package.module}/hooks.py": f"hooks_{package.role}.py.j2",
        "tests/test_conformance.py": "test_conformance.py.j2",
    }
    return {path: env.get_template(tpl).render(**ctx) for path, tpl in files.items()}


def write_package(name: str, role: str, parent: Path) -> Path:
    """Write the package under ``parent/<distribution>``; refuse to overwrite an existing folder."""
    package = check_name(name, role)
    target = Path(parent) / package.distribution
    if target.exists():
        raise ConfigError(f"new-plugin: {target} already exists; choose another name or remove it first")
    files = render(package)
    staging = target.with_name(f".{target.name}.tmp")
    for rel, text in files.items():
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    staging.rename(target)  # all files or none
    return target
