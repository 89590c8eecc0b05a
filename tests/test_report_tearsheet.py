"""The tear sheet of a real 100-symbol backtest: every section, every figure against empyrical-reloaded
or an independent computation (1e-9), fills reduced to what a reader scans."""

from __future__ import annotations

import math
import re
from html import unescape

import empyrical
import numpy as np
import pandas as pd
import pytest
from report_inputs import real_backtest, real_tearsheet_data, spy_2013_2017, tearsheet_data

from regimeflex.report import metrics
from regimeflex.report import trades as trade_tables
from regimeflex.report.tearsheet import (
    METRIC_LABELS,
    TearSheetData,
    computed_metrics,
    render_tearsheet,
    top_contributors,
)

TOL = 1e-9


@pytest.fixture(scope="module")
def data() -> TearSheetData:
    return real_tearsheet_data()


@pytest.fixture(scope="module")
def html(data: TearSheetData) -> str:
    return render_tearsheet(data)


@pytest.fixture(scope="module")
def figures(data: TearSheetData) -> tuple[dict[str, float], dict[str, float]]:
    trades = data.trades
    final = {s: float(w) * float(data.equity.iloc[-1]) for s, w in data.weights.iloc[-1].items() if w}
    held = trade_tables.signed_fills(trades).groupby("symbol")["dq"].sum()
    prices = {s: v / held[s] for s, v in final.items()}
    trips = trade_tables.round_trips(trades, pd.DatetimeIndex(data.equity.index), prices)
    return computed_metrics(data, trips.loc[~trips["open"], "pnl"])


def returns_of(data: TearSheetData) -> tuple[pd.Series, pd.Series]:
    r = data.equity.pct_change().iloc[1:]
    spy = spy_2013_2017().reindex(data.equity.index).dropna()
    return r, spy.pct_change().iloc[1:]


def test_every_metric_matches_empyrical_or_a_hand_computation(
    data: TearSheetData, figures: tuple[dict[str, float], dict[str, float]]
) -> None:
    ours, _ = figures
    r, b = returns_of(data)
    rr, bb = r.reindex(b.index), b  # empyrical on the sessions both cover
    monthly = empyrical.aggregate_returns(r, "monthly")
    yearly = empyrical.aggregate_returns(r, "yearly")
    gross = data.weights.abs().sum(axis=1)
    expected = {
        "total_return": data.equity.iloc[-1] / data.equity.iloc[0] - 1,
        "cagr": empyrical.annual_return(r),
        "volatility": empyrical.annual_volatility(r),
        "sharpe": empyrical.sharpe_ratio(r),
        "sortino": empyrical.sortino_ratio(r),
        "max_drawdown": empyrical.max_drawdown(r),
        "calmar": empyrical.calmar_ratio(r),
        "var_95": empyrical.value_at_risk(r),
        "cvar_95": empyrical.conditional_value_at_risk(r),
        "skew": r.skew(),
        "kurtosis": r.kurt(),
        "best_day": r.max(),
        "worst_day": r.min(),
        "best_month": monthly.max(),
        "worst_month": monthly.min(),
        "best_year": yearly.max(),
        "worst_year": yearly.min(),
        "positive_months": (monthly > 0).mean(),
        "alpha": empyrical.alpha(rr, bb),
        "beta": empyrical.beta(rr, bb),
        "correlation": rr.corr(bb),
        "information_ratio": empyrical.excess_sharpe(rr.to_numpy(), bb.to_numpy()) * math.sqrt(252),
        "tracking_error": (rr - bb).std() * math.sqrt(252),
        "up_capture": empyrical.up_capture(rr, bb),
        "down_capture": empyrical.down_capture(rr, bb),
        "time_in_market": (gross > 1e-12).mean(),
        "gross_exposure": gross.mean(),
        "turnover": (data.weights.diff().fillna(data.weights).abs().sum(axis=1) / 2).mean() * 252,
    }
    assert set(expected) | {"hit_rate"} == set(METRIC_LABELS)
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, rel=TOL, abs=TOL), key


def test_benchmark_column_matches_empyrical_on_its_own_sessions(
    data: TearSheetData, figures: tuple[dict[str, float], dict[str, float]]
) -> None:
    _, theirs = figures
    _, b = returns_of(data)
    assert theirs["sharpe"] == pytest.approx(empyrical.sharpe_ratio(b), rel=TOL, abs=TOL)
    assert theirs["cagr"] == pytest.approx(empyrical.annual_return(b), rel=TOL, abs=TOL)
    assert theirs["max_drawdown"] == pytest.approx(empyrical.max_drawdown(b), rel=TOL, abs=TOL)
    assert math.isnan(theirs["beta"]) and math.isnan(theirs["turnover"])


def test_page_shows_each_metric_as_computed(html: str, figures: tuple[dict[str, float], dict[str, float]]) -> None:
    ours, _ = figures
    for key in METRIC_LABELS:
        cell = re.search(rf'data-metric="{key}">([^<]*)<', html)
        assert cell, key
        value = ours[key]
        pct = f"{value * 100:.2f}%"
        assert cell.group(1) in (pct, f"{value:.2f}"), key


def test_benchmark_ending_early_is_stated_not_carried_forward(html: str) -> None:
    assert "SPY covers 2013-05-07 → 2017-01-03 of the 2013-05-07 → 2018-02-07 backtest" in unescape(html)
    # 2018 has no SPY data: its yearly cell says so instead of a flat 0%
    row = re.search(r'<tr data-year="2018">.*?</tr>', html, re.S).group(0)
    assert 'data-yearly="bench">–<' in row


def test_worst_five_drawdowns_are_tabled_and_shaded(data: TearSheetData, html: str) -> None:
    periods = metrics.drawdown_periods(data.equity, top=5)
    assert len(periods) == 5
    assert html.count('<tr data-drawdown="') == 5
    assert html.count('<rect class="span"') == 5
    for p in periods:
        assert f'data-start="{p.start:%Y-%m-%d}"' in html
    depths = [float(d) for d in re.findall(r'data-depth="([^"]+)"', html)]
    assert depths[0] == pytest.approx(empyrical.max_drawdown(data.equity.pct_change().iloc[1:]), abs=TOL)
    assert "not recovered" in html  # the backtest ends in a drawdown (Feb 2018)


def test_yearly_returns_table_and_bars_match_empyrical(data: TearSheetData, html: str) -> None:
    r, b = returns_of(data)
    yearly = empyrical.aggregate_returns(r, "yearly")
    bench = empyrical.aggregate_returns(b, "yearly")
    bars = {
        (m.group(1), int(m.group(2))): float(m.group(3))
        for m in re.finditer(r'data-series="([^"]+)" data-category="(\d+)" data-value="([^"]+)"', html)
    }
    for year, value in yearly.items():
        assert bars[("strategy", year)] == pytest.approx(value, abs=TOL)
    for year, value in bench.items():
        assert bars[("SPY", year)] == pytest.approx(value, abs=TOL)
    assert ("SPY", 2018) not in bars


def test_monthly_heatmap_is_a_table_that_scrolls_not_an_svg_that_overflows(data: TearSheetData, html: str) -> None:
    assert '<div class="scroll"><table class="heatmap"' in html
    cells = [float(v) for v in re.findall(r'class="cell" style="[^"]+" data-value="([^"]+)"', html)]
    monthly = empyrical.aggregate_returns(data.equity.pct_change().iloc[1:], "monthly")
    np.testing.assert_allclose(cells, monthly.to_numpy(), atol=TOL)


def test_rolling_windows_are_labelled_with_their_length(html: str) -> None:
    assert "6-month rolling Sharpe" in html and 'aria-label="6-month rolling beta to SPY"' in html
    assert "(126 sessions)" in html


def test_symbol_pnl_adds_up_to_the_equity_change(data: TearSheetData) -> None:
    final = {s: float(w) * float(data.equity.iloc[-1]) for s, w in data.weights.iloc[-1].items() if w}
    pnl = trade_tables.symbol_pnl(data.trades, final)
    assert pnl.sum() == pytest.approx(data.equity.iloc[-1] - data.equity.iloc[0], rel=1e-9)


def test_round_trips_by_hand_for_one_symbol(data: TearSheetData) -> None:
    fills = data.trades[data.trades["symbol"] == "AAPL"]
    position, cash, trips = 0.0, 0.0, []
    for _, f in fills.iterrows():
        dq = f["qty"] if f["side"] == "buy" else -f["qty"]
        cash += -dq * f["price"] - f["commission"]
        position += dq
        if abs(position) < 1e-9:
            trips.append(cash)
            cash, position = 0.0, 0.0
    ours = trade_tables.round_trips(fills, pd.DatetimeIndex(data.equity.index))
    closed = ours[~ours["open"]]
    np.testing.assert_allclose(closed["pnl"].to_numpy(), trips, rtol=1e-9)


def test_symbol_summary_comes_first_sorted_by_contribution(data: TearSheetData, html: str) -> None:
    rows = re.findall(r'<tr data-symbol="([^"]+)">.*?data-pnl="([^"]+)"', html, re.S)
    pnl = [float(p) for _, p in rows]
    assert len(rows) == 100 and pnl == sorted(pnl, reverse=True)
    assert html.index('class="symbols"') < html.index('<details class="fills">')


def test_fills_are_collapsed_with_rebalance_dust_grouped(data: TearSheetData, html: str) -> None:
    rows, total = trade_tables.grouped_fills(data.trades, 10**9)
    kinds = trade_tables.fill_kinds(data.trades)["kind"].value_counts()
    dust = trade_tables.fill_kinds(data.trades)
    dust = dust[dust["kind"] == "rebalance"]
    months = dust.groupby([dust["symbol"], dust["date"].dt.to_period("M")]).ngroups
    assert total == kinds.get("entry", 0) + kinds.get("exit", 0) + kinds.get("flip", 0) + months
    assert total < len(data.trades) / 2  # a reader scans far fewer rows than there were fills
    assert sum(r["count"] for r in rows) == len(data.trades)
    assert '<details class="fills">' in html and '<details class="fills" open' not in html


def test_top_contributors_get_links_when_pages_exist(data: TearSheetData) -> None:
    top = top_contributors(data, 3)
    html = render_tearsheet(real_tearsheet_data(symbol_pages={s: f"symbols/{s}.html" for s in top}))
    for s in top:
        assert f'<a href="symbols/{s}.html">{s}</a>' in html


def test_rules_are_stated_under_the_title(html: str) -> None:
    assert html.index('data-key="rules"') < html.index("<h2>Metrics</h2>")
    assert "costs: 5 bps commission" in html


def test_without_rules_the_page_says_they_were_not_recorded() -> None:
    html = render_tearsheet(TearSheetData(equity=tearsheet_data().equity))
    assert "Rules used: not recorded by this backtest." in html


def test_data_section_lists_source_basis_coverage_and_rejections(html: str) -> None:
    for key in ("source", "price_basis", "coverage", "rejected_rows", "synthetic"):
        assert f'data-data="{key}"' in html


def test_synthetic_data_is_labelled_in_the_header() -> None:
    html = render_tearsheet(real_tearsheet_data(data_info={"source": "synthetic", "synthetic": True}))
    assert html.index("synthetic data</span>") < html.index("</h1>")


def test_missing_data_info_says_unknown_not_blank() -> None:
    html = render_tearsheet(tearsheet_data())
    assert "Data: not recorded by this backtest" in html


def test_lookahead_note_is_a_banner(data: TearSheetData) -> None:
    html = render_tearsheet(real_tearsheet_data(notes=("lookahead: signals use the same session's close",)))
    assert '<p class="banner danger" data-note="1">lookahead: signals use' in html


def test_attribution_per_sleeve_adds_up_and_shows_only_with_two_sleeves(data: TearSheetData) -> None:
    change = data.equity.diff().fillna(0.0)
    sleeves = pd.DataFrame({"trend": change * 0.7, "mean_reversion": change * 0.3})
    html = render_tearsheet(real_tearsheet_data(attribution=sleeves))
    assert '<tr data-sleeve="trend">' in html and '<tr data-sleeve="mean_reversion">' in html
    assert "70.0%" in html and "30.0%" in html
    single = render_tearsheet(real_tearsheet_data(attribution=sleeves[["trend"]]))
    assert "Attribution by strategy sleeve" not in single


def test_real_backtest_is_long_enough_to_exercise_every_section() -> None:
    result = real_backtest()
    assert len(result.positions.columns) == 100 and len(result.equity) > 1000


def test_a_fill_that_closed_a_symbol_whose_data_ended_says_so(data: TearSheetData) -> None:
    trades = data.trades.copy()
    trades["event"] = ""
    last_exit = trade_tables.fill_kinds(trades)
    last_exit = last_exit[last_exit["kind"] == "exit"].iloc[-1]
    hit = (trades["symbol"] == str(last_exit["symbol"])) & (trades["date"] == last_exit["date"])
    trades.loc[hit, "event"] = "data ended"
    rows, _ = trade_tables.grouped_fills(trades, 10**9)
    ended = [r for r in rows if r["kind"] == "exit (data ended)"]
    assert [(r["symbol"], r["sort"]) for r in ended] == [(str(last_exit["symbol"]), last_exit["date"])]


def test_backtest_folder_summary_gives_rules_banner_and_notes(tmp_path, data: TearSheetData) -> None:
    import json

    from regimeflex.report.tearsheet import load_backtest_dir

    data.equity.to_frame("equity").to_csv(tmp_path / "equity.csv")
    summary = {
        "rules_text": "research rules (idealised): fractional shares",
        "rules": {"mode": "research"},
        "banner": "LOOKAHEAD: run with --allow-lookahead",
        "notes": ["AAPL data ended on 2017-06-01"],
    }
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    loaded = load_backtest_dir(tmp_path)
    assert loaded.rules == ("research rules (idealised): fractional shares",)
    assert loaded.notes == ("LOOKAHEAD: run with --allow-lookahead", "AAPL data ended on 2017-06-01")
    html = render_tearsheet(loaded)
    assert '<p class="banner danger" data-note="1">LOOKAHEAD: run with --allow-lookahead</p>' in html


def test_ten_year_real_backtest_tear_sheet_matches_empyrical() -> None:
    """ORCL and NVDA (2004-2014, real adjusted closes) traded by the trend rule against SPY: ten years."""
    from report_inputs import DATA

    from regimeflex.backtest.api import assemble
    from regimeflex.backtest.engine import Costs, SimConfig
    from regimeflex.builtins.trend import trend_signal
    from regimeflex.types import make_bars

    px = pd.read_csv(DATA / "orcl-nvda-spy-2004-2014-adjclose.csv", index_col="date", parse_dates=True)
    close = px[["ORCL", "NVDA"]]
    bars = make_bars({f: close for f in ("open", "high", "low", "close")} | {"volume": close * 0 + 1e6})
    longs = trend_signal(bars, {"rule": "crossover", "fast": 50, "slow": 200}).fillna(0.0).clip(lower=0.0)
    weights = longs / 2
    result = assemble(
        weights, bars, SimConfig(costs=Costs(commission_bps=5.0), fill="next_close"), start=close.index[200]
    )
    data = TearSheetData(
        equity=result.equity["equity"],
        benchmark=px["SPY"],
        benchmark_name="SPY",
        weights=result.weights,
        trades=result.trades,
    )
    ours, theirs = computed_metrics(data)
    r = data.equity.pct_change().iloc[1:]
    b = px["SPY"].reindex(data.equity.index).pct_change().iloc[1:]
    assert (data.equity.index[-1] - data.equity.index[0]).days > 365 * 10 - 200
    for key, value in {
        "cagr": empyrical.annual_return(r),
        "sharpe": empyrical.sharpe_ratio(r),
        "sortino": empyrical.sortino_ratio(r),
        "max_drawdown": empyrical.max_drawdown(r),
        "alpha": empyrical.alpha(r, b),
        "beta": empyrical.beta(r, b),
        "up_capture": empyrical.up_capture(r, b),
        "down_capture": empyrical.down_capture(r, b),
        "var_95": empyrical.value_at_risk(r),
        "cvar_95": empyrical.conditional_value_at_risk(r),
    }.items():
        assert ours[key] == pytest.approx(value, rel=TOL, abs=TOL), key
    assert theirs["sharpe"] == pytest.approx(empyrical.sharpe_ratio(b), rel=TOL, abs=TOL)
    html = render_tearsheet(data)
    assert html.count('<tr data-drawdown="') == 5 and html.count('<tr data-year="') == 11  # 2004 (from October) … 2014
