"""The checks every role gets: only capability tags the kit knows (a typo would silently skip checks)."""

from __future__ import annotations

import difflib

from regimeflex.testing.checks.registry import _register
from regimeflex.testing.subject import KNOWN_CAPABILITIES, CheckFailure, Subject


def _known_capabilities(subject: Subject) -> None:
    unknown = sorted(set(subject.capabilities) - set(KNOWN_CAPABILITIES))
    if unknown:
        hints = []
        for tag in unknown:
            close = difflib.get_close_matches(tag, list(KNOWN_CAPABILITIES), n=1)
            hints.append(f"'{tag}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise CheckFailure(
            f"capabilities() declares unknown tag(s) {', '.join(hints)}; a misspelt tag "
            f"silently changes which checks run. Known tags: {', '.join(KNOWN_CAPABILITIES)}"
        )


for _role in ("strategy", "sizer", "data", "broker", "notifier"):
    _register(
        f"{_role}.known_capabilities/v1",
        _known_capabilities,
        "every tag capabilities() declares is one the kit knows (typos would silently skip checks)",
    )
