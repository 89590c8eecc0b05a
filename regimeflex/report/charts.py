"""Charts for the reports, as inline SVG text we generate ourselves (numpy + jinja2, no plotting library).

Owns every figure the daily report and the tear sheet show: equity (against a
benchmark), drawdown, the monthly-returns heatmap, rolling Sharpe and
exposure, and the pieces they share: "nice" value ticks (1/2/5 × 10^k), date
ticks (years, quarters, months or days by span), and a per-pixel min/max
envelope that caps a line at about 1,000 vertices without losing a trough or a
spike. Markup comes from the ``chart_*.svg.j2`` templates beside the report
pages; every coordinate is written with one decimal of a pixel, so the same
data gives the same bytes. Charts carry a ``viewBox`` and no fixed size (CSS
``width: 100%`` scales them to a phone), keep text as text, and are labelled
for screen readers (``role="img" aria-label``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.report.render import environment

PALETTE = ("#1f6feb", "#8b949e", "#d29922", "#2da44e", "#cf222e")
RED, GREEN = PALETTE[4], PALETTE[3]
#: neutral middle of the heatmap's red → green scale (the report's card colour)
NEUTRAL = "#f6f8fa"
#: each heatmap label is black or white, whichever contrasts more with its cell: that choice is
#: always at least 4.58:1 (WCAG AA for small text), whatever the cell colour
INK, PAPER = "#000000", "#ffffff"
#: most vertices one line may have; longer series go through :func:`envelope`
MAX_POINTS = 1000
#: about six date labels fit a phone-width chart
MAX_DATE_TICKS = 7
WIDTH = 640.0
#: room above the plot for the legend row
LEGEND_HEIGHT = 26.0
#: the largest font size (viewBox units) the page's CSS gives chart text on a phone (see base.html.j2:
#: text grows as the chart shrinks so it renders at >= 10.5 px); layouts leave room for text this big
MAX_FONT = 23.0
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class Box:
    """The plot area inside the SVG, in viewBox pixels."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class Tick:
    pos: str  # pixel position, formatted
    text: str
    value: str  # the data value, for readers of the DOM and tests


# ---------------------------------------------------------------- value ticks


def nice_ticks(lo: float, hi: float, most: int = 6) -> np.ndarray:
    """Tick values on a 1/2/5 × 10^k step covering ``[lo, hi]``, at most ``most`` of them (at least 3)."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1e-300):
        # a constant series: open a window around it instead of dividing by a zero span
        pad = abs(lo) * 0.05 if lo != 0 else 1.0
        lo, hi = lo - pad, hi + pad
    exponent = math.floor(math.log10((hi - lo) / (most - 1)))
    steps = (np.array([1.0, 2.0, 5.0])[None, :] * 10.0 ** np.arange(exponent - 1, exponent + 3)[:, None]).ravel()
    first = np.floor(lo / steps + 1e-9)
    last = np.ceil(hi / steps - 1e-9)
    counts = last - first + 1
    k = int(np.argmax(counts <= most))
    # one more tick beats an axis that is mostly empty (e.g. data -5..4 on -10..5)
    if k > 0 and counts[k - 1] == most + 1 and (hi - lo) / (counts[k] - 1) / steps[k] < 0.7:
        k -= 1
    step = steps[k]
    decimals = max(0, -math.floor(math.log10(step)) + 1)
    ticks = np.round(np.arange(first[k], last[k] + 0.5) * step, decimals)
    return ticks + 0.0  # no "-0.0"


def _step_decimals(ticks: np.ndarray, scale: float = 1.0) -> int:
    step = float(ticks[1] - ticks[0]) * scale if len(ticks) > 1 else 1.0
    return max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0


def money_labels(ticks: np.ndarray) -> list[str]:
    """Short money labels that keep the y axis narrow on a phone: ``95k``, ``120k``, ``1.5M``."""
    out = []
    for value in ticks:
        if abs(value) >= 1e6:
            out.append(f"{value / 1e6:.{max(1, _step_decimals(ticks, 1e-6))}f}M")
        elif abs(value) >= 1e4:
            out.append(f"{value / 1e3:.{_step_decimals(ticks, 1e-3)}f}k")
        else:
            out.append(f"{value:,.{_step_decimals(ticks)}f}")
    return out


def percent_labels(ticks: np.ndarray) -> list[str]:
    """``-0.1`` → ``-10%``; as many decimals as the step needs (``2.5%``)."""
    decimals = _step_decimals(ticks, 100.0)
    return [f"{value * 100:.{decimals}f}%" for value in ticks]


def plain_labels(ticks: np.ndarray) -> list[str]:
    decimals = _step_decimals(ticks)
    return [f"{value:.{decimals}f}" for value in ticks]


# ----------------------------------------------------------------- date ticks


def date_ticks(start: pd.Timestamp, end: pd.Timestamp, most: int = MAX_DATE_TICKS) -> list[tuple[pd.Timestamp, str]]:
    """Date labels between ``start`` and ``end``: the finest of days, weeks, months, quarters or years giving
    at most ``most`` labels.

    Labels are short: ``2019`` for years (and for January among months), ``Mar`` for months, ``Mar 5`` for days.
    """
    first = np.datetime64(pd.Timestamp(start).tz_localize(None).normalize().to_datetime64(), "D")
    last = np.datetime64(pd.Timestamp(end).tz_localize(None).to_datetime64(), "D")
    if last < first:
        return []
    for step in (1, 2, 3, 7, 14):
        days = np.arange(first, last + 1, dtype="datetime64[D]")
        days = days[days.astype("int64") % step == 0] if step != 7 else days[_weekday(days) == 0]
        if len(days) <= most:
            return [(pd.Timestamp(d), f"{MONTHS[pd.Timestamp(d).month - 1]} {pd.Timestamp(d).day}") for d in days]
    for step in (1, 2, 3, 6):
        months = np.arange(first.astype("datetime64[M]") + 1, last.astype("datetime64[M]") + 1, dtype="datetime64[M]")
        if first == first.astype("datetime64[M]").astype("datetime64[D]"):
            months = np.concatenate([first.astype("datetime64[M]")[None], months])
        months = months[months.astype("int64") % step == 0]
        if len(months) <= most:
            return [(pd.Timestamp(m), _month_label(pd.Timestamp(m))) for m in months]
    for step in (1, 2, 5, 10, 20, 50, 100):
        years = np.arange(first.astype("datetime64[Y]") + 1, last.astype("datetime64[Y]") + 1, dtype="datetime64[Y]")
        if first == first.astype("datetime64[Y]").astype("datetime64[D]"):
            years = np.concatenate([first.astype("datetime64[Y]")[None], years])
        years = years[(years.astype("int64") + 1970) % step == 0]
        if len(years) <= most:
            return [(pd.Timestamp(y), str(pd.Timestamp(y).year)) for y in years]
    return []


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday; Monday → 0


def _month_label(when: pd.Timestamp) -> str:
    return str(when.year) if when.month == 1 else MONTHS[when.month - 1]


# ------------------------------------------------------------------ sampling


def envelope(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of the points to draw: all of them when few, else each x bucket's min and max (plus both ends).

    ``x`` must be sorted. Buckets split the x range evenly (about one per pixel), so a drawn trough or spike
    is exactly where it was; the result has at most ``max_points`` indices, in x order.
    """
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, (max_points - 2) // 2)
    span = float(x[-1] - x[0]) or 1.0
    bucket = np.minimum(((x - x[0]) / span * buckets).astype("int64"), buckets - 1)
    order = np.lexsort((y, bucket))  # by bucket, then value: each bucket's first is its min, last its max
    grouped = bucket[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    ends = np.r_[starts[1:], n] - 1
    return np.unique(np.concatenate([order[starts], order[ends], [0, n - 1]]))


# ------------------------------------------------------------------ geometry


def _finite(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Dates (as ns since the epoch, float) and values of the finite points, in date order."""
    if series is None or len(series) == 0:
        return np.empty(0), np.empty(0)
    index = pd.DatetimeIndex(series.index)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    x = index.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
    y = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    keep = np.isfinite(y) & ~index.isna()  # drops NaN/inf values (as dropna did) and NaT dates
    x, y = x[keep], y[keep]
    if len(x) > 1 and np.any(np.diff(x) < 0):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    return x, y


def _fmt_points(px: np.ndarray, py: np.ndarray) -> str:
    """``M x,y L x,y …`` with one decimal, formatted in one C call (no Python loop over points)."""
    n = len(px)
    if n == 0:
        return ""
    pairs = np.empty(2 * n)
    pairs[0::2], pairs[1::2] = np.round(px, 1) + 0.0, np.round(py, 1) + 0.0
    return ("M%.1f,%.1f" + "L%.1f,%.1f" * (n - 1)) % tuple(pairs.tolist())


class _Frame:
    """Maps dates and values onto a plot box and builds the shared axis markup."""

    def __init__(
        self,
        box: Box,
        xs: Sequence[np.ndarray],
        lo: float,
        hi: float,
        *,
        labels: str,
        with_zero: bool,
        sessions: bool = False,
    ) -> None:
        self.box = box
        xs = [x for x in xs if len(x)]
        self.x0 = min(float(x[0]) for x in xs) if xs else 0.0
        self.x1 = max(float(x[-1]) for x in xs) if xs else 0.0
        if self.x1 <= self.x0:  # one date (or none): centre it in a two-day window
            self.x0, self.x1 = self.x0 - _NS_PER_DAY, self.x1 + _NS_PER_DAY
        # on a session axis every session gets the same width: no weekend or holiday gaps drawn as time
        self.days = np.unique(np.concatenate(xs)) if sessions and xs else None
        if self.days is not None and len(self.days) < 2:
            self.days = None
        if with_zero:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        if labels == "percent" and lo == hi == 0.0:
            lo, hi = -0.01, 0.01  # a flat 0% line on a ±1% axis, not ±100%
        # as many value labels as fit the plot's height at the largest (phone) font size
        self.ticks = nice_ticks(lo, hi, most=max(3, min(6, int(box.height // (MAX_FONT * 1.4)))))
        self.lo, self.hi = float(self.ticks[0]), float(self.ticks[-1])
        self.labels = {"money": money_labels, "percent": percent_labels}.get(labels, plain_labels)(self.ticks)
        self.has_dates = bool(xs)

    def _position(self, x: np.ndarray) -> np.ndarray:
        """0..1 along the x axis: by time, or by session ordinal on a session axis."""
        if self.days is None:
            return (x - self.x0) / (self.x1 - self.x0)
        return np.interp(x, self.days, np.arange(len(self.days), dtype="float64")) / (len(self.days) - 1)

    def px(self, x: np.ndarray) -> np.ndarray:
        return self.box.left + self._position(x) * self.box.width

    def py(self, y: np.ndarray | float) -> np.ndarray:
        return self.box.bottom - (np.asarray(y, dtype="float64") - self.lo) / (self.hi - self.lo) * self.box.height

    def line(self, x: np.ndarray, y: np.ndarray) -> str:
        keep = envelope(self._position(x), y)
        return _fmt_points(self.px(x[keep]), self.py(y[keep]))

    def area(self, x: np.ndarray, y: np.ndarray) -> str:
        """The region between the values and zero (clipped to the axis)."""
        if len(x) == 0:
            return ""
        keep = envelope(self._position(x), y)
        px, py = self.px(x[keep]), self.py(y[keep])
        base = float(np.clip(self.py(0.0), self.box.top, self.box.bottom))
        return _fmt_points(np.r_[px[0], px, px[-1]], np.r_[base, py, base]) + "Z"

    def context(self, label: str, height: float) -> dict[str, Any]:
        yticks = [
            Tick(f"{p:.1f}", text, repr(float(v)))
            for p, text, v in zip(self.py(self.ticks).tolist(), self.labels, self.ticks.tolist())
        ]
        xticks = []
        if self.has_dates:
            for when, text in date_ticks(pd.Timestamp(int(self.x0), unit="ns"), pd.Timestamp(int(self.x1), unit="ns")):
                pos = float(self.px(np.asarray(float(when.value))))
                if self.box.left - 0.05 <= pos <= self.box.right + 0.05:
                    xticks.append(Tick(f"{pos:.1f}", text, f"{when:%Y-%m-%d}"))
        return {
            "label": label,
            "width": f"{WIDTH:.0f}",
            "height": f"{height:.0f}",
            "box": self.box,
            "yticks": yticks,
            "xticks": xticks,
        }


def _range(values: Sequence[np.ndarray]) -> tuple[float, float]:
    finite = [v for v in values if len(v)]
    if not finite:
        return 0.0, 1.0
    return min(float(v.min()) for v in finite), max(float(v.max()) for v in finite)


def _render(name: str, context: Mapping[str, Any]) -> str:
    return environment().get_template(name).render(**context).strip()


def _legend(box: Box, entries: Sequence[tuple[str, str, str]]) -> list[dict[str, str]]:
    """One row above the plot (never over the data): entries are (name, colour, "line" | "area")."""
    x, y = box.left, box.top - LEGEND_HEIGHT / 2
    rows = []
    for name, colour, kind in entries:
        rows.append(
            {
                "name": name,
                "colour": colour,
                "kind": kind,
                "x": f"{x:.1f}",
                "x2": f"{x + 16:.1f}",
                "tx": f"{x + 21:.1f}",
                "ty": f"{y + 4:.1f}",
                "ly": f"{y:.1f}",
                "ry": f"{y - 4:.1f}",
            }
        )
        x += 21 + 0.58 * MAX_FONT * len(name) + 16  # text width at the largest (phone) font size
    return rows


def _box(height: float, legend: bool) -> Box:
    return Box(66.0, 12.0 + (LEGEND_HEIGHT if legend else 0.0), WIDTH - 18.0, height - 34.0)


# -------------------------------------------------------------------- charts


def _to_ns(when: Any) -> float:
    stamp = pd.Timestamp(when)
    if stamp.tz is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return float(stamp.value)


def line_chart(
    series: Mapping[str, pd.Series],
    *,
    label: str,
    percent: bool = False,
    money: bool = False,
    spans: Sequence[tuple[Any, Any, str]] = (),
    span_name: str = "",
    markers: Sequence[Mapping[str, Any]] = (),
    dashed: Sequence[str] = (),
    height: float = 260.0,
    sessions: bool = False,
) -> str:
    """One line per named series over dates (the first series is drawn strongest).

    NaN values are dropped (the line joins its neighbours); a zero line is drawn for non-money values.
    ``spans`` are ``(start, end, title)`` date ranges shaded behind the lines (e.g. drawdown periods,
    named ``span_name`` in the legend); ``markers`` are points drawn on top, each a mapping with
    ``date``, ``value``, ``kind`` (``entry`` ▲ or ``exit`` ▼, or ``add``/``trim``), ``title`` and ``qty``.
    Series named in ``dashed`` are drawn dashed. ``sessions`` spaces the dates evenly (one step per
    session given) instead of by calendar time.
    """
    data = [(str(name), *_finite(values)) for name, values in series.items()]
    legend_on = len(data) > 1 or bool(spans)
    height = height + (LEGEND_HEIGHT if legend_on else 0.0)
    box = _box(height, legend=legend_on)
    frame = _Frame(
        box,
        [x for _, x, _ in data],
        *_range([y for _, _, y in data]),
        labels="money" if money else "percent" if percent else "plain",
        with_zero=percent,
        sessions=sessions,
    )
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(data))]
    lines = [
        {
            "name": name,
            "d": frame.line(x, y),
            "colour": colours[i],
            "width": "1.6" if i == 0 else "1.1",
            "dash": "5 3" if name in dashed else "",
        }
        for i, (name, x, y) in enumerate(data)
        if len(x)
    ]
    zero = None if money or not frame.lo < 0.0 < frame.hi else f"{float(frame.py(0.0)):.1f}"
    entries = [(name, colours[i], "line") for i, (name, _, _) in enumerate(data)] if len(data) > 1 else []
    if spans:
        entries.append((span_name or "shaded", RED, "span"))
    span_rows = []
    for start, end, title in spans:
        x0, x1 = (float(np.clip(frame.px(np.asarray(_to_ns(t))), box.left, box.right)) for t in (start, end))
        span_rows.append(
            {
                "x": f"{x0:.1f}",
                "w": f"{max(x1 - x0, 1.0):.1f}",
                "start": f"{pd.Timestamp(start):%Y-%m-%d}",
                "end": f"{pd.Timestamp(end):%Y-%m-%d}",
                "title": title,
                "colour": RED,
            }
        )
    return _render(
        "chart_lines.svg.j2",
        {
            **frame.context(label, height),
            "areas": [],
            "lines": lines,
            "zero": zero,
            "legend": _legend(box, entries) if entries else [],
            "spans": span_rows,
            "markers": _markers(frame, markers),
        },
    )


#: marker shapes: a triangle pointing up below the price (entries, adds) or down above it (exits, trims)
_MARKER_STYLE = {"entry": (GREEN, 1), "add": (GREEN, 1), "exit": (RED, -1), "trim": (RED, -1)}


def _markers(frame: _Frame, markers: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    out = []
    for m in markers:
        colour, up = _MARKER_STYLE.get(str(m["kind"]), (PALETTE[2], 1))
        x = float(frame.px(np.asarray(_to_ns(m["date"]))))
        y = float(frame.py(float(m["value"])))
        size = 7.0 if m["kind"] in ("entry", "exit") else 3.0
        # tip on the price, body away from it
        d = (
            f"M{x:.1f},{y:.1f}L{x - size:.1f},{y + up * size * 1.6:.1f}L{x + size:.1f},{y + up * size * 1.6:.1f}Z"
            if up > 0
            else f"M{x:.1f},{y:.1f}L{x - size:.1f},{y - size * 1.6:.1f}L{x + size:.1f},{y - size * 1.6:.1f}Z"
        )
        out.append(
            {
                "d": d,
                "kind": str(m["kind"]),
                "colour": colour,
                "date": f"{pd.Timestamp(m['date']):%Y-%m-%d}",
                "price": repr(float(m["value"])),
                "qty": repr(float(m.get("qty", math.nan))),
                "title": str(m.get("title", "")),
            }
        )
    return out


def step_chart(series: pd.Series, *, label: str, height: float = 170.0) -> str:
    """A quantity held over dates (e.g. shares of one symbol) drawn as a filled step: it changes only at trades."""
    x, y = _finite(series)
    box = _box(height, legend=False)
    frame = _Frame(box, [x], *_range([y]), labels="plain", with_zero=True)
    if len(x):
        sx = np.repeat(x, 2)[1:]
        sy = np.repeat(y, 2)[:-1]
        base = float(np.clip(frame.py(0.0), box.top, box.bottom))
        px, py = frame.px(sx), frame.py(sy)
        d = _fmt_points(np.r_[px[0], px, px[-1]], np.r_[base, py, base]) + "Z"
        areas = [{"d": d, "colour": PALETTE[0], "opacity": "0.3"}]
        lines = [{"name": "position", "d": _fmt_points(px, py), "colour": PALETTE[0], "width": "1.1"}]
    else:
        areas, lines = [], []
    return _render(
        "chart_lines.svg.j2",
        {**frame.context(label, height), "areas": areas, "lines": lines, "zero": None, "legend": []},
    )


def bar_chart(table: pd.DataFrame, *, label: str, height: float = 240.0) -> str:
    """Grouped bars: one group per row of ``table`` (e.g. a year), one bar per column (e.g. strategy, benchmark).

    Values are fractions (drawn as percent); NaN bars are left out. Category labels thin out when many.
    """
    values = table.to_numpy(dtype="float64", na_value=np.nan)
    names = [str(c) for c in table.columns]
    legend_on = len(names) > 1
    height = height + (LEGEND_HEIGHT if legend_on else 0.0)
    box = _box(height, legend=legend_on)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.01)
    frame = _Frame(box, [], lo, hi, labels="percent", with_zero=True)
    n = max(len(table.index), 1)
    slot = box.width / n
    bar_w = slot * 0.8 / max(len(names), 1)
    zero = float(frame.py(0.0))
    bars = []
    for (r, c), v in np.ndenumerate(values):
        if not math.isfinite(v):
            continue
        x = box.left + r * slot + slot * 0.1 + c * bar_w
        y = float(frame.py(v))
        bars.append(
            {
                "x": f"{x:.1f}",
                "y": f"{min(y, zero):.1f}",
                "w": f"{bar_w - 1:.1f}",
                "h": f"{max(abs(zero - y), 0.5):.1f}",
                "colour": PALETTE[c % len(PALETTE)],
                "series": names[c],
                "category": str(table.index[r]),
                "value": repr(float(v)),
                "title": f"{table.index[r]} {names[c]}: {v * 100:+.1f}%",
            }
        )
    # category labels: about six fit a phone-width chart
    every = max(1, math.ceil(n / MAX_DATE_TICKS))
    categories = [
        {"x": f"{box.left + (i + 0.5) * slot:.1f}", "text": str(cat)}
        for i, cat in enumerate(table.index)
        if i % every == 0
    ]
    context = {
        **frame.context(label, height),
        "bars": bars,
        "categories": categories,
        "zero": f"{zero:.1f}",
        "legend": _legend(box, [(name, PALETTE[i % len(PALETTE)], "area") for i, name in enumerate(names)])
        if legend_on
        else [],
    }
    return _render("chart_bars.svg.j2", context)


def drawdown_chart(drawdown: pd.Series, *, label: str = "Drawdown", sessions: bool = False) -> str:
    """Area below zero showing the distance from the running peak.

    The axis runs from 0 down to the deepest drawdown (at least to −1%, so no drawdown is a flat
    line at the top of a small axis, never a line in the middle of ±100%).
    """
    height = 200.0
    x, y = _finite(drawdown)
    box = _box(height, legend=False)
    lo = min(float(y.min()) if len(y) else 0.0, -0.01)
    frame = _Frame(box, [x], lo, 0.0, labels="percent", with_zero=False, sessions=sessions)
    areas = [{"d": frame.area(x, y), "colour": RED, "opacity": "0.35"}] if len(x) else []
    lines = [{"d": frame.line(x, y), "colour": RED, "width": "0.8"}] if len(x) else []
    return _render(
        "chart_lines.svg.j2",
        {**frame.context(label, height), "areas": areas, "lines": lines, "zero": None, "legend": []},
    )


def exposure_chart(gross: pd.Series, net: pd.Series, *, label: str = "Exposure") -> str:
    """Gross (sum of |weights|, filled) and net (sum of weights, line) exposure over time."""
    height = 200.0 + LEGEND_HEIGHT
    gx, gy = _finite(gross)
    nx, ny = _finite(net)
    box = _box(height, legend=True)
    frame = _Frame(box, [gx, nx], *_range([gy, ny]), labels="percent", with_zero=True)
    areas = [{"d": frame.area(gx, gy), "colour": PALETTE[0], "opacity": "0.2"}] if len(gx) else []
    lines = [{"d": frame.line(nx, ny), "colour": PALETTE[2], "width": "1.1"}] if len(nx) else []
    zero = f"{float(frame.py(0.0)):.1f}" if frame.lo < 0.0 < frame.hi else None
    legend = _legend(box, [("gross", PALETTE[0], "area"), ("net", PALETTE[2], "line")])
    return _render(
        "chart_lines.svg.j2",
        {**frame.context(label, height), "areas": areas, "lines": lines, "zero": zero, "legend": legend},
    )


def _hex_to_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype="float64")


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB colours (last axis = r, g, b in 0..255)."""
    c = rgb / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def heat_colours(values: np.ndarray, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """Fill and text colour per value: red below zero, green above, symmetric over ``±bound``.

    The text colour is the dark ink or white, whichever has the higher WCAG contrast with the fill.
    """
    t = np.clip(np.nan_to_num(values / bound), -1.0, 1.0)[..., None]
    mid = _hex_to_rgb(NEUTRAL)
    rgb = np.where(t < 0, mid + (_hex_to_rgb(RED) - mid) * -t, mid + (_hex_to_rgb(GREEN) - mid) * t)
    rgb = np.rint(rgb).astype("int64")
    fills = np.array([f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb.reshape(-1, 3).tolist()]).reshape(values.shape)
    lum = _luminance(rgb.astype("float64"))
    dark = (lum + 0.05) / (float(_luminance(_hex_to_rgb(INK))) + 0.05)
    light = 1.05 / (lum + 0.05)
    return fills, np.where(dark >= light, INK, PAPER)


def monthly_heatmap(table: pd.DataFrame, *, label: str = "Monthly returns") -> str:
    """Years × months grid coloured red to green (symmetric around 0), each cell labelled with its return in %.

    NaN months (before the start, after the end) are left blank.
    """
    values = table.reindex(columns=range(1, 13)).to_numpy(dtype="float64", na_value=np.nan)
    rows = max(len(table.index), 1)
    cell_h = 32.0
    box = Box(46.0, 8.0, WIDTH - 14.0, 8.0 + cell_h * rows)
    height = box.bottom + 22.0
    cell_w = box.width / 12
    finite = values[np.isfinite(values)]
    bound = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 0.01
    fills, inks = heat_colours(values, bound)
    cells = [
        {
            "x": f"{box.left + c * cell_w:.1f}",
            "y": f"{box.top + r * cell_h:.1f}",
            "cx": f"{box.left + (c + 0.5) * cell_w:.1f}",
            "cy": f"{box.top + (r + 0.5) * cell_h + 4:.1f}",
            "fill": fills[r, c],
            "ink": inks[r, c],
            "text": f"{v * 100:.1f}",
            "month": c + 1,
            "year": str(table.index[r]),
        }
        for (r, c), v in np.ndenumerate(values)
        if math.isfinite(v)
    ]
    context = {
        "label": label,
        "width": f"{WIDTH:.0f}",
        "height": f"{height:.0f}",
        "box": box,
        "cell_w": f"{cell_w - 1:.1f}",
        "cell_h": f"{cell_h - 1:.1f}",
        "cells": cells,
        "years": [
            {"y": f"{box.top + (r + 0.5) * cell_h + 4:.1f}", "text": str(year)} for r, year in enumerate(table.index)
        ],
        "months": [{"x": f"{box.left + (c + 0.5) * cell_w:.1f}", "text": m} for c, m in enumerate(MONTHS)],
        "month_y": f"{box.bottom + 15:.1f}",
    }
    return _render("chart_heatmap.svg.j2", context)
