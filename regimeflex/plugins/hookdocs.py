"""docs/hooks.md, generated from the hookspecs: one source of truth for the plugin contract.

Owns turning :mod:`regimeflex.hookspecs` — each spec's exact signature, its
``firstresult`` flag, its role and its docstring with the example in it —
into the Markdown page plugin authors read, as pytest's autodoc does for
``hookspec.py``. ``tests/test_docs.py`` fails when docs/hooks.md differs
from what this renders, so a changed hook cannot leave the page behind.

Regenerate with::

    python -m regimeflex.plugins.hookdocs > docs/hooks.md
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path
from typing import Any

from regimeflex import hookspecs

_INTRO = """\
# Hooks

<!-- Generated from regimeflex/hookspecs.py by `python -m regimeflex.plugins.hookdocs > docs/hooks.md`;
     edit the hookspecs' docstrings, not this file (tests/test_docs.py fails when they differ). -->

Every hook RegimeFlex calls, with its exact signature (as declared in
`regimeflex/hookspecs.py`) and an example implementation. A plugin is a module
(or object) with `@hookimpl` functions (`from regimeflex.api import hookimpl`),
registered under the `regimeflex` entry-point group; see
[plugins.md](plugins.md) for writing one and for the names a plugin may import.

Implement only the hooks of your role. Argument names must match the
signature (pluggy passes them by name); you may leave out arguments you do not
use. *firstresult* means one plugin answers (the one the YAML selects).

**Hook API version: {version}.** Declare the version your plugin was written
for beside its hookimpls — `REGIMEFLEX_HOOK_API = "{version}"` — and RegimeFlex
refuses to load it, with one line naming both versions, when the majors differ
or the plugin needs a newer minor. A renamed hook keeps working under its old
name until the next major, with a `DeprecationWarning` naming the new one; a
renamed argument is announced the same way (pluggy's `warn_on_impl_args`).
Plugin distributions pin a compatible range of `regimeflex` in their
`dependencies`.
"""


def hook_names() -> list[str]:
    """Every hookspec, in the order hookspecs.py declares them."""
    tree = ast.parse(Path(hookspecs.__file__).read_text(encoding="utf-8"))
    declared = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    return [n for n in declared if hasattr(getattr(hookspecs, n), "regimeflex_spec")]


def signature(name: str) -> str:
    """The hookspec's signature exactly as written (annotations are strings there)."""
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {sig.return_annotation}"


def is_firstresult(name: str) -> bool:
    spec: dict[str, Any] = getattr(getattr(hookspecs, name), "regimeflex_spec", {})
    return bool(spec.get("firstresult"))


def _inline(text: str) -> str:
    text = re.sub(r":param (\w+):", r"- **\1**:", text)
    text = re.sub(r":returns?:", "- **returns**:", text)
    text = re.sub(
        r":(?:class|func|data|meth|attr|mod|exc):`~?([\w.]+)`", lambda m: f"`{m.group(1).split('.')[-1]}`", text
    )
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _markdown(doc: str) -> str:
    """The reStructuredText of a hookspec docstring as Markdown (code blocks left as they are)."""
    out: list[str] = []
    lines = doc.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and line.strip().startswith("Example"):
            out.append(line.rstrip()[:-1])  # "Example::" → "Example:"
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i][4:])
                i += 1
            while block and not block[0].strip():
                block.pop(0)
            while block and not block[-1].strip():
                block.pop()
            out += ["", "```python", *block, "```"]
            continue
        out.append(_inline(line))
        i += 1
    return "\n".join(out).strip()


def render() -> str:
    """The whole of docs/hooks.md."""
    names = hook_names()
    roles = hookspecs.HOOK_ROLES
    table = ["| hook | role | firstresult |", "|---|---|---|"]
    table += [f"| [`{n}`](#{n}) | {roles[n]} | {'yes' if is_firstresult(n) else 'no'} |" for n in names]
    sections = []
    for n in names:
        sections.append(
            f"## {n}\n\n"
            f"Role: **{roles[n]}** · firstresult: **{'yes' if is_firstresult(n) else 'no'}**\n\n"
            f"```python\n{signature(n)}\n```\n\n"
            f"{_markdown(inspect.getdoc(getattr(hookspecs, n)) or '')}\n"
        )
    return _INTRO.format(version=hookspecs.HOOK_API_VERSION) + "\n" + "\n".join(table) + "\n\n" + "\n".join(sections)


if __name__ == "__main__":
    sys.stdout.write(render())
