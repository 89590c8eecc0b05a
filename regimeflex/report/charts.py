"""Charts for the reports, as inline SVG text (matplotlib, no pyplot, no display).

Owns every figure the daily report and the tear sheet show: equity (against a
benchmark), drawdown, the monthly-returns heatmap, rolling Sharpe and
exposure. Figures are built with :class:`matplotlib.figure.Figure` directly
(thread-safe, no GUI backend), saved as SVG with text kept as text and a
fixed hash salt (so the same data gives the same file), and stripped of fixed
sizes so they scale to a phone screen.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")  # no display on servers and under cron

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

PALETTE = ("#1f6feb", "#8b949e", "#d29922", "#2da44e", "#cf222e")
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "regimeflex",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _figure(height: float = 2.6, left: float = 0.62) -> tuple[Figure, object]:
    # Fixed margins (in inches) instead of a layout engine: one draw per chart instead of two.
    width = 6.4
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - 0.12 / width, top=1 - 0.12 / height, bottom=0.36 / height)
    ax = fig.add_subplot()
    return fig, ax


def _svg(fig: Figure, label: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # drop the fixed pt size so CSS (width: 100%) scales it; the viewBox keeps the aspect ratio
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', text, count=1)
    return text.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)


def _money_tick(value: float) -> str:
    # short labels keep the y axis narrow on a phone: 120k, 1.5M
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:,.0f}"


def _dates(index: pd.Index) -> np.ndarray:
    return pd.DatetimeIndex(index).to_pydatetime()


def _date_axis(ax: object) -> None:
    # few, short labels: a phone-width chart has room for about six
    locator = AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)  # type: ignore[attr-defined]
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[attr-defined]


def line_chart(series: Mapping[str, pd.Series], *, label: str, percent: bool = False,
               money: bool = False) -> str:
    """One line per named series over dates (the first series is drawn strongest)."""
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        for i, (name, values) in enumerate(series.items()):
            values = values.dropna()
            ax.plot(_dates(values.index), values.to_numpy(dtype="float64"), label=name,
                    color=PALETTE[i % len(PALETTE)], linewidth=1.6 if i == 0 else 1.1)
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        elif money:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _money_tick(v)))
        if len(series) > 1:
            ax.legend(loc="upper left", frameon=False)
        _date_axis(ax)
        if percent:
            ax.axhline(0, color="#57606a", linewidth=0.6)
        return _svg(fig, label)


def drawdown_chart(drawdown: pd.Series, *, label: str = "Drawdown") -> str:
    """Area below zero showing the distance from the running peak."""
    with matplotlib.rc_context(_RC):
        fig, ax = _figure(height=2.0)
        values = drawdown.dropna()
        x = _dates(values.index)
        ax.fill_between(x, values.to_numpy(dtype="float64"), 0.0, color="#cf222e", alpha=0.35, linewidth=0)
        ax.plot(x, values.to_numpy(dtype="float64"), color="#cf222e", linewidth=0.8)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        _date_axis(ax)
        return _svg(fig, label)


def exposure_chart(gross: pd.Series, net: pd.Series, *, label: str = "Exposure") -> str:
    """Gross (sum of |weights|) and net (sum of weights) exposure over time."""
    with matplotlib.rc_context(_RC):
        fig, ax = _figure(height=2.0)
        x = _dates(gross.index)
        ax.fill_between(x, gross.to_numpy(dtype="float64"), 0.0, color=PALETTE[0], alpha=0.2, linewidth=0,
                        label="gross")
        ax.plot(x, net.to_numpy(dtype="float64"), color=PALETTE[2], linewidth=1.1, label="net")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.legend(loc="upper left", frameon=False)
        _date_axis(ax)
        return _svg(fig, label)


def monthly_heatmap(table: pd.DataFrame, *, label: str = "Monthly returns") -> str:
    """Years × months grid coloured red to green, each cell labelled with its return."""
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    values = table.reindex(columns=range(1, 13)).to_numpy(dtype="float64")
    rows = max(len(table.index), 1)
    with matplotlib.rc_context(_RC):
        fig, ax = _figure(height=0.6 + 0.32 * rows, left=0.5)
        finite = values[np.isfinite(values)]
        bound = float(np.nanmax(np.abs(finite))) if finite.size else 0.01
        ax.imshow(np.ma.masked_invalid(values), cmap="RdYlGn", vmin=-bound, vmax=bound, aspect="auto")
        ax.set_xticks(range(12), months)
        ax.set_yticks(range(len(table.index)), [str(y) for y in table.index])
        ax.grid(False)
        for (r, c), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(c, r, f"{v * 100:.1f}", ha="center", va="center", fontsize=7)
        for spine in ax.spines.values():
            spine.set_visible(False)
        return _svg(fig, label)
