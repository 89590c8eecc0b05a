"""Property tests: any column order / naming / date format variant of the same bars gives identical Bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeflex.data.normalize import bars_to_long, long_to_bars, normalize_frame

NAMES = {
    "date": ["Date", "date", "DATE", "timestamp", "Timestamp", "t", ""],
    "open": ["Open", "open", "o", "OPEN"],
    "high": ["High", "high", "h"],
    "low": ["Low", "low", "l"],
    "close": ["Close", "close", "c", "Close "],
    "volume": ["Volume", "volume", "v", "Vol"],
    "symbol": ["Name", "symbol", "Symbol", "ticker", "Ticker", "T"],
}
DATE_FORMATS = {
    "iso": lambda d: d.strftime("%Y-%m-%d"),
    "mdy": lambda d: f"{d.month}/{d.day}/{d.year}",
    "epoch_ms": lambda d: int(d.tz_localize("America/New_York").tz_convert("UTC").value // 10**6),
    "rfc3339_utc": lambda d: d.tz_localize("America/New_York").tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
}

prices = st.floats(min_value=0.01, max_value=1e5, allow_nan=False, allow_infinity=False)


@st.composite
def bar_tables(draw):
    """A canonical long table of 1–3 symbols × 1–8 sessions with positive prices."""
    n_days = draw(st.integers(1, 8))
    symbols = draw(st.lists(st.sampled_from(["SPY", "QQQ", "AAPL", "BRK.B"]), min_size=1, max_size=3, unique=True))
    days = pd.bdate_range("2021-03-01", periods=n_days)
    rows = []
    for sym in symbols:
        for day in days:
            o, h, low, c = (draw(prices) for _ in range(4))
            rows.append(
                {
                    "date": day,
                    "symbol": sym,
                    "open": o,
                    "high": max(o, h, low, c),
                    "low": min(o, h, low, c),
                    "close": c,
                    "volume": float(draw(st.integers(0, 10**9))),
                }
            )
    return pd.DataFrame(rows)


@st.composite
def variants(draw):
    table = draw(bar_tables())
    names = {field: draw(st.sampled_from(choices)) for field, choices in NAMES.items()}
    date_format = draw(st.sampled_from(sorted(DATE_FORMATS)))
    lower = draw(st.booleans())
    order = draw(st.permutations(list(NAMES)))
    shuffled_rows = draw(st.permutations(range(len(table))))
    return table, names, date_format, lower, order, list(shuffled_rows)


def render(table, names, date_format, lower, order, rows):
    out = pd.DataFrame(
        {
            names["date"]: [DATE_FORMATS[date_format](d) for d in table["date"]],
            names["symbol"]: [s.lower() if lower else s for s in table["symbol"]],
            **{names[f]: table[f] for f in ("open", "high", "low", "close", "volume")},
        }
    )
    return out.loc[:, [names[f] for f in order]].iloc[rows].reset_index(drop=True)


@settings(max_examples=30, deadline=None)
@given(variants())
def test_every_naming_order_and_date_variant_yields_identical_bars(case) -> None:
    table, names, date_format, lower, order, rows = case
    expected = long_to_bars(table)
    got = long_to_bars(normalize_frame(render(table, names, date_format, lower, order, rows)))
    pd.testing.assert_frame_equal(got, expected)


@settings(max_examples=15, deadline=None)
@given(bar_tables())
def test_bars_to_long_and_back_is_the_identity(table) -> None:
    bars = long_to_bars(table)
    pd.testing.assert_frame_equal(long_to_bars(bars_to_long(bars)), bars)


@settings(max_examples=15, deadline=None)
@given(bar_tables(), st.floats(min_value=0.1, max_value=10))
def test_adj_close_scales_every_price_by_the_same_factor(table, factor) -> None:
    raw = table.rename(columns={"symbol": "Name"}).assign(**{"Adj Close": table["close"] * factor})
    adjusted = normalize_frame(raw, adjusted=True)
    for field in ("open", "high", "low", "close"):
        np.testing.assert_allclose(adjusted[field], table[field] * factor, rtol=1e-12)
    np.testing.assert_array_equal(adjusted["volume"], table["volume"])
