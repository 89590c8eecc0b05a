"""The daily report: axes scaled to the data, equity on session dates, breaker inputs beside thresholds."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from report_inputs import daily_data

from regimeflex.report.daily import BreakerState, render_daily


def chart(html: str, label: str) -> str:
    return re.search(rf'aria-label="{label}".*?</svg>', html, re.S).group(0)


def yticks(svg: str) -> list[float]:
    return [float(v) for v in re.findall(r'class="ytick" data-value="([^"]+)"', svg)]


def test_zero_drawdown_is_not_drawn_on_a_plus_minus_100_percent_axis() -> None:
    days = pd.bdate_range("2019-12-02", "2019-12-31")
    rising = pd.Series(np.linspace(100_000, 101_000, len(days)), index=days)
    html = render_daily(daily_data(equity_curve=rising))
    ticks = yticks(chart(html, "Drawdown"))
    assert max(ticks) == 0.0 and -0.02 <= min(ticks) < 0.0


def test_drawdown_axis_reaches_the_deepest_drawdown_and_no_further_than_a_step() -> None:
    html = render_daily(daily_data())
    equity = daily_data().equity_curve
    deepest = float((equity / equity.cummax() - 1).min())
    ticks = yticks(chart(html, "Drawdown"))
    assert max(ticks) == 0.0 and min(ticks) <= deepest and min(ticks) > deepest * 2


def test_equity_chart_gives_each_session_the_same_width_over_weekends_and_holidays() -> None:
    # 2019-12-20 (Fri) … 2019-12-31: the weekend and Christmas Day are not sessions
    sessions = pd.DatetimeIndex(["2019-12-20", "2019-12-23", "2019-12-24", "2019-12-26", "2019-12-27", "2019-12-30"])
    curve = pd.Series([100.0, 101.0, 102.0, 101.5, 103.0, 104.0], index=sessions)
    html = render_daily(daily_data(equity_curve=curve))
    path = re.search(r'<path class="line" data-name="equity" d="([^"]+)"', chart(html, "Equity curve")).group(1)
    xs = [float(p.split(",")[0]) for p in re.split("[ML]", path) if p]
    steps = np.diff(xs)
    assert len(xs) == len(sessions) and np.ptp(steps) <= 0.2  # evenly spaced, within rounding


def test_points_dated_outside_a_session_are_left_out_and_counted() -> None:
    days = pd.DatetimeIndex(["2019-12-20", "2019-12-21", "2019-12-23", "2019-12-24"])  # 21st is a Saturday
    curve = pd.Series([100.0, 100.5, 101.0, 102.0], index=days)
    html = render_daily(daily_data(equity_curve=curve))
    assert "1 point(s) dated outside a session were left out." in html
    path = re.search(r'<path class="line" data-name="equity" d="([^"]+)"', html).group(1)
    assert path.count("L") == 2


def test_breaker_inputs_sit_beside_their_thresholds_and_missing_inputs_say_no_data() -> None:
    breakers = [
        BreakerState("max_drawdown", "ok", "", value=0.021, threshold=0.15),
        BreakerState("daily_loss", "no data", "no previous session's equity", value=None, threshold=0.02),
        BreakerState("vix", "tripped", "", value=41.2, threshold=35.0),
    ]
    html = render_daily(daily_data(breakers=breakers))
    assert 'data-breaker-input="max_drawdown">0.021<' in html
    assert 'data-breaker-threshold="max_drawdown">0.15<' in html
    assert 'data-breaker-input="daily_loss">no data<' in html
    assert 'data-breaker-threshold="daily_loss">0.02<' in html
    assert '<span class="badge no-data" data-breaker="daily_loss">no data</span>' in html
    assert 'data-breaker-input="vix">41.2<' in html


def test_breaker_without_a_measured_value_never_shows_a_number() -> None:
    html = render_daily(daily_data(breakers=[BreakerState("concentration", "ok", "", value=None, threshold=0.3)]))
    assert 'data-breaker-input="concentration">no data<' in html
