"""The conformance checks themselves: a conforming plugin passes, each broken clause fails by name."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from regimeflex.errors import PluginError
from regimeflex.plugins import PluginHost
from regimeflex.testing import (
    CHECKS,
    PluginUnderTest,
    checks_for,
    get_check,
    load_subject,
    run_checks,
    sample_bars,
    sample_signals,
)
from regimeflex.testing.sample import cut_points
from tests.kit import toys


def results(plugin: object, **kwargs) -> dict[str, object]:
    subject = load_subject(PluginUnderTest(plugin, name=type(plugin).__name__, **kwargs))
    return {r.check: r for r in run_checks(subject)}


def failing(plugin: object, **kwargs) -> dict[str, str]:
    return {cid: r.message for cid, r in results(plugin, **kwargs).items() if r.status == "FAIL"}


def test_check_ids_are_unique_role_prefixed_and_versioned():
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    bad = [i for i in ids if not re.fullmatch(r"(strategy|sizer|data|broker|notifier)\.[a-z_]+/v[0-9]+", i)]
    assert bad == []


def test_conforming_strategy_passes_every_strategy_check():
    assert failing(toys.GoodStrategy()) == {}


def test_every_strategy_check_ran_on_the_conforming_strategy():
    ran = results(toys.GoodStrategy())
    assert sorted(ran) == sorted(c.id for c in checks_for("strategy"))


def test_tomorrows_close_fails_no_lookahead_naming_symbol_and_first_date():
    bars = sample_bars()
    cut = cut_points(bars.index)[0]
    day = bars.index[cut]
    full = toys.PeekingStrategy().generate_signal(bars, {})
    part = toys.PeekingStrategy().generate_signal(bars.iloc[: cut + 1], {})
    symbol = next(s for s in full.columns if part.at[day, s] != full.at[day, s])
    expected = (
        f"strategy.no_lookahead/v2: signal for {symbol} on {day:%Y-%m-%d} depends on later bars: "
        f"it is {part.at[day, symbol]:.10g} with bars up to {day:%Y-%m-%d} but "
        f"{full.at[day, symbol]:.10g} with bars up to {bars.index[-1]:%Y-%m-%d} (cut 1); "
        f"the value on a date may use bars up to that date only"
    )
    assert failing(toys.PeekingStrategy())["strategy.no_lookahead/v2"] == expected


def test_full_sample_statistic_fails_no_lookahead():
    assert "strategy.no_lookahead/v2" in failing(toys.FullSampleStrategy())


def test_lookahead_clauses_are_the_only_failures_of_a_peeking_strategy():
    assert list(failing(toys.PeekingStrategy())) == ["strategy.no_lookahead/v2", "strategy.warmup_not_backfilled/v1"]


def test_mutating_the_bars_fails_input_not_mutated_naming_field_symbol_and_date():
    last = sample_bars().index[-1]
    was = sample_bars().at[last, ("close", "JPM")]
    assert failing(toys.MutatingStrategy())["strategy.input_not_mutated/v1"] == (
        f"strategy.input_not_mutated/v1: generate_signal mutated its bars input: close of JPM on "
        f"{last:%Y-%m-%d} changed from {was:.10g} to 0; work on a copy"
    )


def test_random_output_fails_deterministic():
    message = failing(toys.RandomStrategy())["strategy.deterministic/v1"]
    assert message.startswith("strategy.deterministic/v1: two calls on the same input differ: AAPL on 2015-01-02 is ")


def test_readme_strategy_idiom_passes_every_strategy_check():
    assert failing(toys.ReadmeIdiomStrategy()) == {}


def test_no_empty_universe_check_remains_since_the_host_never_calls_with_zero_symbols():
    assert not [c.id for c in CHECKS if "empty_universe" in c.id and c.id.split(".")[0] in ("strategy", "sizer")]


def test_strategy_calibrated_on_its_first_250_sessions_fails_no_lookahead_at_an_early_cut():
    bars = sample_bars()
    message = failing(toys.FirstYearCalibratedStrategy())["strategy.no_lookahead/v2"]
    early = bars.index[cut_points(bars.index)[0]]
    assert early < bars.index[250]  # the cut that catches it lies inside the calibration window
    assert message.startswith("strategy.no_lookahead/v2: signal for ")
    assert f"with bars up to {early:%Y-%m-%d} but " in message


def test_cut_points_include_early_fractions_and_seeded_random_ones():
    index = sample_bars().index
    cuts = cut_points(index)
    n = len(index)
    assert {int(n * 0.1), int(n * 0.25), int(n * 0.55)} <= set(cuts)
    assert len(cuts) == 9  # six fixed fractions, three random
    assert cut_points(index) == cuts  # seeded: the same panel always gets the same cuts


def test_back_filled_warm_up_fails_warmup_not_backfilled_naming_symbol_and_date():
    message = failing(toys.BackfilledWarmupStrategy())["strategy.warmup_not_backfilled/v1"]
    assert re.match(
        r"strategy\.warmup_not_backfilled/v1: signal for [A-Z]+ on 2015-01-0\d depends on later bars: it is "
        r"\S+ with bars up to 2015-01-0\d but \S+ with bars up to 2016-12-30 \(cut 1\)",
        message,
    ), message


def test_nan_after_warm_up_on_a_complete_symbol_fails_naming_the_date():
    day = sample_bars().index[300]
    assert failing(toys.GappyStrategy())["strategy.nan_only_in_warmup/v1"] == (
        f"strategy.nan_only_in_warmup/v1: signal for AAPL is NaN on {day:%Y-%m-%d} although its bars "
        f"are complete on every session and earlier dates have values; NaN is allowed only during warm-up"
    )


def test_conforming_long_only_sizer_passes_every_sizer_check():
    assert failing(toys.LongOnlySizer()) == {}


def test_undeclared_short_weights_fail_long_only():
    signals = sample_signals(sample_bars())
    weights = toys.SignedSizer(declare=False).size_position(signals, sample_bars(), {})
    first_day = weights.index[(weights < 0).any(axis=1)][0]
    symbol = weights.columns[(weights.loc[first_day] < 0).to_numpy()][0]
    assert failing(toys.SignedSizer(declare=False))["sizer.long_only/v1"] == (
        f"sizer.long_only/v1: weight for {symbol} on {first_day:%Y-%m-%d} is "
        f"{weights.at[first_day, symbol]:.10g} (short) but the plugin does not declare "
        f"supports_short=True in capabilities(); return 0 for negative signals or declare it"
    )


def test_declared_short_sizer_skips_long_only_by_declaration():
    skipped = results(toys.SignedSizer(declare=True))["sizer.long_only/v1"]
    assert (skipped.status, skipped.message) == (
        "SKIP",
        "sizer.long_only/v1: does not apply: plugin 'SignedSizer' declares supports_short=True "
        "in capabilities(), the check needs supports_short=False",
    )


def test_declared_short_sizer_runs_short_follows_signal():
    assert results(toys.SignedSizer(declare=True))["sizer.short_follows_signal/v1"].status == "PASS"


def test_full_sample_volatility_sizer_fails_no_lookahead():
    assert failing(toys.FullSampleVolSizer())["sizer.no_lookahead/v2"].startswith(
        "sizer.no_lookahead/v2: weight for AAPL on "
    )


def test_author_skip_list_reports_skip_with_the_reason():
    skipped = results(toys.GoodStrategy(), skip={"strategy.single_symbol/v1": "needs a cross-section"})
    assert (skipped["strategy.single_symbol/v1"].status, skipped["strategy.single_symbol/v1"].message) == (
        "SKIP",
        "strategy.single_symbol/v1: skipped by the plugin's test: needs a cross-section",
    )


def test_params_are_validated_by_the_plugins_settings_model():
    with pytest.raises(Exception) as err:
        load_subject(PluginUnderTest("trend", params={"slow": 1}))
    assert str(err.value) == ("test params for 'trend': params.slow: Input should be greater than or equal to 2, got 1")


def test_unknown_plugin_name_names_installed_plugins_and_closest_match():
    installed = ", ".join(i.name for i in PluginHost.load().info())
    with pytest.raises(PluginError) as err:
        load_subject("trnd")
    assert str(err.value) == (
        f"conformance kit: no plugin named 'trnd' is installed (did you mean 'trend'?). "
        f"Installed plugins: {installed}. Install the package that provides it "
        f"(pip install -e .) or fix the name."
    )


def test_get_check_rejects_unknown_id():
    with pytest.raises(KeyError, match=r"unknown check id 'strategy.nope/v1'"):
        get_check("strategy.nope/v1")


def test_sample_panel_keeps_the_real_defects():
    bars = sample_bars()
    close = bars["close"]
    assert list(close.columns) == ["AAPL", "DHR", "FTV", "JPM", "SPY", "XOM"]
    assert close["DHR"].isna().sum() == 11
    assert close["FTV"].first_valid_index() == pd.Timestamp("2016-07-01")
    assert pd.isna(bars.at[pd.Timestamp("2015-07-17"), ("open", "DHR")])


def test_sample_signals_are_causal_and_take_every_sign():
    bars = sample_bars()
    full = sample_signals(bars)
    part = sample_signals(bars.iloc[:400])
    assert full.iloc[:400].equals(part)
    assert {(full > 0).any().any(), (full < 0).any().any(), (full == 0).any().any()} == {True}


def test_misspelt_capability_tag_fails_naming_the_closest_known_tag():
    from regimeflex.testing import KNOWN_CAPABILITIES

    assert failing(toys.MisspeltCapabilities()) == {
        "strategy.known_capabilities/v1": (
            "strategy.known_capabilities/v1: capabilities() declares unknown tag(s) 'support_short' (did you "
            "mean 'supports_short'?); a misspelt tag silently changes which checks run. Known tags: "
            + ", ".join(KNOWN_CAPABILITIES)
        )
    }
