"""Honest backtests: the lookahead guard, symbols whose data ends, a benchmark that does not cover the
period, the rules stated, the default output folder. Real SPY/GLD/TLT 2019 bars (tests/data/backtest)."""

from __future__ import annotations

import io
import json
import re
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest

from regimeflex.backtest import run
from regimeflex.backtest.lookahead import LookaheadError, guard_cuts
from regimeflex.config import load_settings
from regimeflex.errors import DataError

PERIOD = "backtest:\n  start: 2019-06-03\n  end: 2019-12-31\n  warmup_sessions: 60\n"
LEAKY = "strategies:\n  peek:\n    plugin: leaky\n    budget: 1.0\n"
README_IDIOM = "strategies:\n  idiom:\n    plugin: readme_idiom\n    budget: 1.0\n    params: {window: 20}\n"


@pytest.fixture
def test_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed plugins plus the test strategies of tests/backtest/leaky.py, as entry points."""
    real = list(metadata.entry_points(group="regimeflex"))
    extra = [
        metadata.EntryPoint("leaky", "tests.backtest.leaky:PEEKING", "regimeflex"),
        metadata.EntryPoint("readme_idiom", "tests.backtest.leaky:README", "regimeflex"),
        metadata.EntryPoint("boom", "tests.backtest.leaky:BOOM", "regimeflex"),
    ]
    original = metadata.entry_points

    def entry_points(group=None, **kwargs):
        if group == "regimeflex":
            return [*real, *extra]
        return original(group=group, **kwargs) if group else original(**kwargs)

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)


def _truncate(config, symbol: str, *, after: str | None = None, before: str | None = None) -> None:
    """Cut a symbol's CSV file: keep rows up to ``after`` and/or from ``before``."""
    path = config.parent / "data" / "csv" / f"{symbol}.csv"
    frame = pd.read_csv(path, parse_dates=["Date"])
    if after:
        frame = frame[frame["Date"] <= pd.Timestamp(after)]
    if before:
        frame = frame[frame["Date"] >= pd.Timestamp(before)]
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")


# ------------------------------------------------------------------ lookahead guard


def test_lookahead_strategy_stops_backtest_naming_check_symbol_and_date(run_cli, make_project, test_plugins, tmp_path):
    config = make_project(run_extra=PERIOD, strategies=LEAKY)
    code, out, err = run_cli("--config", str(config), "backtest", "--out", str(tmp_path / "bt"))
    assert code == 1
    match = re.search(
        r"error: lookahead guard: strategy\.no_lookahead/v2 failed for strategy 'peek' \(plugin 'leaky'\): "
        r"signal for (SPY|GLD|TLT) on (\d{4}-\d\d-\d\d) depends on later bars",
        err,
    )
    assert match, err
    assert "--allow-lookahead" in err
    assert not (tmp_path / "bt").exists()  # nothing simulated, nothing written


def test_first_leaking_date_is_the_first_cut(make_project, test_plugins):
    from regimeflex.backtest.api import load_bars, period
    from regimeflex.plugins import PluginHost

    settings = load_settings(make_project(run_extra=PERIOD, strategies=LEAKY))
    bars = load_bars(settings, PluginHost.load(), *period(settings))
    first_cut = bars.index[guard_cuts(len(bars.index))[0]]
    with pytest.raises(LookaheadError) as err:
        run(settings)
    assert f"on {first_cut:%Y-%m-%d} depends on later bars" in str(err.value)
    assert f"with bars up to {first_cut:%Y-%m-%d} but" in str(err.value)


def test_strategy_calibrated_on_its_first_250_sessions_is_caught_on_24_years_of_spy():
    from types import SimpleNamespace

    from regimeflex.backtest.lookahead import guard
    from regimeflex.pipeline import TargetPanel
    from regimeflex.plugins import PluginHost
    from regimeflex.risk.budgets import combine_signals
    from regimeflex.types import make_bars

    raw = pd.read_csv(Path(__file__).parent.parent / "data" / "SPY-1993-2017.csv", parse_dates=["Date"])
    raw = raw.set_index("Date")
    bars = make_bars(
        {f: raw[[f.capitalize()]].set_axis(["SPY"], axis=1) for f in ("open", "high", "low", "close", "volume")}
    )
    calibrated = metadata.EntryPoint("calibrated", "tests.backtest.leaky:CALIBRATED", "regimeflex")
    host = PluginHost.load(entry_points=[*metadata.entry_points(group="regimeflex"), calibrated])
    signal = host.generate_signal("calibrated", bars=bars, params={})
    combined = combine_signals({"calib": signal}, {"calib": 1.0})
    weights = host.size_position("equal_weight", signals=combined, bars=bars, params={})
    panel = TargetPanel(signals={"calib": signal}, combined=combined, raw_weights=weights, weights=weights)
    strategy = SimpleNamespace(name="calibrated", settings={}, budget=1.0)
    selection = SimpleNamespace(strategies={"calib": strategy}, sizer=SimpleNamespace(name="equal_weight", settings={}))
    assert len(bars.index) > 6000  # 10 % of the panel lies far beyond the 250 calibration sessions
    with pytest.raises(LookaheadError) as err:
        guard(bars, panel, selection, host)  # type: ignore[arg-type]
    first_cut = bars.index[guard_cuts(len(bars.index))[0]]
    assert first_cut < bars.index[249]
    assert (
        "strategy.no_lookahead/v2 failed for strategy 'calib' (plugin 'calibrated'): signal for SPY on "
        f"{bars.index[1]:%Y-%m-%d} depends on later bars" in str(err.value)
    )
    assert f"with bars up to {first_cut:%Y-%m-%d} but" in str(err.value)


@pytest.mark.parametrize("sessions", [252, 2520, 6000])
def test_guard_cuts_are_early_seeded_and_cost_at_most_six_tenths_of_a_panel(sessions):
    cuts = guard_cuts(sessions)
    assert {int(sessions * 0.1), int(sessions * 0.25)} <= set(cuts)
    assert len(cuts) == 5  # two fixed, three seeded random ones
    assert sum(cuts) <= 0.6 * sessions  # the re-runs' total length: the guard's cost budget
    assert cuts[0] <= 200  # inside a first-year calibration window, however long the panel
    assert guard_cuts(sessions) == cuts


def test_allow_lookahead_runs_under_a_banner_on_summary_and_tear_sheet(run_cli, make_project, test_plugins, tmp_path):
    config = make_project(run_extra=PERIOD, strategies=LEAKY)
    out_dir = tmp_path / "bt"
    code, out, _ = run_cli("--config", str(config), "backtest", "--allow-lookahead", "--out", str(out_dir))
    assert code == 0
    assert out.startswith("LOOKAHEAD: run with --allow-lookahead")
    assert "strategy.no_lookahead/v2 failed for strategy 'peek'" in out
    html = (out_dir / "tearsheet.html").read_text(encoding="utf-8")
    assert 'class="banner danger"' in html and "LOOKAHEAD: run with --allow-lookahead" in html
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["lookahead"]["status"] == "allowed"
    assert summary["banner"].startswith("LOOKAHEAD")


def test_readme_idiom_strategy_passes_the_guard(make_project, test_plugins):
    result = run(load_settings(make_project(run_extra=PERIOD, strategies=README_IDIOM)))
    assert result.lookahead["status"] == "passed"
    assert result.lookahead["checked"] == ["strategy 'idiom'", "sizer 'equal_weight'"]
    assert len(result.lookahead["cuts"]) == 5
    assert len(result.trades) > 0


def test_builtin_strategy_passes_the_guard_and_the_summary_says_which_cuts(etf_project):
    result = run(load_settings(etf_project))
    assert result.lookahead["status"] == "passed" and result.lookahead["leaks"] == []


# ------------------------------------------------------------------ rules stated


def test_summary_and_tear_sheet_state_the_daily_rules_by_default(run_cli, etf_project, tmp_path):
    code, out, _ = run_cli("--config", str(etf_project), "backtest", "--out", str(tmp_path / "bt"))
    assert code == 0
    assert (
        "rules: daily run's rules: whole shares, market orders filled at the next open, no-churn threshold 0.005" in out
    )
    html = (tmp_path / "bt" / "tearsheet.html").read_text(encoding="utf-8")
    assert "<li>daily run&#39;s rules: whole shares, market orders filled at the next open" in html


def test_research_mode_says_its_fills_are_idealised(run_cli, make_project):
    config = make_project(run_extra=PERIOD + "  mode: research\n")
    code, out, _ = run_cli("--config", str(config), "backtest", "--json")
    info = json.loads(out[out.index("{") :])
    assert info["mode"] == "research"
    assert info["rules_text"].startswith("research rules (idealised): fractional shares, fill next_open")


def test_research_key_in_daily_mode_is_a_config_error_naming_it(run_cli, make_project):
    config = make_project(run_extra=PERIOD + "  costs: {slippage_bps: 5}\n")
    code, _, err = run_cli("--config", str(config), "backtest")
    assert code == 2
    assert "run.yaml: backtest: costs apply to mode: research only" in err


def test_daily_mode_trades_whole_shares(etf_project):
    result = run(load_settings(etf_project))
    assert (result.trades["qty"] == result.trades["qty"].round()).all()
    assert len(result.trades) > 0


# ------------------------------------------------------------------ default output


def test_backtest_without_out_writes_under_the_reports_folder_and_prints_the_path(run_cli, etf_project):
    code, out, _ = run_cli("--config", str(etf_project), "backtest")
    assert code == 0
    written = [line.removeprefix("wrote ") for line in out.splitlines() if line.startswith("wrote ")]
    reports = etf_project.parent / "reports" / "backtests"
    assert written and all(p.startswith(str(reports)) for p in written)
    stamps = {Path(p).relative_to(reports).parts[0] for p in written}
    assert len(stamps) == 1 and re.fullmatch(r"\d{8}T\d{6}Z", stamps.pop())
    assert any(p.endswith("tearsheet.html") for p in written)


# ------------------------------------------------------------------ symbols that end or start late


@pytest.mark.parametrize("mode", ["daily", "research"])
def test_symbol_whose_file_ends_mid_range_is_closed_on_its_last_bar_and_reported(make_project, mode):
    config = make_project(run_extra=PERIOD + f"  mode: {mode}\n")
    _truncate(config, "TLT", after="2019-08-30")
    result = run(load_settings(config))
    assert result.ended == {"TLT": "2019-08-30"}
    closing = result.trades[result.trades["event"] == "data ended"]
    assert list(closing["symbol"]) == ["TLT"] and list(closing["date"]) == [pd.Timestamp("2019-08-30")]
    assert closing["side"].iloc[0] == "sell"
    assert (result.positions.loc["2019-08-30":, "TLT"] == 0).all()
    assert result.positions.loc[:"2019-08-29", "TLT"].abs().sum() > 0  # it was held before: not vacuous
    assert any(n.startswith("TLT: data ends 2019-08-30; position closed on its last bar") for n in result.notes)


def test_ended_symbol_line_is_in_the_cli_summary(run_cli, make_project, tmp_path):
    config = make_project(run_extra=PERIOD)
    _truncate(config, "TLT", after="2019-08-30")
    code, out, _ = run_cli("--config", str(config), "backtest", "--out", str(tmp_path / "bt"))
    assert code == 0
    assert "note: TLT: data ends 2019-08-30; position closed on its last bar" in out
    trades = pd.read_csv(tmp_path / "bt" / "trades.csv")
    assert trades.loc[trades["event"] == "data ended", "symbol"].tolist() == ["TLT"]


@pytest.mark.parametrize("mode", ["daily", "research"])
def test_symbol_that_starts_late_enters_once_its_history_allows(make_project, mode):
    config = make_project(run_extra=PERIOD + f"  mode: {mode}\n")
    _truncate(config, "GLD", before="2019-07-01")
    result = run(load_settings(config))
    assert (result.positions.loc[:"2019-07-01", "GLD"] == 0).all()
    buys = result.trades[(result.trades["symbol"] == "GLD") & (result.trades["side"] == "buy")]
    assert len(buys) > 0 and buys["date"].min() > pd.Timestamp("2019-07-01")


# ------------------------------------------------------------------ benchmark coverage


def _benchmark_ends_early(make_project, extra: str = ""):
    config = make_project(run_extra=PERIOD + extra)
    (config / "run.yaml").write_text(
        (config / "run.yaml").read_text().replace("universe: [SPY, GLD, TLT]", "universe: [GLD, TLT]")
    )
    _truncate(config, "SPY", after="2019-11-29")
    return config


def test_benchmark_that_ends_early_is_a_pre_flight_error_naming_the_gap(run_cli, make_project):
    config = _benchmark_ends_early(make_project)
    code, _, err = run_cli("--config", str(config), "backtest")
    assert code == 1
    assert (
        "error: backtest pre-flight: SPY (run.yaml benchmark, risk.yaml regime.detect.benchmark) ends 2019-11-29, before the last session 2019-12-31"
        in err
    )
    assert "backtest.shorten_to_coverage: true" in err


def test_config_validate_refuses_a_benchmark_that_ends_before_the_backtest_period(run_cli, make_project):
    config = _benchmark_ends_early(make_project)
    code, _, err = run_cli("--config", str(config), "config", "validate")
    assert code == 2
    assert (
        "run.yaml backtest: backtest pre-flight: SPY (run.yaml benchmark, risk.yaml regime.detect.benchmark) "
        "ends 2019-11-29, before the last session 2019-12-31" in err
    )


def test_config_validate_states_the_backtest_period_its_benchmark_covers(run_cli, make_project):
    code, out, _ = run_cli("--config", str(make_project(run_extra=PERIOD)), "config", "validate", "--json")
    assert code == 0
    backtest = json.loads(out)["backtest"]
    assert backtest["status"] == "covered"
    assert (backtest["start"], backtest["end"]) == ("2019-06-03", "2019-12-31")


def test_config_validate_with_shorten_to_coverage_says_the_period_is_shortened(run_cli, make_project):
    config = _benchmark_ends_early(make_project, "  shorten_to_coverage: true\n")
    code, out, _ = run_cli("--config", str(config), "config", "validate")
    assert code == 0
    assert "backtest period: 2019-06-03..2019-12-31: period shortened to 2019-06-03..2019-11-29" in out


def test_benchmark_gap_can_shorten_the_period_when_asked(make_project):
    config = _benchmark_ends_early(make_project, "  shorten_to_coverage: true\n")
    result = run(load_settings(config))
    assert result.equity.index[-1] == pd.Timestamp("2019-11-29")
    assert result.notes[0].startswith("period shortened to 2019-06-03..2019-11-29 (backtest.shorten_to_coverage)")
    assert result.equity["benchmark"].notna().all()


def test_missing_benchmark_file_is_a_pre_flight_error(make_project):
    config = _benchmark_ends_early(make_project)
    (config.parent / "data" / "csv" / "SPY.csv").unlink()
    with pytest.raises(
        DataError,
        match=r"SPY \(run\.yaml benchmark, risk\.yaml regime\.detect\.benchmark\) has no bars between 2019-06-03 and 2019-12-31",
    ):
        run(load_settings(config))


# ------------------------------------------------------------------ per-strategy attribution

TWO_STRATEGIES = (
    "strategies:\n  trend:\n    plugin: trend\n    budget: 0.6\n    params: {rule: crossover, fast: 10, slow: 40}\n"
    "  mr:\n    plugin: mean_reversion\n    budget: 0.4\n"
)


@pytest.fixture(scope="module", params=["daily", "research"])
def two_sleeves(make_shared_project, request):
    config = make_shared_project(run_extra=PERIOD + f"  mode: {request.param}\n", strategies=TWO_STRATEGIES)
    return run(load_settings(config))


def test_every_fill_carries_the_strategy_sleeve_that_produced_it(two_sleeves):
    tags = two_sleeves.trades["strategy"]
    assert set(tags) == {"trend", "mr"}  # both sleeves trade in this period, none is left untagged
    if two_sleeves.orders is not None:
        assert set(two_sleeves.orders["strategy"]) == {"trend", "mr"}


def test_strategy_contributions_add_up_to_the_backtests_pnl(two_sleeves):
    pnl = two_sleeves.final_equity - float(two_sleeves.equity["equity"].iloc[0])
    total = sum(row["contribution"] for row in two_sleeves.attribution.values())
    assert total == pytest.approx(pnl, abs=1e-3)
    assert set(two_sleeves.attribution) == {"trend", "mr"}
    for row in two_sleeves.attribution.values():
        assert {"contribution", "contribution_pct", "exposure", "sharpe", "max_drawdown", "fills"} <= set(row)
    assert two_sleeves.attribution["trend"]["exposure"] > two_sleeves.attribution["mr"]["exposure"] > 0


def test_json_and_tear_sheet_report_each_strategy(run_cli, make_project, tmp_path):
    config = make_project(run_extra=PERIOD, strategies=TWO_STRATEGIES)
    code, out, _ = run_cli("--config", str(config), "backtest", "--json", "--out", str(tmp_path / "bt"))
    assert code == 0
    info = json.loads(out)
    assert set(info["attribution"]) == {"trend", "mr"}
    html = (tmp_path / "bt" / "tearsheet.html").read_text(encoding="utf-8")
    assert "Attribution by strategy sleeve" in html
    assert 'data-sleeve="trend"' in html and 'data-sleeve="mr"' in html
    sleeves = pd.read_parquet(tmp_path / "bt" / "attribution.parquet")
    assert list(sleeves.columns) == ["trend", "mr"]
    assert float(sleeves.to_numpy().sum()) == pytest.approx(info["final_equity"] - 100_000.0, abs=1e-3)


def _exposure_cells(html: str) -> dict[str, str]:
    """Sleeve → its Exposure cell in the tear sheet's attribution table."""
    table = html[html.index('<table class="attribution">') :]
    table = table[: table.index("</table>")]
    header = re.findall(r"<th>(.*?)</th>", table)
    column = header.index("Exposure")
    return {
        sleeve: re.findall(r"<td[^>]*>(.*?)</td>", row)[column]
        for sleeve, row in re.findall(r'<tr data-sleeve="([^"]+)">(.*?)</tr>', table)
    }


def test_tear_sheet_attribution_table_shows_each_strategys_exposure(run_cli, make_project, tmp_path):
    config = make_project(run_extra=PERIOD, strategies=TWO_STRATEGIES)
    out_dir = tmp_path / "bt"
    code, out, _ = run_cli("--config", str(config), "backtest", "--json", "--out", str(out_dir))
    assert code == 0
    expected = {name: f"{row['exposure'] * 100:.1f}%" for name, row in json.loads(out)["attribution"].items()}
    assert set(expected) == {"trend", "mr"} and all(v != "0.0%" for v in expected.values())
    assert _exposure_cells((out_dir / "tearsheet.html").read_text(encoding="utf-8")) == expected
    again = tmp_path / "again.html"  # re-rendered from the folder (summary.json)
    code, _, _ = run_cli("--config", str(config), "report", "tearsheet", str(out_dir), "--out", str(again))
    assert code == 0
    assert _exposure_cells(again.read_text(encoding="utf-8")) == expected


# ------------------------------------------------------------------ debuggable plugin errors

BOOM = "strategies:\n  b:\n    plugin: boom\n    budget: 1.0\n"
MESSAGE = (
    "plugin 'boom' (not from a distribution) raised in generate_signal: ZeroDivisionError: boom inside the strategy"
)


@pytest.mark.parametrize("command", [["backtest"], ["run", "--as-of", "2019-12-02"]])
def test_plugin_error_is_printed_once_without_a_traceback(run_cli, make_project, test_plugins, monkeypatch, command):
    monkeypatch.delenv("REGIMEFLEX_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    config = make_project(run_extra="history_sessions: 100\n" + PERIOD, strategies=BOOM)
    code, out, err = run_cli("--config", str(config), *command)
    assert code == 1
    assert (out + err).count(MESSAGE) == 1, out + err
    assert "Traceback" not in out + err


@pytest.mark.parametrize("command", [["backtest"], ["run", "--as-of", "2019-12-02"]])
def test_debug_prints_the_plugins_own_traceback(run_cli, make_project, test_plugins, monkeypatch, command):
    monkeypatch.setenv("REGIMEFLEX_DEBUG", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    config = make_project(run_extra="history_sessions: 100\n" + PERIOD, strategies=BOOM)
    code, out, err = run_cli("--config", str(config), *command)
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert 'leaky.py", line' in err and "in explode" in err  # the frame inside the plugin
    assert (out + err).count(f"PluginCallError: {MESSAGE}") == 1


# ------------------------------------------------------------------ progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal(monkeypatch):
    from regimeflex.cli.common import progress_bar

    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    with progress_bar("backtest") as update:
        assert update is not None
        for i in range(1, 11):
            update(i, 10)
    assert "backtest" in term.getvalue() and "100%" in term.getvalue()


def test_progress_bar_is_silent_when_piped(monkeypatch):
    from regimeflex.cli.common import progress_bar

    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    with progress_bar("backtest") as update:
        assert update is None
    assert piped.getvalue() == ""


def test_backtest_reports_each_simulated_session_for_the_progress_bar(etf_project):
    seen: list[tuple[int, int]] = []
    result = run(load_settings(etf_project), on_session=lambda done, total: seen.append((done, total)))
    n = len(result.equity)
    assert seen == [(i, n) for i in range(1, n + 1)]


def test_research_mode_reports_each_session_of_its_date_loop_for_the_progress_bar(make_project):
    config = make_project(run_extra=PERIOD + "  mode: research\n  costs: {commission_bps: 1.0}\n")
    seen: list[tuple[int, int]] = []
    result = run(load_settings(config), on_session=lambda done, total: seen.append((done, total)))
    n = len(result.equity)
    assert seen == [(i, n) for i in range(1, n + 1)]


def test_research_mode_without_costs_or_breakers_reports_its_loop_free_book_once_complete(make_project):
    config = make_project(run_extra=PERIOD + "  mode: research\n  breakers: false\n")
    seen: list[tuple[int, int]] = []
    result = run(load_settings(config), on_session=lambda done, total: seen.append((done, total)))
    assert seen == [(len(result.equity), len(result.equity))]
