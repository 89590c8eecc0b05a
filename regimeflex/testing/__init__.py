"""Conformance kit for plugin authors (also a pytest plugin).

Owns one contract class per role that an author subclasses with a couple of
fixtures, ``parametrize_with_contracts``, capability tags, and the stable,
versioned check ids that ``regimeflex plugins check NAME`` runs too. The
checks run on a small real multi-symbol panel shipped in ``data/``.

Three lines test a strategy::

    from regimeflex.testing import StrategyContract

    class TestMyStrategy(StrategyContract):
        plugin = "my_strategy"

Every name is imported lazily: the CLI runs the checks without pytest, and
the pytest11 plugin adds no import cost to sessions that never use the kit.
"""

from __future__ import annotations

from typing import Any

#: public name → the submodule that defines it (imported on first use, so the
#: pytest11 plugin costs nothing in test sessions that never use the kit).
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["CHECKS", "Check", "CheckResult", "checks_for", "get_check", "run_checks"], "checks"),
    **dict.fromkeys(["PluginUnderTest", "load_subject"], "load"),
    **dict.fromkeys(["SAMPLE_SYMBOLS", "sample_bars", "sample_csv_path", "sample_signals"], "sample"),
    **dict.fromkeys(
        ["KNOWN_CAPABILITIES", "CheckFailure", "CheckSkipped", "DataWindow", "Subject", "subject_from_functions"],
        "subject",
    ),
    **dict.fromkeys(
        [
            "StrategyContract",
            "SizerContract",
            "DataProviderContract",
            "BrokerContract",
            "NotifierContract",
            "parametrize_with_contracts",
        ],
        "contracts",
    ),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'regimeflex.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"regimeflex.testing.{module}"), name)
