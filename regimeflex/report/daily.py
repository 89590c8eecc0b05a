"""The daily report: what the cycle decided and did, on one page.

Owns :class:`DailyReportData` — the plain, frozen record the runner fills
at the end of a cycle — and turning it into a self-contained HTML page:
regime, circuit breakers, calendar events, targets against positions, orders
and their results, fills, the reconciliation result, and the equity curve
with its drawdown. The runner calls :func:`write_daily_report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from regimeflex.report import charts, metrics
from regimeflex.report.render import (
    ReportError,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_qty,
    render_template,
    sign_class,
    write_atomic,
)
from regimeflex.types import Fill, Order, OrderResult, Position


@dataclass(frozen=True)
class BreakerState:
    """One circuit breaker as the risk layer left it: ``state`` is ``ok`` (measured, below its
    threshold), ``no data`` (its input was missing), ``warning`` or ``tripped``.

    ``value`` is the input the breaker measured (None: not measured) and ``threshold`` what it is
    compared with; the report shows them side by side, and ``no data`` where the value is missing.
    """

    name: str
    state: str = "ok"
    detail: str = ""
    value: float | None = None
    threshold: float | None = None


@dataclass(frozen=True, eq=False)
class DailyReportData:
    """Everything the daily report shows; the runner fills it, nothing here is computed from I/O.

    ``targets`` are target weights (fractions of equity) by symbol;
    ``positions`` the positions after the run; ``prices`` the closing price
    used for each symbol (current weights are ``qty × price / equity``).
    ``equity_curve`` is the account's equity by session date (from the ledger),
    used for the equity and drawdown charts; it may be empty on the first run.
    ``reconciliation_ok`` is None when reconciliation did not run (dry run).
    ``ledger_anchor`` is the run's ledger checkpoint (``head``, ``sig``, ``checkpoint``,
    ``entries``): published here so a later rewrite of the ledger file can be detected
    with ``regimeflex ledger verify --head HASH``.
    """

    session: date
    mode: str
    equity: float
    cash: float = 0.0
    regime: str = "unknown"
    regime_detail: str = ""
    risk_scale: float | None = None
    breakers: Sequence[BreakerState] = ()
    calendar_events: Sequence[str] = ()
    targets: Mapping[str, float] = field(default_factory=dict)
    positions: Mapping[str, Position] = field(default_factory=dict)
    prices: Mapping[str, float] = field(default_factory=dict)
    orders: Sequence[Order] = ()
    order_results: Sequence[OrderResult] = ()
    fills: Sequence[Fill] = ()
    reconciliation_ok: bool | None = None
    reconciliation_notes: Sequence[str] = ()
    equity_curve: pd.Series | None = None
    pnl_day: float | None = None
    notes: Sequence[str] = ()
    ledger_anchor: Mapping[str, Any] | None = None
    data_notes: Sequence[str] = ()  # what is off in the run's data (summary line, then one line per rule)
    #: how the orders shown relate to the targets shown (resumed from an earlier plan, replanned);
    #: ``plan_changed`` when they may contradict each other, shown as a warning above both tables
    plan_note: str = ""
    plan_changed: bool = False
    generated_at: datetime | None = None
    title: str = "RegimeFlex daily report"


def breaker_detail(breaker: Mapping[str, Any]) -> str:
    """A breaker's input beside its threshold, as the report prints it (``no data`` says it cannot trip)."""
    threshold, action = breaker.get("threshold"), breaker.get("action")
    if breaker["state"] == "tripped":
        return f"value {breaker.get('value')} ≥ threshold {threshold}, action {action}"
    if breaker["state"] == "no data":
        return f"input missing: cannot trip (threshold {threshold}, action {action})"
    return f"value {breaker.get('value'):.4g} < threshold {threshold}, action {action}"


def calendar_line(event: Mapping[str, Any]) -> str:
    """One calendar-guard event; a guard outside its table says ``unknown``, never its rule."""
    if event.get("state") == "unknown":
        return f"{event['event']}: unknown (outside its table; rule {event['rule']} not applied)"
    return f"{event['event']}: {event['rule']}"


def assemble_daily_report(
    *,
    session: date,
    mode: str,
    equity: float | None,
    account_equity: float,
    cash: float,
    positions: Mapping[str, Position],
    regime: str | None,
    breakers: Sequence[Mapping[str, Any]],
    risk_scale: float | None,
    calendar: Sequence[Mapping[str, Any]],
    targets: Mapping[str, float],
    prices: Mapping[str, float],
    orders: Sequence[Order],
    order_results: Sequence[OrderResult],
    ledger_fills: Mapping[str, Mapping[str, Any]],
    todays_orders: set[str],
    reconcile: Any,
    equity_by_session: Mapping[str, float],
    notes: Sequence[str],
    ledger_anchor: Mapping[str, Any] | None,
    data_notes: Sequence[str],
    plan_note: str = "",
    plan_changed: bool = False,
) -> DailyReportData:
    """The daily report's record from what a run produced (the runner's whole interface to this page).

    ``equity_by_session`` is the ledger's view of earlier runs' closing equity
    (this session's ``equity`` is added here); ``ledger_fills`` are the
    ledger's fills, of which those of ``todays_orders`` are shown.
    """
    curve = pd.Series({pd.Timestamp(s): v for s, v in equity_by_session.items()}, dtype="float64")
    if equity is not None:
        curve.loc[pd.Timestamp(session)] = equity
    curve = curve.sort_index()
    previous = curve[curve.index < pd.Timestamp(session)]
    fills = [
        Fill(
            fill_id=fid,
            client_order_id=str(f.get("client_order_id", "")),
            symbol=str(f["symbol"]),
            side=f["side"],
            qty=float(f["qty"]),
            price=float(f["price"]),
            commission=float(f.get("commission") or 0.0),
        )
        for fid, f in ledger_fills.items()
        if f.get("client_order_id") in todays_orders
    ]
    return DailyReportData(
        session=session,
        mode=mode,
        equity=account_equity,
        cash=cash,
        regime=regime or "unknown",
        breakers=[
            BreakerState(
                name=b["name"],
                state=b["state"],
                detail=breaker_detail(b),
                value=b.get("value"),
                threshold=b.get("threshold"),
            )
            for b in breakers
        ],
        risk_scale=risk_scale,
        calendar_events=[calendar_line(c) for c in calendar],
        targets={s: float(w) for s, w in targets.items()},
        positions=positions,
        prices={s: float(p) for s, p in prices.items() if pd.notna(p)},
        orders=list(orders),
        order_results=list(order_results),
        fills=fills,
        reconciliation_ok=None if reconcile is None else reconcile.ok,
        reconciliation_notes=[] if reconcile is None else [str(m.as_dict()) for m in reconcile.mismatches],
        equity_curve=curve,
        pnl_day=None if previous.empty or equity is None else float(equity - previous.iloc[-1]),
        notes=list(notes),
        ledger_anchor=ledger_anchor,
        data_notes=list(data_notes),
        plan_note=plan_note,
        plan_changed=plan_changed,
    )


def _allocation_rows(data: DailyReportData) -> list[dict[str, Any]]:
    symbols = sorted(set(data.targets) | {s for s, p in data.positions.items() if p.qty})
    rows = []
    for symbol in symbols:
        position = data.positions.get(symbol)
        qty = position.qty if position else 0.0
        price = data.prices.get(symbol)
        value = qty * price if price is not None else None
        current = value / data.equity if value is not None and data.equity else None
        target = float(data.targets.get(symbol, 0.0))
        rows.append(
            {
                "symbol": symbol,
                "target": target,
                "current": current,
                "qty": qty,
                "price": price,
                "value": value,
                "gap": None if current is None else target - current,
            }
        )
    return rows


def _allocation_html(rows: list[dict[str, Any]]) -> Markup:
    """The allocation table's rows (each value escaped; same cells as the template had)."""
    return Markup(
        "\n".join(
            f'<tr data-symbol="{escape(r["symbol"])}"><td>{escape(r["symbol"])}</td><td>{fmt_pct(r["target"], 1)}</td>'
            f'<td>{fmt_pct(r["current"], 1)}</td><td class="{sign_class(r["gap"])}">{fmt_pct(r["gap"], 1, True)}</td>'
            f"<td>{fmt_qty(r['qty'])}</td><td>{fmt_num(r['price'])}</td><td>{escape(fmt_money(r['value']))}</td></tr>"
            for r in rows
        )
    )


def _orders_html(rows: list[dict[str, Any]], mode: str) -> Markup:
    """The orders table's rows: one per order with its broker result (``planned`` in a dry run)."""
    out = []
    for row in rows:
        o, r = row["order"], row["result"]
        kind = f"{escape(o.type)} @ {fmt_num(o.limit_price)}" if o.limit_price else escape(o.type)
        status = r.status if r else ("planned" if mode == "dry_run" else "no answer")
        out.append(
            f'<tr><td>{escape(o.symbol)}</td><td class="l">{escape(o.side)}</td><td>{fmt_qty(o.qty)}</td>'
            f'<td class="l">{kind}</td><td class="l">{escape(status)}</td>'
            f"<td>{fmt_qty(r.filled_qty) if r else '–'}</td><td>{fmt_num(r.filled_avg_price) if r else '–'}</td>"
            f'<td class="l"><code>{escape(o.client_order_id)}</code></td>'
            f'<td class="l">{escape(r.message) if r else ""}</td></tr>'
        )
    return Markup("\n".join(out))


def _session_dates(curve: pd.Series) -> tuple[pd.Series, int]:
    """The curve on XNYS session dates only (a weekend or holiday point is not a trading day), and
    how many points were dropped."""
    from regimeflex.data import calendar

    try:
        days = calendar.sessions(curve.index[0], curve.index[-1])
    except Exception:  # noqa: BLE001 - a calendar that cannot answer leaves the curve as given
        return curve, 0
    keep = curve.index.isin(days)
    return curve[keep], int((~keep).sum())


def _equity_section(curve: pd.Series | None, session: date) -> dict[str, Any]:
    none = {"equity_svg": "", "drawdown_svg": "", "max_drawdown": None, "total_return": None, "off_session": 0}
    if curve is None:
        return none
    curve = curve.dropna().astype("float64")
    curve.index = pd.DatetimeIndex(curve.index)
    # a report shows history up to its own session, even when replayed after later sessions
    curve = curve[curve.index <= pd.Timestamp(session)].sort_index()
    if len(curve) < 2:
        return none
    curve, dropped = _session_dates(curve)
    if len(curve) < 2:
        return none
    dd = metrics.drawdown(curve)
    return {
        "equity_svg": charts.line_chart({"equity": curve}, label="Equity curve", money=True, sessions=True),
        "drawdown_svg": charts.drawdown_chart(dd, sessions=True),
        "max_drawdown": float(dd.min()),
        "total_return": float(curve.iloc[-1] / curve.iloc[0] - 1.0),
        "off_session": dropped,
    }


def _fmt_input(value: float | None) -> str:
    if value is None or not isinstance(value, int | float) or value != value:
        return "no data"
    return f"{value:.4g}"


def render_daily(data: DailyReportData) -> str:
    """The daily report as one self-contained HTML document."""
    if not isinstance(data, DailyReportData):
        raise ReportError(f"daily report: expected DailyReportData, got {type(data).__name__}")
    results = {r.client_order_id: r for r in data.order_results}
    orders = [{"order": o, "result": results.get(o.client_order_id)} for o in data.orders]
    generated = data.generated_at or datetime.now(UTC)
    tripped = [b for b in data.breakers if b.state != "ok"]
    allocation = _allocation_rows(data)
    context = {
        "data": data,
        "generated": generated.strftime("%Y-%m-%d %H:%M UTC"),
        "allocation": allocation,
        "allocation_html": _allocation_html(allocation),
        "orders": orders,
        "orders_html": _orders_html(orders, data.mode),
        "tripped": tripped,
        "fill_notional": sum(f.qty * f.price for f in data.fills),
        "breaker_rows": [
            {
                "b": b,
                "css": b.state.replace(" ", "-"),
                "input": _fmt_input(b.value) if b.state != "no data" else "no data",
                "threshold": "–" if b.threshold is None else f"{b.threshold:.4g}",
            }
            for b in data.breakers
        ],
        **_equity_section(data.equity_curve, data.session),
    }
    return render_template("daily.html.j2", context)


def daily_report_path(reports_dir: Path, session: date) -> Path:
    """Where the report for ``session`` lives: ``<reports_dir>/daily/<YYYY-MM-DD>.html``."""
    return Path(reports_dir) / "daily" / f"{session:%Y-%m-%d}.html"


def write_daily_report(data: DailyReportData, reports_dir: Path) -> Path:
    """Render and atomically write the report; returns its path (see :func:`daily_report_path`)."""
    return write_atomic(daily_report_path(reports_dir, data.session), render_daily(data))
