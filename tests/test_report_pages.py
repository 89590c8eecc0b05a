"""Daily report and tear sheet: content, escaping, self-containment, atomic writes, input errors."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from report_inputs import daily_data, portfolio, tearsheet_data

from regimeflex.report import metrics
from regimeflex.report.daily import BreakerState, daily_report_path, render_daily, write_daily_report
from regimeflex.report.render import ReportError, write_atomic
from regimeflex.report.tearsheet import MAX_TRADE_ROWS, TearSheetData, metric_rows, render_tearsheet
from regimeflex.types import Order, OrderResult

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def daily_html() -> str:
    return render_daily(daily_data())


@pytest.fixture(scope="module")
def tearsheet_html() -> str:
    return render_tearsheet(tearsheet_data())


def test_daily_report_shows_equity_and_regime(daily_html: str) -> None:
    data = daily_data()
    assert f'data-key="equity">${data.equity:,.2f}<' in daily_html
    assert 'data-key="regime">risk-on<' in daily_html


def test_daily_report_shows_current_weight_from_position_and_price(daily_html: str) -> None:
    data = daily_data()
    weight = 120 * data.prices["SPY"] / data.equity
    row = re.search(r'<tr data-symbol="SPY">(.*?)</tr>', daily_html, re.S)
    assert row is not None and f"{weight * 100:.1f}%" in row.group(1)


def test_daily_report_shows_rejected_order_with_broker_message(daily_html: str) -> None:
    row = re.search(r"<tr><td>TLT</td><td class=\"l\">sell</td>(.*?)</tr>", daily_html, re.S)
    assert row is not None
    assert "rejected" in row.group(1) and "insufficient qty" in row.group(1)


def test_daily_report_escapes_text_from_data() -> None:
    html = render_daily(
        daily_data(breakers=[BreakerState("vol", "tripped", "<script>alert(1)</script>")], equity_curve=None)
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_daily_report_without_history_says_so() -> None:
    html = render_daily(daily_data(equity_curve=None))
    assert "Not enough equity history yet for a chart (needs two sessions)." in html
    assert "<svg" not in html


def test_daily_report_in_dry_run_says_reconciliation_did_not_run() -> None:
    html = render_daily(daily_data(mode="dry_run", reconciliation_ok=None, equity_curve=None))
    assert 'data-key="reconciliation">not run<' in html
    assert "Dry run: nothing was sent to a broker." in html


def test_daily_report_never_contains_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_SECRET_KEY", "test-secret-not-real")
    html = render_daily(daily_data(notes=["broker said: bad key test-secret-not-real"], equity_curve=None))
    assert "test-secret-not-real" not in html
    assert "broker said: bad key ***" in html


def test_reports_load_nothing_from_the_network(daily_html: str, tearsheet_html: str) -> None:
    for html in (daily_html, tearsheet_html):
        assert not EXTERNAL.search(html)
        assert "<script src" not in html and "<link" not in html


def test_report_is_viewport_scaled_for_phones(daily_html: str) -> None:
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in daily_html


def test_same_inputs_render_the_same_file(tearsheet_html: str) -> None:
    assert render_tearsheet(tearsheet_data()) == tearsheet_html


def test_write_daily_report_puts_it_under_daily_by_session(tmp_path: Path) -> None:
    data = daily_data(equity_curve=None)
    path = write_daily_report(data, tmp_path)
    assert path == tmp_path / "daily" / "2019-12-31.html" == daily_report_path(tmp_path, data.session)
    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert [p.name for p in path.parent.iterdir()] == ["2019-12-31.html"]


def test_failed_write_leaves_the_previous_report_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("previous", encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_tearsheet_metrics_match_the_metric_functions(tearsheet_html: str) -> None:
    equity, weights, _ = portfolio()
    returns = metrics.returns_from_equity(equity)
    assert f'data-metric="sharpe">{metrics.sharpe_ratio(returns):.2f}<' in tearsheet_html
    assert f'data-metric="max_drawdown">{metrics.max_drawdown(returns) * 100:.2f}%<' in tearsheet_html
    assert f'data-metric="turnover">{metrics.turnover(weights):.2f}<' in tearsheet_html


def test_tearsheet_compares_with_the_benchmark() -> None:
    rows = {r["key"]: r for r in metric_rows(tearsheet_data())}
    spy = tearsheet_data().benchmark
    assert rows["cagr"]["bench"] == pytest.approx(metrics.cagr(metrics.returns_from_equity(spy)))


def test_tearsheet_has_every_chart(tearsheet_html: str) -> None:
    for label in (
        "Equity vs benchmark",
        "Drawdown",
        "Yearly returns",
        "6-month rolling Sharpe",
        "6-month rolling beta to SPY",
        "Exposure",
    ):
        assert f'<svg class="rf-chart" role="img" aria-label="{label}"' in tearsheet_html
    assert '<table class="heatmap" aria-label="Monthly returns">' in tearsheet_html


def test_tearsheet_caps_the_fills_table() -> None:
    data = tearsheet_data()
    dates = pd.bdate_range("2019-01-01", periods=MAX_TRADE_ROWS + 100)
    # one symbol bought and sold every session: every fill is an entry or an exit, none is dust
    many = pd.DataFrame(
        {
            "date": dates,
            "symbol": "SPY",
            "side": ["buy" if i % 2 == 0 else "sell" for i in range(len(dates))],
            "qty": 1.0,
            "price": 300.0,
        }
    )
    html = render_tearsheet(TearSheetData(equity=data.equity, trades=many))
    assert f"All fills ({len(many)} rows, the last {MAX_TRADE_ROWS} shown;" in html
    assert html.count('<td class="l">entry</td>') + html.count('<td class="l">exit</td>') == MAX_TRADE_ROWS


def test_tearsheet_rejects_equity_that_is_not_a_series() -> None:
    with pytest.raises(
        ReportError,
        match=r"^tear sheet: equity must be a pandas Series indexed by date, "
        r"got DataFrame$",
    ):
        render_tearsheet(TearSheetData(equity=pd.DataFrame({"x": [1.0, 2.0]})))  # type: ignore[arg-type]


def test_tearsheet_rejects_a_single_session() -> None:
    equity = pd.Series([100.0], index=pd.DatetimeIndex(["2019-01-02"]))
    with pytest.raises(ReportError, match=r"^tear sheet: equity needs at least two dated values, got 1$"):
        render_tearsheet(TearSheetData(equity=equity))


def test_tearsheet_rejects_non_positive_equity() -> None:
    equity = pd.Series([100.0, 0.0], index=pd.DatetimeIndex(["2019-01-02", "2019-01-03"]))
    with pytest.raises(
        ReportError,
        match=r"^tear sheet: equity must be positive \(equity or prices\); "
        r"got 0 on 2019-01-03$",
    ):
        render_tearsheet(TearSheetData(equity=equity))


def test_tearsheet_rejects_trades_without_required_columns() -> None:
    data = tearsheet_data()
    with pytest.raises(
        ReportError,
        match=r"^tear sheet: trades is missing column\(s\) \['price'\]; expected "
        r"date, symbol, side, qty, price \(pnl and commission optional\)$",
    ):
        render_tearsheet(TearSheetData(equity=data.equity, trades=data.trades.drop(columns="price")))


def test_daily_report_rejects_other_inputs() -> None:
    with pytest.raises(ReportError, match=r"^daily report: expected DailyReportData, got dict$"):
        render_daily({"session": "2019-12-31"})  # type: ignore[arg-type]


def test_daily_report_replayed_later_shows_history_up_to_its_session() -> None:
    equity, _, _ = portfolio()
    html = render_daily(daily_data(session=equity.index[100].date(), equity_curve=equity))
    expected = equity.iloc[100] / equity.iloc[0] - 1.0
    assert f'data-key="total_return">{expected * 100:+.2f}%<' in html


def test_written_report_gets_normal_file_permissions_not_private_temp_ones(tmp_path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    path = write_atomic(tmp_path / "r.html", "x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_daily_report_escapes_symbols_ids_and_broker_messages_in_the_table_rows() -> None:
    odd = "<b>X&Y</b>"
    html = render_daily(
        daily_data(
            targets={odd: 0.1},
            prices={odd: 10.0},
            orders=[Order(odd, "buy", 1, f"id-{odd}")],
            order_results=[OrderResult(f"id-{odd}", "rejected", odd, "buy", 1, 0, None, message=odd)],
            equity_curve=None,
        )
    )
    assert odd not in html
    assert html.count("&lt;b&gt;X&amp;Y&lt;/b&gt;") == 5  # allocation symbol (attribute and cell), order, id, message


def test_daily_report_has_a_row_for_every_target_and_every_order_of_a_large_plan() -> None:
    symbols = [f"S{i:04d}" for i in range(600)]
    orders = [Order(s, "buy", 3, f"rf-{s}") for s in symbols[::2]]
    html = render_daily(
        daily_data(
            targets=dict.fromkeys(symbols, 1 / 600),
            prices=dict.fromkeys(symbols, 20.0),
            positions={},
            orders=orders,
            order_results=[],
            mode="dry_run",
            equity_curve=None,
        )
    )
    assert re.findall(r'<tr data-symbol="([^"]+)">', html) == symbols
    rows = re.findall(
        r'<tr><td>(S\d+)</td><td class="l">buy</td><td>3</td><td class="l">market</td>'
        r'<td class="l">planned</td><td>–</td><td>–</td><td class="l"><code>rf-\1</code>',
        html,
    )
    assert rows == symbols[::2]


def test_compiled_templates_are_kept_in_the_user_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from regimeflex.report.render import _bytecode_cache

    monkeypatch.setenv("REGIMEFLEX_CACHE_HOME", str(tmp_path / "home"))
    cache = _bytecode_cache()
    assert cache is not None and Path(cache.directory) == tmp_path / "home" / "jinja"
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("REGIMEFLEX_CACHE_HOME", str(tmp_path / "file"))
    assert _bytecode_cache() is None  # no cache, still a report
