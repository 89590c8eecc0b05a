"""docs/hooks.md is kept honest: every hook of regimeflex/hookspecs.py appears there with its
exact signature, its firstresult flag and an example that implements it (datasette's test_docs.py);
the page is generated from the hookspecs (regimeflex.plugins.hookdocs) and must match it."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from regimeflex import hookspecs

REPO = Path(__file__).resolve().parent.parent
HOOKS_MD = REPO / "docs" / "hooks.md"
HOOKS = {
    name: getattr(hookspecs, name) for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "regimeflex_spec")
}


def spec_signature(fn) -> str:
    """The hookspec's signature exactly as written in hookspecs.py (annotations are strings there)."""
    sig = inspect.signature(fn)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {fn.__name__}({params}) -> {sig.return_annotation}"


def sections() -> dict[str, str]:
    text = HOOKS_MD.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return {part.split("\n", 1)[0].strip(): part for part in parts}


def code_blocks(section: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_hookspecs_declare_hooks():
    assert {"provide_bars", "generate_signal", "size_position", "execute_orders", "notify"} <= set(HOOKS)


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_hook_has_a_section(hook):
    assert hook in sections(), f"docs/hooks.md has no '## {hook}' section; add it with the signature and an example"


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_documented_signature_is_the_hookspec(hook):
    blocks = code_blocks(sections().get(hook, ""))
    documented = blocks[0].strip() if blocks else "(no signature block)"
    assert documented == spec_signature(HOOKS[hook])


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_documented_firstresult_flag_is_the_hookspecs(hook):
    flag = "yes" if HOOKS[hook].regimeflex_spec.get("firstresult") else "no"
    assert f"firstresult: **{flag}**" in sections().get(hook, "")


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_example_implements_the_hook_with_spec_argument_names(hook):
    examples = code_blocks(sections().get(hook, ""))[1:]
    impls = [
        node
        for block in examples
        for node in ast.walk(ast.parse(block))
        if isinstance(node, ast.FunctionDef)
        and node.name == hook
        and any(getattr(d, "id", None) == "hookimpl" for d in node.decorator_list)
    ]
    assert impls, f"docs/hooks.md: the {hook} section needs an example decorated with @hookimpl"
    allowed = set(inspect.signature(HOOKS[hook]).parameters)
    assert {a.arg for a in impls[0].args.args} <= allowed


def test_no_section_documents_a_hook_that_does_not_exist():
    documented = {name for name, body in sections().items() if "Role: **" in body}
    assert documented - set(HOOKS) == set()


PLUGINS_MD = REPO / "docs" / "plugins.md"


def test_every_check_id_is_listed_in_plugins_md():
    from regimeflex.testing import CHECKS

    text = PLUGINS_MD.read_text(encoding="utf-8")
    assert [c.id for c in CHECKS if f"`{c.id}`" not in text] == []


def test_every_capability_tag_is_explained_in_plugins_md():
    from regimeflex.testing import KNOWN_CAPABILITIES

    text = PLUGINS_MD.read_text(encoding="utf-8")
    assert [tag for tag in KNOWN_CAPABILITIES if f"| `{tag}` |" not in text] == []


def test_hooks_md_is_generated_from_the_hookspecs():
    from regimeflex.plugins.hookdocs import render

    assert HOOKS_MD.read_text(encoding="utf-8") == render(), (
        "docs/hooks.md is generated from regimeflex/hookspecs.py: edit the hookspec docstrings, then run "
        "`python -m regimeflex.plugins.hookdocs > docs/hooks.md`"
    )


def test_every_hook_has_a_role():
    assert set(hookspecs.HOOK_ROLES) == set(HOOKS)
