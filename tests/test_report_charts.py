"""The report charts (our own SVG): ticks, date labels, downsampling, heatmap cells, NaN/empty/constant input,
determinism, accessibility markup and the import footprint."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from report_inputs import closes, portfolio

from regimeflex.report import charts, metrics

NS = {"s": "http://www.w3.org/2000/svg"}
MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def vertices(path_d: str) -> np.ndarray:
    return np.array([(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", path_d)])


def line_paths(svg: str) -> list[np.ndarray]:
    return [vertices(p.get("d", "")) for p in parse(svg).iterfind(".//s:path[@class='line']", NS)]


def y_to_value(svg: str):
    """The chart's pixel → value mapping, read back from two of its y ticks."""
    ticks = parse(svg).findall(".//s:text[@class='ytick']", NS)
    (p0, v0), (p1, v1) = [(float(t.get("y")), float(t.get("data-value"))) for t in (ticks[0], ticks[-1])]
    return lambda y: v0 + (y - p0) * (v1 - v0) / (p1 - p0), abs((v1 - v0) / (p1 - p0))


def tick_texts(svg: str, kind: str) -> list[str]:
    return [t.text or "" for t in parse(svg).iterfind(f".//s:text[@class='{kind}']", NS)]


def random_walk(n: int, seed: int = 11) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2015-01-02", periods=n)
    return pd.Series(100_000 * np.cumprod(1 + rng.normal(2e-4, 0.012, n)), index=index)


@pytest.mark.parametrize(
    "lo, hi",
    [(-5.2, 4.1), (45_000.0, 220_000.0), (-0.528, 0.0), (0.97, 1.02), (1.0e6, 1.6e6), (0.001, 0.0013), (-3e-9, 7e-9)],
)
def test_value_ticks_are_evenly_spaced_nice_numbers_covering_the_data(lo: float, hi: float) -> None:
    ticks = charts.nice_ticks(lo, hi)
    steps = np.diff(ticks)
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert np.allclose(steps, steps[0])
    assert round(mantissa, 9) in (1.0, 2.0, 5.0)
    assert ticks[0] <= lo and ticks[-1] >= hi
    assert 3 <= len(ticks) <= 7


def test_value_ticks_of_real_equity_are_nice_and_cover_it() -> None:
    equity, _, _ = portfolio()
    ticks = np.array(
        [
            float(v)
            for v in (
                t.get("data-value")
                for t in parse(charts.line_chart({"equity": equity}, label="Equity", money=True)).iterfind(
                    ".//s:text[@class='ytick']", NS
                )
            )
        ]
    )
    assert ticks[0] <= equity.min() and ticks[-1] >= equity.max()
    assert len(set(np.round(np.diff(ticks), 6))) == 1


def test_money_ticks_are_short_thousands_and_millions() -> None:
    assert charts.money_labels(np.array([95_000.0, 100_000.0, 105_000.0])) == ["95k", "100k", "105k"]
    assert charts.money_labels(np.array([1.0e6, 1.5e6, 2.0e6])) == ["1.0M", "1.5M", "2.0M"]
    assert charts.money_labels(np.array([1.0e6, 1.05e6, 1.1e6])) == ["1.00M", "1.05M", "1.10M"]


def test_equity_chart_labels_its_axis_in_money() -> None:
    equity, _, _ = portfolio()
    labels = tick_texts(charts.line_chart({"equity": equity}, label="Equity", money=True), "ytick")
    assert labels and all(re.fullmatch(r"\d+k", t) for t in labels)


def test_drawdown_axis_is_in_percent() -> None:
    equity, _, _ = portfolio()
    labels = tick_texts(charts.drawdown_chart(metrics.drawdown(equity)), "ytick")
    assert labels[-1] == "0%" and all(re.fullmatch(r"-?\d+(\.\d)?%", t) for t in labels)


def test_ten_years_of_sessions_are_labelled_by_year() -> None:
    labels = tick_texts(charts.line_chart({"e": random_walk(2520)}, label="e"), "xtick")
    assert 4 <= len(labels) <= 7
    assert all(re.fullmatch(r"20\d\d", t) for t in labels) and labels == sorted(labels)


def test_one_year_of_sessions_is_labelled_by_month() -> None:
    labels = tick_texts(charts.line_chart({"SPY": closes()["SPY"]}, label="SPY"), "xtick")
    assert 3 <= len(labels) <= 7
    assert all(re.fullmatch(MONTH, t) for t in labels)


def test_two_weeks_of_sessions_are_labelled_by_day() -> None:
    two_weeks = closes()["SPY"]["2019-03-04":"2019-03-15"]
    labels = tick_texts(charts.line_chart({"SPY": two_weeks}, label="SPY"), "xtick")
    assert 3 <= len(labels) <= 7
    assert all(re.fullmatch(r"Mar ([1-9]|1[0-5])", t) for t in labels)


def test_january_among_month_labels_shows_the_year() -> None:
    labels = [t for _, t in charts.date_ticks(pd.Timestamp("2019-10-01"), pd.Timestamp("2020-03-31"))]
    assert labels == ["Oct", "Nov", "Dec", "2020", "Feb", "Mar"]


def test_long_series_draws_at_most_a_thousand_vertices_keeping_min_and_max() -> None:
    series = random_walk(2520)
    series.iloc[1234] = series.max() * 1.5  # a one-day spike
    svg = charts.line_chart({"equity": series}, label="Equity")
    (points,) = line_paths(svg)
    to_value, per_pixel = y_to_value(svg)
    assert len(points) <= 1000
    assert to_value(points[:, 1].min()) == pytest.approx(series.max(), abs=per_pixel * 0.06)
    assert to_value(points[:, 1].max()) == pytest.approx(series.min(), abs=per_pixel * 0.06)


def test_short_series_draws_every_point() -> None:
    equity, _, _ = portfolio()
    (points,) = line_paths(charts.line_chart({"equity": equity}, label="Equity"))
    assert len(points) == len(equity)


def test_envelope_keeps_both_ends_in_order() -> None:
    y = random_walk(5000).to_numpy()
    keep = charts.envelope(np.arange(5000.0), y)
    assert keep[0] == 0 and keep[-1] == 4999 and np.all(np.diff(keep) > 0)
    assert np.argmin(y) in keep and np.argmax(y) in keep and len(keep) <= 1000


def test_drawdown_trough_is_drawn_at_its_depth() -> None:
    dd = metrics.drawdown(random_walk(2520, seed=3))
    svg = charts.drawdown_chart(dd)
    (points,) = line_paths(svg)
    to_value, per_pixel = y_to_value(svg)
    assert to_value(points[:, 1].max()) == pytest.approx(dd.min(), abs=per_pixel * 0.06)


def test_nan_values_are_dropped_from_the_line() -> None:
    equity, _, _ = portfolio()
    holey = equity.copy()
    holey.iloc[[5, 6, 100]] = np.nan
    (points,) = line_paths(charts.line_chart({"equity": holey}, label="Equity"))
    assert len(points) == len(equity) - 3


def test_heatmap_has_a_labelled_cell_per_finite_month_and_none_for_nan() -> None:
    equity, _, _ = portfolio()
    table = metrics.monthly_returns(metrics.returns_from_equity(equity))
    table.loc[2019, 7] = np.nan
    cells = parse(charts.monthly_heatmap(table)).findall(".//s:g[@class='cell']", NS)
    finite = table.stack().dropna()
    assert len(cells) == len(finite)
    by_month = {(int(c.get("data-year")), int(c.get("data-month"))): c.find("s:text", NS).text for c in cells}
    assert by_month == {(int(y), int(m)): f"{v * 100:.1f}" for (y, m), v in finite.items()}


def test_heatmap_is_red_below_zero_and_green_above_symmetrically() -> None:
    fills, _ = charts.heat_colours(np.array([-0.05, 0.0, 0.05, -0.1, 0.1]), 0.1)
    assert list(fills[[3, 1, 4]]) == [charts.RED, charts.NEUTRAL, charts.GREEN]
    red, green = (np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for c in fills[[0, 2]])
    neutral = np.array([int(charts.NEUTRAL[i : i + 2], 16) for i in (1, 3, 5)])
    assert red[0] > red[1] and green[1] > green[0]
    assert np.allclose(np.abs(red - neutral) * 2, np.abs(charts._hex_to_rgb(charts.RED) - neutral), atol=1)


def test_heatmap_labels_keep_aa_contrast_on_every_colour() -> None:
    fills, inks = charts.heat_colours(np.linspace(-1.0, 1.0, 201), 1.0)

    def lum(colour: str) -> float:
        return float(charts._luminance(charts._hex_to_rgb(colour)))

    ratios = [(max(lum(f), lum(i)) + 0.05) / (min(lum(f), lum(i)) + 0.05) for f, i in zip(fills, inks)]
    assert min(ratios) >= 4.5


def test_same_input_gives_the_same_bytes() -> None:
    series = random_walk(2520)
    assert charts.line_chart({"a": series, "b": series * 1.1}, label="x", money=True) == charts.line_chart(
        {"a": series.copy(), "b": series * 1.1}, label="x", money=True
    )


def test_charts_scale_by_viewbox_and_are_labelled_for_screen_readers() -> None:
    equity, weights, _ = portfolio()
    for svg in (
        charts.line_chart({"equity": equity}, label="Equity curve"),
        charts.drawdown_chart(equity * 0),
        charts.exposure_chart(weights.abs().sum(axis=1), weights.sum(axis=1)),
        charts.monthly_heatmap(metrics.monthly_returns(metrics.returns_from_equity(equity))),
    ):
        root = parse(svg)
        assert root.get("width") is None and root.get("height") is None
        assert re.fullmatch(r"0 0 640 \d+", root.get("viewBox", ""))
        assert root.get("role") == "img" and root.get("aria-label")


@pytest.mark.parametrize(
    "make",
    [
        lambda s: charts.line_chart({"equity": s}, label="Equity", money=True),
        lambda s: charts.drawdown_chart(s),
        lambda s: charts.exposure_chart(s, s),
    ],
    ids=["line", "drawdown", "exposure"],
)
def test_empty_series_gives_valid_svg_without_a_line(make) -> None:
    svg = make(pd.Series([], index=pd.DatetimeIndex([]), dtype="float64"))
    root = parse(svg)
    assert root.findall(".//s:path[@class='line']", NS) == []
    assert root.findall(".//s:path[@class='area']", NS) == []


def test_empty_heatmap_gives_valid_svg_without_cells() -> None:
    root = parse(charts.monthly_heatmap(pd.DataFrame(columns=range(1, 13), dtype="float64")))
    assert root.findall(".//s:g[@class='cell']", NS) == []


@pytest.mark.parametrize("value", [0.0, 100_000.0, -0.25])
def test_constant_series_gives_a_flat_line_inside_its_ticks(value: float) -> None:
    flat = pd.Series(value, index=pd.bdate_range("2019-01-02", periods=30))
    svg = charts.line_chart({"flat": flat}, label="Flat")
    (points,) = line_paths(svg)
    to_value, per_pixel = y_to_value(svg)
    assert len(set(points[:, 1])) == 1 and to_value(points[0, 1]) == pytest.approx(value, abs=per_pixel)


def test_single_point_gives_valid_svg() -> None:
    one = pd.Series([100.0], index=pd.DatetimeIndex(["2019-01-02"]))
    (points,) = line_paths(charts.line_chart({"one": one}, label="One"))
    assert len(points) == 1


def test_legend_appears_only_with_more_than_one_series() -> None:
    equity, _, _ = portfolio()
    single = parse(charts.line_chart({"equity": equity}, label="Equity"))
    both = parse(charts.line_chart({"strategy": equity, "SPY": closes()["SPY"]}, label="Equity"))
    assert single.find(".//s:g[@class='legend']", NS) is None
    assert [t.text for t in both.iterfind(".//s:g[@class='legend']/s:text", NS)] == ["strategy", "SPY"]


def test_exposure_chart_fills_gross_draws_net_and_names_both() -> None:
    _, weights, _ = portfolio()
    root = parse(charts.exposure_chart(weights.abs().sum(axis=1), weights.sum(axis=1)))
    assert (
        len(root.findall(".//s:path[@class='area']", NS)) == 1
        and len(root.findall(".//s:path[@class='line']", NS)) == 1
    )
    assert [t.text for t in root.iterfind(".//s:g[@class='legend']/s:text", NS)] == ["gross", "net"]


def test_rolling_sharpe_has_a_zero_line_and_money_charts_do_not() -> None:
    equity, _, _ = portfolio()
    sharpe = metrics.rolling_sharpe(metrics.returns_from_equity(equity), window=63)
    svg = charts.line_chart({"Sharpe": sharpe}, label="Rolling Sharpe")
    to_value, per_pixel = y_to_value(svg)
    zero = parse(svg).find(".//s:line[@class='zero']", NS)
    assert zero is not None and to_value(float(zero.get("y1"))) == pytest.approx(0.0, abs=per_pixel)
    assert parse(charts.line_chart({"e": equity}, label="e", money=True)).find(".//s:line[@class='zero']", NS) is None


def test_text_from_data_is_escaped() -> None:
    equity, _, _ = portfolio()
    svg = charts.line_chart({"<b>a</b>": equity, "b": equity}, label='x" onload="alert(1)')
    assert "<b>" not in svg and "&lt;b&gt;a&lt;/b&gt;" in svg
    assert parse(svg).get("aria-label") == 'x" onload="alert(1)'


def test_importing_charts_loads_no_plotting_library() -> None:
    code = "import sys, regimeflex.report.charts; print(sorted(m for m in sys.modules if m.startswith('matplotlib')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
