"""The pytest face of the kit: one contract class per role and ``parametrize_with_contracts``.

Owns :class:`StrategyContract`, :class:`SizerContract`,
:class:`DataProviderContract`, :class:`BrokerContract` and
:class:`NotifierContract` (shaped like pandas' extension base tests: subclass
one, say which plugin and params, and every check of that role becomes a test
named by its stable id), and :func:`parametrize_with_contracts` (shaped like
scikit-learn's ``parametrize_with_checks``). Checks that do not apply to a
plugin's declared capabilities are reported as skipped, with the reason.

    from regimeflex.testing import StrategyContract

    class TestMyStrategy(StrategyContract):
        plugin = "my_strategy"          # entry-point name, or the module itself
        params = {"lookback": 20}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any, ClassVar

import pytest

from regimeflex.testing.checks import CHECKS, Check, checks_for
from regimeflex.testing.load import PluginUnderTest, host_for, load_subject, plugin_name
from regimeflex.testing.subject import CheckFailure, CheckSkipped, DataWindow, Subject


def run_or_skip(check: Check, subject: Subject, expected_failures: Mapping[str, str] | None = None) -> None:
    """Run one check under pytest: pass, ``pytest.skip`` with the reason, or fail with its message.

    A check listed in ``expected_failures`` (check id → reason) is a strict
    xfail: its failure is reported as XFAIL with the reason, and its passing
    fails the test, so a fixed plugin gets its entry removed.
    """
    reason = (expected_failures or {}).get(check.id)
    try:
        check(subject)
    except CheckSkipped as exc:
        pytest.skip(str(exc))
    except CheckFailure as exc:
        if reason is None:
            raise
        pytest.xfail(f"{check.id}: expected failure ({reason}): {exc}")
    if reason is not None:
        pytest.fail(
            f"{check.id}: passed but is listed in expected_failures ({reason}); "
            f"remove it from expected_failures — the check now holds",
            pytrace=False,
        )


def _check_listed_ids(owner: str, **lists: Mapping[str, str]) -> None:
    known = {c.id for c in CHECKS}
    for attr, ids in lists.items():
        unknown = sorted(set(ids) - known)
        if unknown:
            raise TypeError(
                f"{owner}.{attr}: no check named {', '.join(unknown)} (the ids are listed in docs/plugins.md, Check ids)"
            )
    both = sorted(set(lists.get("skip_checks", {})) & set(lists.get("expected_failures", {})))
    if both:
        raise TypeError(f"{owner}: {', '.join(both)} is in both skip_checks and expected_failures; keep one")


class _Contract:
    """Base of the per-role contract classes (not collected itself: no ``Test`` prefix)."""

    role: ClassVar[str] = ""
    #: The plugin under test: an installed entry-point name or a module/object with hookimpls.
    plugin: ClassVar[Any] = None
    #: The params (strategy/sizer) or settings (data/broker/notifier) to test it with.
    params: ClassVar[Mapping[str, Any]] = {}
    #: Check id → reason, for checks that cannot run for this plugin (reported as SKIP).
    skip_checks: ClassVar[Mapping[str, str]] = {}
    #: Check id → reason, for checks known to fail (strict xfail: a check that starts passing fails the test).
    expected_failures: ClassVar[Mapping[str, str]] = {}
    #: Data providers only: the symbols and session range to request.
    data_window: ClassVar[DataWindow | None] = None

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "contract_check" in metafunc.fixturenames:
            checks = checks_for(type(self).role)
            metafunc.parametrize("contract_check", checks, ids=[c.id for c in checks])

    @pytest.fixture
    def contract_subject(self, request: pytest.FixtureRequest) -> Subject:
        """The plugin under test, loaded through PluginHost with its params validated.

        ``plugin`` and ``params`` may be class attributes or fixtures of the same name.
        """
        plugin = _attribute_or_fixture(self, request, "plugin")
        if plugin is None:
            raise TypeError(
                f'{type(self).__name__}: set `plugin = "<entry-point name>"` (or the plugin module) on the class'
            )
        params = _attribute_or_fixture(self, request, "params") or {}
        spec = PluginUnderTest(
            plugin, params=params, skip=dict(type(self).skip_checks), data_window=type(self).data_window
        )
        # One load per class and params, so the plugin's output on the panel is computed once.
        cache = type(self).__dict__.get("_contract_subjects")
        if cache is None:
            cache = {}
            type.__setattr__(type(self), "_contract_subjects", cache)
        key = (plugin if isinstance(plugin, str) else id(plugin), repr(sorted(dict(params).items())))
        if key not in cache:
            cache[key] = load_subject(spec)
        subject = cache[key]
        if type(self).role not in subject.roles:
            raise TypeError(
                f"{type(self).__name__}: plugin '{subject.name}' does not play the "
                f"{type(self).role} role (it plays: {', '.join(subject.roles) or 'none'})"
            )
        return subject

    def test_contract(self, contract_subject: Subject, contract_check: Check) -> None:
        cls = type(self)
        _check_listed_ids(cls.__name__, skip_checks=cls.skip_checks, expected_failures=cls.expected_failures)
        run_or_skip(contract_check, contract_subject, cls.expected_failures)


def _attribute_or_fixture(instance: object, request: pytest.FixtureRequest, name: str) -> Any:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        return getattr(type(instance), name, None)


class StrategyContract(_Contract):
    """Every ``strategy.*`` check: alignment, dtypes, range, warm-up NaN, no mutation,
    determinism, empty and one-symbol universes, and no lookahead on real data."""

    role = "strategy"


class SizerContract(_Contract):
    """Every ``sizer.*`` check, including no lookahead and the ``supports_short`` rules."""

    role = "sizer"


class DataProviderContract(_Contract):
    """Every ``data.*`` check. Set ``params`` to the provider's settings and, when
    needed, ``data_window`` to symbols and dates your test source has."""

    role = "data"


class BrokerContract(_Contract):
    """Every ``broker.*`` check (results per order, duplicate ids, kill switch, fractional qty)."""

    role = "broker"


class NotifierContract(_Contract):
    """Every ``notifier.*`` check (each level, unicode, attachments when supported)."""

    role = "notifier"


def _entries(plugins: Iterable[Any]) -> list[PluginUnderTest]:
    out = []
    for p in plugins:
        if isinstance(p, PluginUnderTest):
            out.append(p)
        elif isinstance(p, tuple):
            out.append(PluginUnderTest(p[0], params=p[1] if len(p) > 1 else {}))
        else:
            out.append(PluginUnderTest(p))
    return out


def parametrize_with_contracts(
    plugins: Iterable[str | ModuleType | object | tuple | PluginUnderTest], *, roles: Iterable[str] | None = None
) -> pytest.MarkDecorator:
    """Parametrize a test over every check of every role each plugin plays.

    ``plugins`` holds entry-point names, modules, ``(plugin, params)`` tuples or
    :class:`PluginUnderTest`. The decorated test takes ``plugin`` and ``check``::

        @parametrize_with_contracts(["trend", ("trend", {"rule": "price_above_sma"})])
        def test_conformance(plugin, check):
            check(plugin)

    Ids read ``<plugin>-<check id>``. ``check(plugin)`` skips (with the
    reason) when the plugin's capabilities rule the check out.
    """
    wanted = set(roles) if roles is not None else None
    params, ids = [], []
    for entry in _entries(plugins):
        name = entry.label
        lazy = _LazySubject(entry)
        info = host_for(entry.plugin, name).get(name)
        plugin_roles = list(info.roles) if info is not None and info.roles else []
        if not plugin_roles:  # unknown or broken: one test that fails with the host's own message
            plugin_roles = ["strategy"]
        for role in plugin_roles:
            if wanted is not None and role not in wanted:
                continue
            for check in checks_for(role):
                params.append((lazy, _RunnableCheck(check)))
                ids.append(f"{name}-{check.id}")
    return pytest.mark.parametrize(("plugin", "check"), params, ids=ids)


class _LazySubject:
    """Loads the plugin on first use, so collection stays cheap and load errors fail the test, not collection."""

    def __init__(self, entry: PluginUnderTest) -> None:
        self.entry = entry
        self._subject: Subject | None = None

    @property
    def name(self) -> str:
        return self.entry.label

    def subject(self) -> Subject:
        if self._subject is None:
            self._subject = load_subject(self.entry)
        return self._subject

    def __repr__(self) -> str:
        return f"<plugin {plugin_name(self.entry.plugin)}>"


class _RunnableCheck:
    """A check bound for pytest use: ``check(plugin)`` runs it or skips with the reason."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.id = check.id

    def __call__(self, plugin: _LazySubject | Subject) -> None:
        subject = plugin.subject() if isinstance(plugin, _LazySubject) else plugin
        run_or_skip(self.check, subject)

    def __repr__(self) -> str:
        return f"<check {self.id}>"
