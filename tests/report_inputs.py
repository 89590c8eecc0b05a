"""Real-data inputs for the report tests: a small trend-following portfolio over 2019 SPY/TLT/GLD.

Imported by the report and browser tests (plain module, not a plugin).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from regimeflex.report.daily import BreakerState, DailyReportData
from regimeflex.report.tearsheet import TearSheetData
from regimeflex.types import Fill, Order, OrderResult, Position

DATA = Path(__file__).parent / "data" / "report"
#: a checkpoint as the ledger publishes it (SHA-256 head, HMAC signature)
LEDGER_ANCHOR = {
    "head": "9f2c1e7a5b3d4f608192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
    "sig": "hmac-sha256:4be1c0d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6b7c8d9e",
    "checkpoint": "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc",
    "entries": 42,
}
SYMBOLS = ("SPY", "TLT", "GLD")


def closes() -> pd.DataFrame:
    frames = {
        s: pd.read_csv(DATA / f"{s}-2019-lumibot.csv", index_col="Date", parse_dates=True)["Close"] for s in SYMBOLS
    }
    return pd.DataFrame(frames).astype("float64")


def portfolio() -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Equal weight across the assets trading above their 20-session average; next-day execution."""
    px = closes()
    above = (px > px.rolling(20).mean()).astype("float64")
    held = above.div(above.sum(axis=1).where(lambda n: n > 0), axis=0).fillna(0.0)
    returns = (held.shift(1).fillna(0.0) * px.pct_change(fill_method=None).fillna(0.0)).sum(axis=1)
    equity = 100_000.0 * (1.0 + returns).cumprod()
    change = held.diff().fillna(held)
    stacked = change.stack()
    stacked = stacked[stacked.abs() > 1e-12]
    trades = stacked.rename("dw").reset_index()
    trades.columns = ["date", "symbol", "dw"]
    price = px.stack().reindex(pd.MultiIndex.from_frame(trades[["date", "symbol"]])).to_numpy()
    eq = equity.reindex(trades["date"]).to_numpy()
    trades["qty"] = (trades["dw"].abs() * eq / price).round(0)
    trades["side"] = trades["dw"].map(lambda w: "buy" if w > 0 else "sell")
    trades["price"] = price
    return equity, held, trades[["date", "symbol", "side", "qty", "price"]]


def tearsheet_data() -> TearSheetData:
    equity, weights, trades = portfolio()
    return TearSheetData(
        equity=equity,
        benchmark=closes()["SPY"],
        benchmark_name="SPY",
        weights=weights,
        trades=trades,
        title="Trend 20 on SPY/TLT/GLD (2019)",
        params={"strategy": "above 20-session average, equal weight", "costs": "none"},
        generated_at=datetime(2020, 1, 2, 6, 0, tzinfo=UTC),
    )


def daily_data(**overrides: object) -> DailyReportData:
    equity, weights, _ = portfolio()
    px = closes()
    last = px.iloc[-1]
    fields: dict[str, object] = dict(
        session=date(2019, 12, 31),
        mode="paper",
        equity=float(equity.iloc[-1]),
        cash=2_150.25,
        regime="risk-on",
        regime_detail="SPY above its 200-session average",
        risk_scale=1.0,
        breakers=[
            BreakerState("max_drawdown", "ok", "drawdown 2.1% of 15% limit", value=0.021, threshold=0.15),
            BreakerState("daily_loss", "warning", "loss 1.4% of 2% limit", value=0.014, threshold=0.02),
            BreakerState("vix", "no data", "no VIX close for 2019-12-31", value=None, threshold=35.0),
        ],
        calendar_events=["FOMC meeting on 2020-01-29: rule reduce"],
        targets={s: float(w) for s, w in weights.iloc[-1].items()},
        positions={"SPY": Position("SPY", 120, 300.0), "TLT": Position("TLT", 95, 132.0)},
        prices={s: float(p) for s, p in last.items()},
        orders=[Order("GLD", "buy", 233, "rf-20191231-gld-buy-1"), Order("TLT", "sell", 95, "rf-20191231-tlt-sell-1")],
        order_results=[
            OrderResult("rf-20191231-gld-buy-1", "filled", "GLD", "buy", 233, 233, float(last["GLD"])),
            OrderResult("rf-20191231-tlt-sell-1", "rejected", "TLT", "sell", 95, 0, None, message="insufficient qty"),
        ],
        fills=[Fill("fill-1", "rf-20191231-gld-buy-1", "GLD", "buy", 233, float(last["GLD"]), 0.0)],
        reconciliation_ok=True,
        equity_curve=equity,
        pnl_day=float(equity.iloc[-1] - equity.iloc[-2]),
        generated_at=datetime(2019, 12, 31, 22, 0, tzinfo=UTC),
        ledger_anchor=LEDGER_ANCHOR,
    )
    fields.update(overrides)
    return DailyReportData(**fields)  # type: ignore[arg-type]


# ------------------------------------------------ a real 100-symbol backtest (2013-02-08 … 2018-02-07)

TREND = {"rule": "crossover", "fast": 20, "slow": 50}


def stocks100() -> pd.DataFrame:
    """Closes of 100 S&P 500 names over five years (real, see tests/data/report/SOURCES.md)."""
    frame = pd.read_csv(DATA / "stocks100-2013-2018-close.csv.gz", index_col="date", parse_dates=True)
    return frame.astype("float64")


def spy_2013_2017() -> pd.Series:
    return pd.read_csv(DATA / "SPY-2013-2017.csv", index_col="Date", parse_dates=True)["Adj Close"].astype("float64")


def real_backtest():  # -> regimeflex.backtest.results.BacktestResult
    """The built-in trend rule (SMA 20/50 crossover), equal weight over the longs, 5 bps commission,
    filled at the next close, through the backtest engine (so fills, weights and equity agree)."""
    from regimeflex.backtest.api import assemble
    from regimeflex.backtest.engine import Costs, SimConfig
    from regimeflex.builtins.trend import trend_signal
    from regimeflex.types import make_bars

    close = stocks100()
    bars = make_bars({f: close for f in ("open", "high", "low", "close")} | {"volume": close * 0 + 1e6})
    signal = trend_signal(bars, TREND).fillna(0.0)
    longs = signal.clip(lower=0.0)
    weights = longs.div(longs.sum(axis=1).where(lambda n: n > 0), axis=0).fillna(0.0)
    config = SimConfig(costs=Costs(commission_bps=5.0), fill="next_close", rebalance="weekly")
    return assemble(weights, bars, config, start=close.index[60])


def real_tearsheet_data(**overrides: object) -> TearSheetData:
    result = real_backtest()
    fields: dict[str, object] = dict(
        equity=result.equity["equity"],
        benchmark=spy_2013_2017(),
        benchmark_name="SPY",
        weights=result.weights,
        trades=result.trades,
        title="Trend 20/50 on 100 S&P 500 names",
        rules=("research mode: decisions at the close, filled at the next close", "costs: 5 bps commission"),
        data_info={
            "source": "all_stocks_5yr.csv (CNuge/kaggle-code)",
            "price_basis": "close, split-adjusted for some events (see SOURCES.md)",
            "coverage": "100 symbols, 1,259 sessions",
            "rejected_rows": 0,
            "synthetic": False,
        },
        generated_at=datetime(2018, 2, 8, 6, 0, tzinfo=UTC),
    )
    fields.update(overrides)
    return TearSheetData(**fields)  # type: ignore[arg-type]
