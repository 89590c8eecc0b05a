"""``regimeflex risk status`` and ``regimeflex risk reset NAME``."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from regimeflex.config import load_settings
from regimeflex.risk.breakers import BreakerInputs, BreakerState, check_circuit_breakers
from regimeflex.risk.state import RiskState, load_risk_state, risk_state_path, save_risk_state


@pytest.fixture
def tripped(project):
    """The demo project with the drawdown breaker tripped on 2024-03-04 and the regime recorded."""
    settings = load_settings(project)
    decision = check_circuit_breakers(
        BreakerInputs(session=dt.date(2024, 3, 4), equity=70_000),
        settings.risk.circuit_breakers,
        BreakerState(peak_equity=100_000),
    )
    path = risk_state_path(settings)
    save_risk_state(path, RiskState(breakers=decision.state, regime="bear", regime_session=dt.date(2024, 3, 4)))
    return project, path


def test_status_json_shows_regime_tripped_breaker_and_upcoming_events(run_cli, tripped):
    project, _ = tripped
    code, out, _ = run_cli("--config", str(project), "risk", "status", "--json", "--as-of", "2024-03-11")
    data = json.loads(out)
    assert code == 0
    assert data["regime"] == {"label": "bear", "session": "2024-03-04"}
    drawdown = next(b for b in data["breakers"] if b["name"] == "max_drawdown")
    assert drawdown["tripped"] and drawdown["since"] == "2024-03-04" and drawdown["value"] == pytest.approx(0.3)
    assert [(e["date"], e["kind"], e["rule"]) for e in data["calendar"]["upcoming"]] == [
        ("2024-03-15", "opex", "allow"),
        ("2024-03-20", "fomc", "skip_entries"),
    ]


def test_status_text_marks_the_tripped_breaker_and_todays_guard(run_cli, tripped):
    project, _ = tripped
    code, out, _ = run_cli("--config", str(project), "risk", "status", "--as-of", "2024-03-20")
    assert code == 0
    assert "regime: bear (as of 2024-03-04)" in out
    assert "max_drawdown         TRIPPED since 2024-03-04 at 0.3" in out
    assert "today 2024-03-20: entries skipped (fomc: skip_entries)" in out


def test_status_without_a_state_file_says_no_run_yet(run_cli, project):
    code, out, _ = run_cli("--config", str(project), "risk", "status", "--as-of", "2024-12-25")
    assert code == 0
    assert "regime: unknown (no run recorded yet)" in out
    assert "today 2024-12-25: not a trading session" in out


def test_reset_clears_the_breaker_and_saves_the_state(run_cli, tripped):
    project, path = tripped
    code, out, _ = run_cli("--config", str(project), "risk", "reset", "max_drawdown")
    assert code == 0
    assert out.strip() == f"circuit breaker max_drawdown reset; state saved to {path}"
    state = load_risk_state(path)
    assert state.breakers.tripped == {}
    assert state.breakers.peak_equity == 70_000


def test_reset_of_a_breaker_that_is_not_tripped_exits_1_naming_it(run_cli, project):
    code, _, err = run_cli("--config", str(project), "risk", "reset", "vix")
    assert code == 1
    assert err.strip() == "error: risk reset: circuit breaker 'vix' is not tripped (tripped: none); nothing to do"


def test_reset_of_an_unknown_breaker_is_a_usage_error(run_cli, project):
    code, _, err = run_cli("--config", str(project), "risk", "reset", "max_drawdwn")
    assert code == 2
    assert "'max_drawdwn' is not one of" in err


def test_status_shows_the_fomc_tables_last_date_and_coverage(run_cli, project):
    code, out, _ = run_cli("--config", str(project), "risk", "status", "--as-of", "2027-10-15")
    assert code == 0
    assert "FOMC table: the shipped FOMC table" in out
    assert "1994-01-01..2027-12-31 (last date 2027-12-08); ends in 77 days" in out
    code, out, _ = run_cli("--config", str(project), "risk", "status", "--json", "--as-of", "2027-10-15")
    table = json.loads(out)["calendar"]["fomc_table"]
    assert (table["last_date"], table["covers_to"], table["days_left"]) == ("2027-12-08", "2027-12-31", 77)


def test_status_past_the_fomc_table_says_today_is_unknown(run_cli, project):
    code, out, _ = run_cli("--config", str(project), "risk", "status", "--as-of", "2028-03-15")
    assert code == 0
    assert "today 2028-03-15: entries allowed, FOMC unknown" in out
    assert "(last date 2027-12-08); ENDED 75 days ago: the FOMC state is unknown" in out


def test_status_shows_a_breaker_without_data_at_the_last_run_as_no_data(run_cli, project):
    settings = load_settings(project)
    decision = check_circuit_breakers(
        BreakerInputs(session=dt.date(2024, 3, 4), equity=100_000), settings.risk.circuit_breakers
    )
    save_risk_state(risk_state_path(settings), RiskState(breakers=decision.state))
    code, out, _ = run_cli("--config", str(project), "risk", "status", "--as-of", "2024-03-05")
    assert code == 0
    assert "vix                  no data at the last run" in out
    assert "max_drawdown         ok" in out
    data = json.loads(run_cli("--config", str(project), "risk", "status", "--json", "--as-of", "2024-03-05")[1])
    assert {b["name"]: b["state"] for b in data["breakers"]}["vix"] == "no data"


def test_status_before_any_run_says_the_breakers_are_not_evaluated_yet(run_cli, project):
    code, out, _ = run_cli("--config", str(project), "risk", "status", "--as-of", "2024-03-05")
    assert code == 0 and "vix                  not evaluated yet" in out
