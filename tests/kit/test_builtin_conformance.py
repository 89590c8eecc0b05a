"""Every built-in plugin (entry points of the ``regimeflex`` distribution) passes the conformance kit.

New built-ins are picked up from the entry points automatically. A built-in
that needs settings to run gets them in BUILTIN_PARAMS (real data: the kit's
own shipped panel). A breach is fixed in the plugin, never listed away.
"""

from __future__ import annotations

from importlib import metadata

from regimeflex.testing import PluginUnderTest, parametrize_with_contracts, sample_csv_path

from .local_sinks import smtp_port, webhook_url

SAMPLE_CSV = str(sample_csv_path())

#: Settings/params a built-in needs to run on the kit's sample data.
BUILTIN_PARAMS: dict[str, dict] = {
    "csv": {"path": SAMPLE_CSV, "symbol_column": "Name", "prices": "adjusted"},
    # network notifiers run against local sinks (tests/kit/local_sinks.py)
    "webhook": {"url": webhook_url(), "retries": 0},
    "email": {
        "host": "127.0.0.1",
        "port": smtp_port(),
        "security": "none",
        "sender": "kit@example.com",
        "to": ["ops@example.com"],
    },
}


def builtin_plugins() -> list[PluginUnderTest]:
    eps = metadata.entry_points(group="regimeflex")
    names = sorted(ep.name for ep in eps if ep.dist is not None and ep.dist.metadata["Name"] == "regimeflex")
    return [PluginUnderTest(name, params=BUILTIN_PARAMS.get(name, {})) for name in names]


def test_builtins_are_found_from_entry_points():
    assert {"trend", "equal_weight", "console", "synthetic"} <= {p.label for p in builtin_plugins()}


@parametrize_with_contracts(builtin_plugins())
def test_builtin_plugin_conforms(plugin, check):
    check(plugin)
