"""``regimeflex report symbol`` and the tear sheet's links: trades on prices, as freqtrade's plot-dataframe."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from regimeflex.report import trades as trade_tables


@pytest.fixture
def backtest_dir(run_cli, etf_project, tmp_path):
    # research mode: a daily-rebalanced book (many resizing fills); the default daily rules' no-churn threshold
    # would leave few of them to test the chart's thinning on
    run_yaml = etf_project / "run.yaml"
    run_yaml.write_text(run_yaml.read_text() + "  mode: research\n")
    out = tmp_path / "bt"
    code, _, err = run_cli("--config", str(etf_project), "backtest", "--out", str(out))
    assert code == 0, err
    return out


def closes(name: str) -> pd.Series:
    from pathlib import Path

    data = Path(__file__).resolve().parent.parent / "data" / "report"
    return pd.read_csv(data / f"{name}-2019-lumibot.csv", index_col="Date", parse_dates=True)["Close"]


def line_points(html: str, name: str) -> int:
    path = re.search(rf'<path class="line" data-name="{re.escape(name)}" d="([^"]+)"', html)
    assert path, name
    return path.group(1).count("L") + 1


def test_symbol_page_draws_the_strategys_own_sma_lines(run_cli, etf_project, backtest_dir) -> None:
    code, out, err = run_cli("--config", str(etf_project), "report", "symbol", "spy", "--from", str(backtest_dir))
    page = backtest_dir / "symbols" / "SPY.html"
    assert (code, out.strip()) == (0, f"wrote {page}"), err
    html = page.read_text(encoding="utf-8")
    # strategies.yaml: trend crossover fast 10 / slow 40 → exactly those two averages
    assert "Lines from trend (trend: rule crossover, fast 10, slow 40, allow_short False): SMA 10, SMA 40." in html
    assert line_points(html, "SMA 10") > 100 and line_points(html, "SMA 40") > 100
    assert 'data-name="SMA 50"' not in html


def test_symbol_page_markers_match_the_trades_file(run_cli, etf_project, backtest_dir) -> None:
    run_cli("--config", str(etf_project), "report", "symbol", "GLD", "--from", str(backtest_dir))
    html = (backtest_dir / "symbols" / "GLD.html").read_text(encoding="utf-8")
    trades = pd.read_csv(backtest_dir / "trades.csv", parse_dates=["date"])
    mine = trades[trades["symbol"] == "GLD"]
    kinds = trade_tables.fill_kinds(mine)
    # a daily-rebalanced book: the resizing fills are too many to draw, entries and exits are all drawn
    assert (kinds["kind"] == "rebalance").sum() > 40
    assert f"{(kinds['kind'] == 'rebalance').sum()} resizing fills are left off the chart" in html
    kinds = kinds[kinds["kind"] != "rebalance"]
    drawn = re.findall(r'<path class="marker (\w+)" data-date="([^"]+)" data-price="([^"]+)" data-qty="([^"]+)"', html)
    assert len(drawn) == len(kinds) > 2
    expected = sorted(
        (f"{d:%Y-%m-%d}", float(p), float(q)) for d, p, q in zip(kinds["date"], kinds["price"], kinds["qty"])
    )
    got = sorted((d, float(p), float(q)) for _, d, p, q in drawn)
    assert [g[0] for g in got] == [e[0] for e in expected]
    np.testing.assert_allclose([g[1] for g in got], [e[1] for e in expected], rtol=1e-12)
    np.testing.assert_allclose([g[2] for g in got], [e[2] for e in expected], rtol=1e-12)
    entries = [k for k, *_ in drawn if k == "entry"]
    assert len(entries) == int((kinds["kind"] == "entry").sum())


def test_symbol_page_position_panel_follows_the_positions_file(run_cli, etf_project, backtest_dir) -> None:
    run_cli("--config", str(etf_project), "report", "symbol", "TLT", "--from", str(backtest_dir))
    html = (backtest_dir / "symbols" / "TLT.html").read_text(encoding="utf-8")
    held = pd.read_parquet(backtest_dir / "positions.parquet")["TLT"]
    chart = re.search(r'aria-label="TLT shares held".*?</svg>', html, re.S).group(0)
    top = max(float(v) for v in re.findall(r'class="ytick" data-value="([^"]+)"', chart))
    assert held.max() > 0 and held.max() <= top < 2 * held.max()  # the axis is scaled to the shares held


def test_symbol_page_without_a_backtest_shows_prices_and_lines_only(run_cli, etf_project, tmp_path) -> None:
    out = tmp_path / "spy.html"
    code, _, err = run_cli("--config", str(etf_project), "report", "symbol", "SPY", "--out", str(out))
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert "No trades in SPY (no backtest given: pass --from DIR)." in html
    assert 'data-name="SMA 40"' in html and '<path class="marker' not in html


def test_symbol_not_in_the_data_is_one_clear_line(run_cli, etf_project, backtest_dir) -> None:
    code, _, err = run_cli("--config", str(etf_project), "report", "symbol", "ZZZZ", "--from", str(backtest_dir))
    assert code == 1
    assert "ZZZZ" in err and "Traceback" not in err


def test_from_a_folder_that_is_not_a_backtest_is_a_usage_error(run_cli, etf_project, tmp_path) -> None:
    code, _, err = run_cli("--config", str(etf_project), "report", "symbol", "SPY", "--from", str(tmp_path))
    assert code == 2
    assert (
        f"--from {tmp_path}: no equity.csv there; write the folder with `regimeflex backtest --out {tmp_path}`" in err
    )


def test_backtest_links_symbol_pages_of_its_top_contributors(backtest_dir) -> None:
    html = (backtest_dir / "tearsheet.html").read_text(encoding="utf-8")
    links = re.findall(r'<a href="symbols/([A-Z]+)\.html">', html)
    assert sorted(links) == ["GLD", "SPY", "TLT"]
    for symbol in links:
        page = (backtest_dir / "symbols" / f"{symbol}.html").read_text(encoding="utf-8")
        assert '<a href="../tearsheet.html">back to the tear sheet</a>' in page


def test_trend_lines_are_the_averages_its_rule_compares(etf_bars) -> None:
    from regimeflex.builtins.trend import trend_lines

    close = etf_bars["close"]
    lines = trend_lines(etf_bars, {"rule": "crossover", "fast": 10, "slow": 40})
    assert list(lines) == ["SMA 10", "SMA 40"]
    np.testing.assert_allclose(lines["SMA 40"].to_numpy(), close.rolling(40).mean().to_numpy(), atol=1e-9)
    assert list(trend_lines(etf_bars, {"rule": "price_above_sma", "slow": 40})) == ["SMA 40"]


def test_mean_reversion_lines_are_its_entry_threshold_in_prices(etf_bars) -> None:
    from regimeflex.builtins.mean_reversion import mean_reversion_lines
    from regimeflex.signals.indicators import zscore

    close = etf_bars["close"]
    lines = mean_reversion_lines(etf_bars, {"window": 20, "entry_z": 2.0, "exit_z": 0.5})
    band = lines["entry −2σ"]
    # a close on the band has a z-score of exactly −2
    z = (band - close.rolling(20).mean()) / close.rolling(20).std(ddof=0)
    assert np.nanmax(np.abs(z.to_numpy() + 2.0)) < 1e-9
    assert zscore(close, 20).shape == band.shape


def test_backtest_tear_sheet_has_a_data_section_from_the_configuration(backtest_dir) -> None:
    html = (backtest_dir / "tearsheet.html").read_text(encoding="utf-8")
    assert "data provider &#39;csv&#39; (data.yaml), cache first" in html
    assert 'data-data="price_basis">split/dividend-adjusted prices, as data.yaml asks<' in html
    assert 'data-data="coverage">3 symbols, ' in html
    assert 'data-data="rejected_rows">' in html
    assert 'data-data="synthetic">no<' in html
    assert "synthetic data</span>" not in html


def test_backtest_on_synthetic_data_says_so_in_the_header(run_cli, etf_project, tmp_path) -> None:
    (etf_project / "data.yaml").write_text("provider: synthetic\n")
    out = tmp_path / "synthetic"
    code, _, err = run_cli("--config", str(etf_project), "backtest", "--out", str(out))
    assert code == 0, err
    html = (out / "tearsheet.html").read_text(encoding="utf-8")
    assert html.index("synthetic data</span>") < html.index("</h1>")
    assert 'data-data="synthetic">yes — generated prices, not market data<' in html
