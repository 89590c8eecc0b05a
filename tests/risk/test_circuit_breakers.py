"""Circuit breakers: trip at the threshold (not below), act, reset by their rule, survive a restart."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from regimeflex.config.risk import CircuitBreakerSettings
from regimeflex.risk.breakers import (
    BreakerInputs,
    BreakerState,
    apply_breaker_action,
    check_circuit_breakers,
    reset_breaker,
)
from regimeflex.risk.state import RiskState, RiskStateError, load_risk_state, save_risk_state
from regimeflex.types import Level

DAY = dt.date(2024, 3, 4)
NEXT = dt.date(2024, 3, 5)


def only(name: str, **spec) -> CircuitBreakerSettings:
    """Settings with only breaker ``name`` switched on."""
    off = {n: None for n in CircuitBreakerSettings.model_fields}
    return CircuitBreakerSettings(**{**off, name: spec})


# breaker → (threshold, inputs whose measured value is exactly x)
CASES = {
    "max_drawdown": (0.2, lambda x: BreakerInputs(session=DAY, equity=100_000 * (1 - x))),
    "daily_loss": (0.03, lambda x: BreakerInputs(session=DAY, equity=100_000 * (1 - x), previous_close_equity=100_000)),
    "vix": (40.0, lambda x: BreakerInputs(session=DAY, vix=x)),
    "stale_data": (3, lambda x: BreakerInputs(session=DAY, stale_sessions=int(x))),
    "rejected_orders": (5, lambda x: BreakerInputs(session=DAY, rejected_orders=int(x))),
    "max_orders_per_day": (50, lambda x: BreakerInputs(session=DAY, orders_today=int(x))),
    "concentration": (0.4, lambda x: BreakerInputs(session=DAY, weights={"SPY": -x, "QQQ": 0.1})),
}
PEAK = BreakerState(peak_equity=100_000)


def below(threshold: float) -> float:
    return threshold - 1 if threshold >= 1 else threshold - 1e-6


@pytest.mark.parametrize("name", CASES)
def test_breaker_trips_at_its_threshold(name):
    threshold, inputs = CASES[name]
    decision = check_circuit_breakers(inputs(threshold), only(name, threshold=threshold), PEAK)
    assert decision.tripped == (name,)


@pytest.mark.parametrize("name", CASES)
def test_breaker_does_not_trip_just_below_its_threshold(name):
    threshold, inputs = CASES[name]
    decision = check_circuit_breakers(inputs(below(threshold)), only(name, threshold=threshold), PEAK)
    assert decision.tripped == ()
    assert decision.events == ()


@pytest.mark.parametrize("name", CASES)
def test_trip_emits_one_risk_event_with_the_numbers(name):
    threshold, inputs = CASES[name]
    decision = check_circuit_breakers(inputs(threshold), only(name, threshold=threshold), PEAK)
    (event,) = decision.events
    assert event.level is Level.RISK
    assert event.data["breaker"] == name
    assert event.data["value"] == pytest.approx(threshold)
    assert event.data["threshold"] == threshold
    assert f">= {threshold:.4g}" in event.title


def test_drawdown_is_measured_from_the_remembered_peak():
    settings = only("max_drawdown", threshold=0.1)
    first = check_circuit_breakers(BreakerInputs(session=DAY, equity=120_000), settings)
    second = check_circuit_breakers(BreakerInputs(session=NEXT, equity=108_000), settings, first.state)
    assert first.state.peak_equity == 120_000
    assert second.tripped == ("max_drawdown",)


TARGETS = pd.Series({"SPY": 0.5, "QQQ": 0.3, "IWM": 0.2, "TLT": -0.1})
CURRENT = pd.Series({"SPY": 0.4, "QQQ": 0.3, "TLT": 0.1})


def tripped_with(action: str):
    return check_circuit_breakers(BreakerInputs(session=DAY, vix=50), only("vix", threshold=40, action=action))


def test_flatten_action_sets_every_target_to_zero():
    out = apply_breaker_action(TARGETS, CURRENT, tripped_with("flatten"))
    assert out.eq(0).all()


def test_reduce_action_scales_targets():
    out = apply_breaker_action(TARGETS, CURRENT, tripped_with("reduce:0.5"))
    pd.testing.assert_series_equal(out, TARGETS * 0.5)


def test_block_entries_allows_exits_and_cuts_but_no_new_larger_or_flipped_positions():
    out = apply_breaker_action(TARGETS, CURRENT, tripped_with("block_entries"))
    assert out.to_dict() == {"SPY": 0.4, "QQQ": 0.3, "IWM": 0.0, "TLT": 0.0}


def test_no_tripped_breaker_leaves_targets_unchanged():
    decision = check_circuit_breakers(BreakerInputs(session=DAY, vix=10), only("vix", threshold=40))
    pd.testing.assert_series_equal(apply_breaker_action(TARGETS, CURRENT, decision), TARGETS)


def test_next_session_reset_clears_on_a_later_session_only():
    settings = only("rejected_orders", threshold=5, reset="next_session")
    tripped = check_circuit_breakers(BreakerInputs(session=DAY, rejected_orders=5), settings)
    same_day = check_circuit_breakers(BreakerInputs(session=DAY, rejected_orders=0), settings, tripped.state)
    next_day = check_circuit_breakers(BreakerInputs(session=NEXT, rejected_orders=0), settings, same_day.state)
    assert same_day.tripped == ("rejected_orders",)
    assert next_day.tripped == ()
    assert next_day.events[0].kind == "risk.breaker_reset"


def test_recovery_reset_clears_once_below_recover_below():
    settings = only("vix", threshold=40, reset="recovery", recover_below=30)
    tripped = check_circuit_breakers(BreakerInputs(session=DAY, vix=41), settings)
    still = check_circuit_breakers(BreakerInputs(session=NEXT, vix=35), settings, tripped.state)
    clear = check_circuit_breakers(BreakerInputs(session=NEXT, vix=29), settings, still.state)
    assert still.tripped == ("vix",)
    assert clear.tripped == ()


def test_manual_reset_stays_tripped_until_reset_breaker():
    settings = only("max_drawdown", threshold=0.2, reset="manual")
    tripped = check_circuit_breakers(BreakerInputs(session=DAY, equity=75_000), settings, PEAK)
    later = check_circuit_breakers(BreakerInputs(session=NEXT, equity=99_000), settings, tripped.state)
    assert later.tripped == ("max_drawdown",)
    cleared, event = reset_breaker(later.state, "max_drawdown")
    after = check_circuit_breakers(BreakerInputs(session=NEXT, equity=99_000), settings, cleared)
    assert after.tripped == ()
    assert event.data["why"] == "manual"


def test_manual_reset_of_drawdown_rebases_the_peak():
    settings = only("max_drawdown", threshold=0.2, reset="manual")
    tripped = check_circuit_breakers(BreakerInputs(session=DAY, equity=70_000), settings, PEAK)
    cleared, _ = reset_breaker(tripped.state, "max_drawdown")
    assert cleared.peak_equity == 70_000


def test_resetting_a_breaker_that_is_not_tripped_names_what_is():
    with pytest.raises(KeyError, match=r"circuit breaker 'vix' is not tripped \(tripped: none\)"):
        reset_breaker(BreakerState(), "vix")


def test_tripped_breaker_survives_a_restart_through_the_state_file(tmp_path):
    settings = only("max_drawdown", threshold=0.2, action="flatten", reset="manual")
    path = tmp_path / "state" / "risk_state.json"
    first = check_circuit_breakers(BreakerInputs(session=DAY, equity=70_000), settings, PEAK)
    save_risk_state(path, RiskState(breakers=first.state))
    restarted = load_risk_state(path).breakers
    again = check_circuit_breakers(BreakerInputs(session=NEXT, equity=99_000), settings, restarted)
    assert restarted == first.state
    assert again.tripped == ("max_drawdown",) and again.flatten
    assert again.events == ()  # still tripped, not tripped anew


def test_state_file_is_written_without_leftover_temp_files(tmp_path):
    save_risk_state(tmp_path / "risk_state.json", RiskState(breakers=PEAK))
    assert [p.name for p in tmp_path.iterdir()] == ["risk_state.json"]
    assert json.loads((tmp_path / "risk_state.json").read_text())["version"] == 1


def test_missing_state_file_is_an_empty_state(tmp_path):
    assert load_risk_state(tmp_path / "absent.json") == RiskState()


def test_corrupt_state_file_is_an_error_naming_the_file_and_the_fix(tmp_path):
    path = tmp_path / "risk_state.json"
    path.write_text("{not json")
    with pytest.raises(RiskStateError) as err:
        load_risk_state(path)
    assert str(err.value).startswith(f"{path}: risk state is unreadable (")
    assert str(err.value).endswith("); restore it from a backup, or delete it to clear every tripped circuit breaker")


def test_two_reduce_breakers_multiply_and_flatten_wins():
    settings = CircuitBreakerSettings(
        vix={"threshold": 40, "action": "reduce:0.5"},
        concentration={"threshold": 0.3, "action": "reduce:0.5"},
        stale_data=None,
        max_drawdown=None,
        daily_loss=None,
    )
    both = check_circuit_breakers(BreakerInputs(session=DAY, vix=45, weights={"A": 0.35}), settings)
    assert both.scale == 0.25 and not both.flatten
    settings = CircuitBreakerSettings(vix={"threshold": 40, "action": "flatten"})
    assert check_circuit_breakers(BreakerInputs(session=DAY, vix=45), settings).scale == 0.0


def test_missing_input_skips_its_breaker():
    decision = check_circuit_breakers(BreakerInputs(session=DAY), CircuitBreakerSettings())
    assert decision.tripped == ()


@pytest.mark.parametrize("name", CASES)
def test_a_breaker_without_its_input_is_no_data_never_ok(name):
    decision = check_circuit_breakers(BreakerInputs(session=DAY), only(name, threshold=CASES[name][0]), PEAK)
    assert decision.status(name) == "no data"
    assert decision.no_data == (name,) and decision.state.no_data == (name,)


@pytest.mark.parametrize("name", CASES)
def test_a_measured_breaker_below_its_threshold_is_ok(name):
    threshold, inputs = CASES[name]
    decision = check_circuit_breakers(inputs(below(threshold)), only(name, threshold=threshold), PEAK)
    assert decision.status(name) == "ok" and decision.values[name] is not None


def test_a_nan_vix_close_is_no_data_not_a_reading_below_the_threshold():
    decision = check_circuit_breakers(BreakerInputs(session=DAY, vix=float("nan")), only("vix", threshold=40))
    assert decision.status("vix") == "no data"


def test_a_flat_book_measures_concentration_zero():
    decision = check_circuit_breakers(BreakerInputs(session=DAY, weights={}), only("concentration", threshold=0.4))
    assert decision.status("concentration") == "ok" and decision.values["concentration"] == 0.0


def test_no_data_breakers_survive_a_restart_through_the_state_file(tmp_path):
    decision = check_circuit_breakers(BreakerInputs(session=DAY), only("vix", threshold=40))
    save_risk_state(tmp_path / "s.json", RiskState(breakers=decision.state))
    assert load_risk_state(tmp_path / "s.json").breakers.no_data == ("vix",)


def test_state_file_of_another_version_is_refused(tmp_path):
    path = tmp_path / "risk_state.json"
    path.write_text(json.dumps({"version": 2, "breakers": {}}))
    with pytest.raises(RiskStateError) as err:
        load_risk_state(path)
    assert str(err.value) == (
        f"{path}: risk state is unreadable (unsupported version 2); restore it from a "
        f"backup, or delete it to clear every tripped circuit breaker"
    )


def test_measuring_an_unknown_breaker_names_the_known_ones():
    from regimeflex.risk.breakers import measure

    with pytest.raises(KeyError, match=r"unknown circuit breaker 'halt'; known: max_drawdown, daily_loss"):
        measure("halt", BreakerInputs(session=DAY), None)
