"""The pytest face of the kit, run the way an author runs it (pytester: a temp project, a real pytest run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regimeflex.testing import PluginUnderTest, checks_for, parametrize_with_contracts
from tests.kit import toys

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]

GOOD = """
from regimeflex.testing import StrategyContract
from tests.kit import toys

class TestGood(StrategyContract):
    plugin = toys.GoodStrategy()
"""


@pytest.fixture
def author(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A temp project whose tests can import this suite's toy plugins."""
    monkeypatch.syspath_prepend(str(REPO))
    return pytester


def run(author: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the author's tests in-process (hypothesis's plugin off: it would re-import for seconds)."""
    return author.runpytest("-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


def test_subclassing_strategy_contract_runs_one_test_per_check(author: pytest.Pytester):
    author.makepyfile(test_good=GOOD)
    result = run(author)
    result.assert_outcomes(passed=len(checks_for("strategy")))


def test_contract_test_ids_are_the_check_ids(author: pytest.Pytester):
    author.makepyfile(test_good=GOOD)
    result = run(author, "--collect-only")
    assert "test_good.py::TestGood::test_contract[strategy.no_lookahead/v2]" in result.outlines


def test_lookahead_plugin_fails_the_contract_naming_the_check(author: pytest.Pytester):
    author.makepyfile(
        test_peek="""
from regimeflex.testing import StrategyContract
from tests.kit import toys

class TestPeek(StrategyContract):
    plugin = toys.PeekingStrategy()
"""
    )
    result = run(author)
    # tomorrow's close also changes the first sessions, so the warm-up clause catches it too
    result.assert_outcomes(passed=len(checks_for("strategy")) - 2, failed=2)
    result.stdout.fnmatch_lines(
        ["*CheckFailure: strategy.no_lookahead/v2: signal for AAPL on * depends on later bars*"]
    )


def test_plugin_and_params_may_be_fixtures(author: pytest.Pytester):
    author.makepyfile(
        test_fixtures="""
import pytest
from regimeflex.testing import StrategyContract
from tests.kit import toys

class TestFixtures(StrategyContract):
    @pytest.fixture
    def plugin(self):
        return toys.GoodStrategy()

    @pytest.fixture
    def params(self):
        return {"lookback": 5}
"""
    )
    result = run(author)
    result.assert_outcomes(passed=len(checks_for("strategy")))


def test_declared_capability_shows_as_skip_with_reason(author: pytest.Pytester):
    author.makepyfile(
        test_short="""
from regimeflex.testing import SizerContract
from tests.kit import toys

class TestShort(SizerContract):
    plugin = toys.SignedSizer(declare=True)
"""
    )
    result = run(author, "-rs")
    result.assert_outcomes(passed=len(checks_for("sizer")) - 1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*sizer.long_only/v1: does not apply: plugin 'SignedSizer' declares supports_short=True*"]
    )


def test_contract_for_the_wrong_role_says_which_roles_the_plugin_plays(author: pytest.Pytester):
    author.makepyfile(
        test_wrong="""
from regimeflex.testing import SizerContract
from tests.kit import toys

class TestWrong(SizerContract):
    plugin = toys.GoodStrategy()
"""
    )
    result = run(author)
    result.stdout.fnmatch_lines(
        ["*TypeError: TestWrong: plugin 'GoodStrategy' does not play the sizer role (it plays: strategy)"]
    )


def test_kit_fixtures_come_from_the_pytest11_plugin(author: pytest.Pytester):
    author.makepyfile(
        test_fixture="""
def test_panel(regimeflex_bars, regimeflex_signals):
    assert regimeflex_signals.index.equals(regimeflex_bars.index)
"""
    )
    result = run(author)
    result.assert_outcomes(passed=1)


@parametrize_with_contracts([PluginUnderTest(toys.GoodStrategy(), name="good")])
def test_parametrize_with_contracts_runs_each_check(plugin, check):
    check(plugin)


def test_parametrize_with_contracts_ids_name_plugin_and_check():
    mark = parametrize_with_contracts(["trend", "equal_weight"])
    ids = mark.kwargs["ids"]
    assert ids == (
        [f"trend-{c.id}" for c in checks_for("strategy")] + [f"equal_weight-{c.id}" for c in checks_for("sizer")]
    )


@parametrize_with_contracts(["no_such_plugin"])
def _unknown_plugin_case(plugin, check):  # not collected: built to inspect its parametrization
    check(plugin)


def test_unknown_plugin_in_parametrize_fails_each_test_with_the_load_error():
    from regimeflex.errors import PluginError

    (lazy, check), *_ = _unknown_plugin_case.pytestmark[0].args[1]
    with pytest.raises(PluginError) as err:
        check(lazy)
    assert str(err.value).startswith("conformance kit: no plugin named 'no_such_plugin' is installed")


def test_an_expected_failure_is_reported_as_xfail_with_its_reason(author: pytest.Pytester):
    author.makepyfile(
        test_peek="""
from regimeflex.testing import StrategyContract
from tests.kit import toys

class TestPeek(StrategyContract):
    plugin = toys.PeekingStrategy()
    expected_failures = {
        "strategy.no_lookahead/v2": "known leak, issue #7",
        "strategy.warmup_not_backfilled/v1": "known leak, issue #7",
    }
"""
    )
    result = run(author, "-rx")
    result.assert_outcomes(passed=len(checks_for("strategy")) - 2, xfailed=2)
    result.stdout.fnmatch_lines(["*strategy.no_lookahead/v2: expected failure (known leak, issue #7)*"])


def test_an_expected_failure_that_passes_fails_the_test_so_the_entry_is_removed(author: pytest.Pytester):
    author.makepyfile(
        test_good="""
from regimeflex.testing import StrategyContract
from tests.kit import toys

class TestGood(StrategyContract):
    plugin = toys.GoodStrategy()
    expected_failures = {"strategy.no_lookahead/v2": "was leaking"}
"""
    )
    result = run(author)
    result.assert_outcomes(passed=len(checks_for("strategy")) - 1, failed=1)
    result.stdout.fnmatch_lines(["*strategy.no_lookahead/v2: passed but is listed in expected_failures (was leaking)*"])


def test_an_unknown_check_id_in_expected_failures_is_named(author: pytest.Pytester):
    author.makepyfile(
        test_good="""
from regimeflex.testing import StrategyContract
from tests.kit import toys

class TestGood(StrategyContract):
    plugin = toys.GoodStrategy()
    expected_failures = {"strategy.no_lookahaed/v1": "typo"}
"""
    )
    result = run(author)
    result.stdout.fnmatch_lines(["*TestGood.expected_failures: no check named strategy.no_lookahaed/v1*"])
