"""The daily cycle (DESIGN §4): one run, one trading session, every step logged and timed.

This module owns the order of the steps and nothing else: kill switch →
calendar → data → targets → circuit breakers → execution (plan, ledger
intents, broker, reconcile) → report → notifications, each timed with its
peak memory, ending in a :class:`RunSummary` the CLI prints as text or JSON.
Each step's substance lives in its layer; this module only wires them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from regimeflex.errors import (
    EXIT_KILLED,
    EXIT_OK,
    ConfigError,
    DataError,
    KillSwitchEngaged,
    LedgerBroken,
    RegimeFlexError,
    StorageError,
)
from regimeflex.log import get_logger, step
from regimeflex.types import Event, Level, check_bars

if TYPE_CHECKING:
    from regimeflex.config import Settings
    from regimeflex.plugins import PluginHost, Selection

log = get_logger("runner")

#: How long a run waits for the ledger lock before deciding another run is writing. Short-lived
#: writers (`regimeflex bot` moving a chat command's record into the ledger, `kill on --cancel-open`)
#: hold it for milliseconds; an overlapping run holds it for minutes and is still refused.
LEDGER_LOCK_WAIT_SECONDS = 2.0


@dataclass
class RunSummary:
    """What one run did; printed at the end and returned by ``--json``."""

    session: str | None
    status: str = "started"  # completed | killed | not_a_session | failed
    mode: str = "dry_run"
    regime: str | None = None
    breakers: list[dict[str, Any]] = field(default_factory=list)
    calendar: list[dict[str, Any]] = field(default_factory=list)
    targets: dict[str, float] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    equity: float | None = None
    pnl: float | None = None
    report_path: str | None = None
    #: the run's ledger checkpoint (head, sig, checkpoint, entries), published in the notification and report
    ledger_anchor: dict[str, Any] | None = None
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)  # what is off in the data: one summary line, then one per rule
    #: the held symbols' splits and dividends: provider, status (provider | cache | cache-fallback |
    #: not provided | nothing held), the ledger entries this run wrote (``recorded``)
    corporate_actions: dict[str, Any] = field(default_factory=dict)
    #: how the orders relate to today's targets: check same|changed|unknown when resumed, the plan
    #: attempt (0, then +1 per --replan), the ids a replan canceled
    plan: dict[str, Any] = field(default_factory=dict)
    exit_code: int = EXIT_OK
    #: the error that stopped the run, already logged once (with its traceback under REGIMEFLEX_DEBUG=1)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain, independent containers (what ``dataclasses.asdict`` gives, without its
        per-value ``deepcopy``: a 5,000-name run's orders and targets took 0.13 s each time)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: Any) -> Any:
    """A copy of a JSON-like value: new dicts, lists and tuples, dataclasses as dicts (as ``asdict`` does);
    scalars (immutable) shared."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


@dataclass(frozen=True)
class RunOptions:
    as_of: date | None = None
    live: bool = False
    refresh: bool = False
    now: datetime | None = None
    #: cancel the session's unsent/open intents and plan it anew (``run --replan``)
    replan: bool = False


def resolve_session(as_of: date | None, now: datetime | None = None) -> tuple[pd.Timestamp, bool]:
    """The session a run is for, and whether it is a trading session at all.

    An ``as_of`` after today in New York is a ConfigError (exit 2): a run trades a session that
    has begun, never one whose prices cannot exist yet."""
    from regimeflex.data import calendar

    today = calendar.ny_today(now)
    day = pd.Timestamp(as_of) if as_of is not None else today
    if day > today:
        raise ConfigError(
            f"--as-of {day:%Y-%m-%d} is in the future (today in New York is {today:%Y-%m-%d}); "
            "run for today, 'last' or an earlier session"
        )
    return day, calendar.is_session(day)


def load_history(settings: Settings, host: PluginHost, session: pd.Timestamp, *, refresh: bool = False) -> Any:
    """Bars (cache first) for the universe, benchmark and VIX, ``history_sessions`` back from ``session``."""
    from regimeflex.data import calendar
    from regimeflex.data.service import load_bars
    from regimeflex.pipeline import reference_symbols

    window = calendar.sessions(session - pd.Timedelta(days=int(settings.run.history_sessions * 1.6) + 10), session)
    start = window[-settings.run.history_sessions] if len(window) >= settings.run.history_sessions else window[0]
    bars, report = load_bars(settings, host, reference_symbols(settings), start.date(), session.date(), refresh=refresh)
    check_bars(bars, where=f"data from '{settings.data.provider}'")
    if bars.empty:
        raise DataError(
            f"no bars at all for {session:%Y-%m-%d} from '{settings.data.provider}' or the cache; "
            f"check data.yaml and `regimeflex data info`"
        )
    return bars, report


def data_summary(settings: Settings, report: Any, session: pd.Timestamp) -> str | None:
    """The one line saying what is off in the run's data (None when nothing is)."""
    from regimeflex.data.coverage import roles_of, summary_line

    # the newest bar a run can have is the last *completed* session (report.end), not today mid-session
    return summary_line(report, roles_of(settings), min(session.date(), report.end))


def stale_symbols(settings: Settings, report: Any, session: pd.Timestamp) -> dict[str, int | None]:
    """Universe symbols whose newest bar is not the session's, with how many sessions behind the
    session being run it is (None = no bar at all). Measured against ``session`` itself, not the
    data layer's last completed session: a run before the close is one session behind."""
    from regimeflex.data import calendar

    out: dict[str, int | None] = {}
    for symbol in settings.run.universe:
        status = report.symbols.get(symbol)
        if status is None or status.last_bar is None:
            out[symbol] = None
        elif status.last_bar < session.date():
            out[symbol] = max(1, calendar.sessions_after(status.last_bar, session))
    return out


def run_cycle(settings: Settings, options: RunOptions = RunOptions(), host: PluginHost | None = None) -> RunSummary:
    """Run the daily cycle once and return what happened (never raises for expected failures)."""
    from regimeflex.notify.dispatch import Dispatcher
    from regimeflex.plugins import PluginHost

    host = host or PluginHost.load()
    session, is_session = resolve_session(options.as_of, options.now)
    summary = RunSummary(session=f"{session:%Y-%m-%d}", mode=settings.broker.mode)
    dispatcher = Dispatcher.from_settings(settings, host)
    try:
        _cycle(settings, options, host, session, is_session, summary, dispatcher)
    except KillSwitchEngaged as exc:  # engaged mid-run, outside the execution step
        log.risk("%s", exc)
        summary.status, summary.exit_code = "killed", exc.exit_code
        summary.messages.append(str(exc))
    except LedgerBroken as exc:  # verified before acting: nothing was planned or sent
        log.error("%s", exc)
        summary.status, summary.exit_code = "failed", exc.exit_code
        summary.messages.append(str(exc))
        dispatcher.send(
            Event(kind="ledger_broken", level=Level.ERROR, title="RegimeFlex: ledger does not verify", body=str(exc))
        )
    except RegimeFlexError as exc:
        # the one place the error is printed; the log shows the traceback (the plugin's own, chained)
        # when REGIMEFLEX_DEBUG=1. The summary and the console notifier do not repeat it.
        log.error("%s", exc, exc_info=exc)
        summary.status, summary.exit_code = "failed", exc.exit_code
        summary.messages.append(str(exc))
        summary.error = str(exc)
    if summary.status not in ("not_a_session",):
        dispatcher.send(summary_event(summary))
    delivery = dispatcher.close()
    for failure in delivery.failures:
        summary.messages.append(f"notification not delivered: {failure.to_dict()}")
    if summary.status != "not_a_session":
        _record_delivery(settings, delivery)
    return summary


def _record_delivery(settings: Settings, delivery: Any) -> None:
    """Notification outcomes (sent counts, every failure) go to the ledger, like everything else."""
    from regimeflex.errors import LedgerError
    from regimeflex.ledger.journal import open_journal

    try:
        with open_journal(settings.path(settings.run.paths.ledger), wait=LEDGER_LOCK_WAIT_SECONDS) as journal:
            journal.record("notify", delivery.to_dict())
            journal.checkpoint()  # the ledger always ends a run with a checkpoint
    except (LedgerError, StorageError) as exc:  # another run holds the lock, or the disk is full: say so
        log.error("notification outcome not recorded in the ledger: %s", exc)


def _cycle(
    settings: Settings,
    options: RunOptions,
    host: PluginHost,
    session: pd.Timestamp,
    is_session: bool,
    summary: RunSummary,
    dispatcher: Any,
) -> None:
    from regimeflex.config.broker import effective_mode, require_live_capable
    from regimeflex.execution.killswitch import KillSwitch
    from regimeflex.ledger.journal import open_journal
    from regimeflex.plugins import resolve

    kill = KillSwitch(settings.path(settings.run.paths.kill_switch))
    if kill.engaged():
        _stop_for_kill(settings, kill, summary, dispatcher)
        return
    if not is_session:
        log.info("%s is not an XNYS trading session; nothing to do", summary.session)
        summary.status = "not_a_session"
        summary.messages.append(f"{summary.session} is not a trading session")
        return
    summary.mode = effective_mode(settings.broker, options.live)

    # live needs a broker that trades for real and prices that are real: refused before any
    # data is loaded or any broker is contacted
    require_live_capable(
        summary.mode,
        broker=settings.broker.broker,
        broker_capabilities=host.capabilities(settings.broker.broker) if summary.mode == "live" else {},
        provider=settings.data.provider,
        provider_capabilities=host.capabilities(settings.data.provider) if summary.mode == "live" else {},
    )

    with step("config: plugins resolved", log) as figures:
        selection = resolve(settings, host)
    summary.steps["plugins"] = figures
    # One writer at a time: the journal holds the ledger lock for the whole run, so an
    # overlapping cron run stops here with a clear message instead of trading twice
    # (after riding out a short-lived writer such as the chat bot's command records).
    with open_journal(settings.path(settings.run.paths.ledger), wait=LEDGER_LOCK_WAIT_SECONDS) as journal:
        try:
            _locked_cycle(settings, options, host, selection, session, summary, dispatcher, journal)
        except StorageError as exc:
            # The cache, state or report folder failed: close the run in the ledger with why
            # (unless the ledger's own disk is the one that failed: then nothing more can be written).
            if not _is_ledger_failure(exc, journal):
                with contextlib.suppress(StorageError):
                    journal.end_session(status="failed", session=summary.session, error=str(exc))
            raise


def _is_ledger_failure(exc: StorageError, journal: Any) -> bool:
    ledger = Path(journal.path)
    return exc.path is not None and Path(exc.path) in (ledger, ledger.parent)


def _failed(summary: RunSummary, exc: RegimeFlexError) -> None:
    log.error("%s", exc)
    summary.status, summary.exit_code = "failed", exc.exit_code
    summary.messages.append(str(exc))


def _stop_for_kill(settings: Settings, kill: Any, summary: RunSummary, dispatcher: Any) -> None:
    from regimeflex.ledger.journal import open_journal

    info = kill.info() or {}
    reason = info.get("reason") or "no reason given"
    log.risk("kill switch engaged (%s): %s — nothing is sent", kill.path, reason)
    summary.status, summary.exit_code = "killed", EXIT_KILLED
    summary.messages.append(f"kill switch engaged: {reason}")
    from regimeflex.errors import LedgerError

    try:
        with open_journal(settings.path(settings.run.paths.ledger), wait=LEDGER_LOCK_WAIT_SECONDS) as journal:
            journal.record(
                "kill", {"flag": str(kill.path), "reason": reason, "session": summary.session, "not_sent": []}
            )
    except (LedgerError, StorageError) as exc:  # the switch wins: still exit 3, and say why nothing was recorded
        log.error("kill not recorded in the ledger: %s", exc)
        summary.messages.append(f"kill not recorded in the ledger: {exc}")
    dispatcher.send(
        Event(
            kind="kill",
            level=Level.RISK,
            title="RegimeFlex: kill switch engaged",
            body=f"{reason} (flag {kill.path}); the run stopped before any data, order or broker call",
        )
    )


def _locked_cycle(
    settings: Settings,
    options: RunOptions,
    host: PluginHost,
    selection: Selection,
    session: pd.Timestamp,
    summary: RunSummary,
    dispatcher: Any,
    journal: Any,
) -> None:
    from regimeflex.data.actions import prices_for_signals
    from regimeflex.execution.session import execute_from_settings
    from regimeflex.pipeline import compute_targets

    with step("data: bars loaded (cache first) and validated", log) as figures:
        bars, data_report = load_history(settings, host, session, refresh=options.refresh)
    summary.steps["data"] = figures
    for event in data_report.events:
        dispatcher.send(event)
        summary.messages.append(event.title)
    data_line = data_summary(settings, data_report, session)
    if data_line:
        from regimeflex.data.coverage import findings_by_rule

        log.risk("%s", data_line)
        summary.data = [data_line, *findings_by_rule(data_report.validation.findings)]
    stale = stale_symbols(settings, data_report, session)
    if stale:
        described = ", ".join(f"{s} ({'no bars' if n is None else f'{n} session(s) behind'})" for s, n in stale.items())
        log.risk("stale data for %s: those positions are held as they are, no orders", described)
        summary.messages.append(f"stale data, held without trading: {described}")
    with step("corporate actions: held symbols' splits and dividends recorded", log) as figures:
        actions = record_corporate_actions_for_run(settings, host, session, journal, summary, dispatcher)
    summary.steps["corporate_actions"] = figures
    with step("signals → sizing: targets computed", log) as figures:
        # raw prices: the strategies see them back-adjusted for the provider's splits/dividends (a held
        # stock's 2-for-1 is no −50 % move); orders, positions and cash stay on the raw prices
        signal_bars, basis = prices_for_signals(settings, host, bars, session.date())
        panel = compute_targets(signal_bars, selection, host, settings)
    summary.corporate_actions["prices"] = {"status": basis.status, "line": basis.line}
    if basis.status in ("not provided", "cache-fallback") and not any(
        m.startswith("corporate actions:") for m in summary.messages
    ):
        summary.messages.append(basis.line)
    summary.steps["targets"] = figures
    if panel.regime is not None and pd.notna(panel.regime.iloc[-1]):
        summary.regime = str(panel.regime.iloc[-1])
    guard = panel.notes["calendar"].iloc[-1]
    summary.calendar = [
        {"event": k, "rule": str(getattr(settings.risk.calendar, k).rule), "state": "event"}
        for k in ("fomc", "opex", "early_close")
        if bool(guard[k])
    ]
    _report_unknown_calendar(settings, session, guard, summary)
    targets = panel.last()
    prices = bars["close"].ffill().iloc[-1]  # reference prices; stale symbols are held, not traded

    with step("risk: circuit breakers checked", log) as figures:
        account = account_now(settings, host, selection, summary.mode, session, journal, prices, bars, actions)
        targets = _apply_breakers(
            settings,
            session,
            bars,
            targets,
            account,
            summary,
            dispatcher,
            journal,
            stale_sessions=max([n or settings.run.history_sessions for n in stale.values()], default=0),
        )
        targets = _hold_stale(targets, account, prices, stale)
    summary.steps["breakers"] = figures
    summary.targets = {s: round(float(w), 6) for s, w in targets.items() if abs(w) > 1e-12}

    fills_before = set(journal.state.fills)
    with step("execution: orders planned, recorded, sent, reconciled", log) as figures:
        outcome = execute_from_settings(
            settings,
            host,
            session=session.date(),
            targets=targets,
            prices=prices,
            bars=bars,
            live=options.live,
            broker_settings=selection.broker.settings if selection.broker is not None else {},
            journal=journal,
            notify=dispatcher.send,
            replan=options.replan,
            corporate_actions=actions,
        )
    summary.steps["execution"] = figures
    status = {r.client_order_id: r.status for r in outcome.results}
    summary.orders = [
        {
            "symbol": o.symbol,
            "side": o.side,
            "qty": o.qty,
            "type": o.type,
            "client_order_id": o.client_order_id,
            "status": status.get(o.client_order_id, "intended" if summary.mode == "dry_run" else ""),
        }
        for o in outcome.orders
    ]
    summary.fills = [
        {k: fill.get(k) for k in ("symbol", "side", "qty", "price", "client_order_id")}
        for fid, fill in journal.state.fills.items()
        if fid not in fills_before
    ]
    summary.plan = {"attempt": outcome.attempt, "resumed": outcome.resumed}
    if outcome.resumed:
        summary.plan["check"] = outcome.plan_check
        summary.messages.append(f"orders for {summary.session} were already intended; resumed, not re-planned")
    if outcome.replanned or options.replan:
        summary.plan["replanned"] = list(outcome.replanned)
    if outcome.plan_note and outcome.plan_check != "same":
        summary.messages.append(outcome.plan_note)
    summary.messages.extend(outcome.notes)
    summary.messages.extend(f"skipped {s.symbol}: {s.reason}" for s in outcome.skipped)
    summary.messages.extend(outcome.errors)
    after = account_now(settings, host, selection, summary.mode, session, journal, prices, bars, actions)
    summary.equity = round(after.equity, 2)
    summary.pnl = round(after.equity - settings.run.initial_equity, 2)
    if outcome.killed:
        summary.status, summary.exit_code = "killed", outcome.exit_code
    elif outcome.errors:
        summary.status, summary.exit_code = "failed", outcome.exit_code
    else:
        summary.status = "completed"
    stored_error: dict[str, str] = {}
    try:
        # anchor what this run recorded; the signed head is published in the report and the notification
        summary.ledger_anchor = journal.checkpoint()
        with step("report: daily HTML written", log) as figures:
            scale = None if panel.scale is None else float(panel.scale.iloc[-1])
            summary.report_path = str(
                _write_report(settings, session, summary, after, prices, targets, outcome, journal, scale)
            )
        summary.steps["report"] = figures
    except StorageError as exc:  # orders and fills are recorded: the ledger still gets its run_end
        _failed(summary, exc)
        stored_error["error"] = str(exc)
    journal.end_session(
        status=summary.status,
        orders=len(outcome.orders),
        sent=len(outcome.sent),
        fills=outcome.fills_recorded,
        equity=summary.equity,
        session=summary.session,
        **stored_error,
    )


def record_corporate_actions_for_run(
    settings: Settings, host: PluginHost, session: pd.Timestamp, journal: Any, summary: RunSummary, dispatcher: Any
) -> tuple[Any, ...]:
    """Ask the data provider (cache first) for the splits and cash dividends of every symbol the
    ledger holds, record those whose ex-date has come as ledger entries, and say in the summary what
    could not be seen. Returns the actions, which the broker context carries (the paper broker
    applies them to its own account)."""
    from regimeflex.data.actions import load_corporate_actions
    from regimeflex.ledger.corporate import record_corporate_actions

    since = {s: d + timedelta(days=1) for s, d in journal.state.held_since().items()}
    report = load_corporate_actions(settings, host, since, session.date())
    written = record_corporate_actions(journal, report.actions, through=session.date()) if report.actions else []
    summary.corporate_actions = {**report.as_dict(), "recorded": written}
    for event in report.events:
        dispatcher.send(event)
    if report.line:
        if report.status == "not provided":
            log.risk("%s: positions, cost basis and cash do not include splits or dividends", report.line)
        summary.messages.append(report.line)
    for entry in written:
        what = f"split {entry['ratio']:g}-for-1" if "ratio" in entry else f"dividend {entry['amount']:,.2f}"
        log.info("corporate action recorded: %s %s (ex %s)", entry["symbol"], what, entry["ex_date"])
        summary.messages.append(f"corporate action: {entry['symbol']} {what} on {entry['ex_date']}")
    return tuple(report.actions)


def _report_unknown_calendar(settings: Settings, session: pd.Timestamp, guard: Any, summary: RunSummary) -> None:
    """A guard that cannot see says so: outside the FOMC table the state is ``unknown`` (RISK line)."""
    from regimeflex.risk.calendar import fomc_unknown_message

    cal = settings.risk.calendar
    if not bool(guard["fomc_unknown"]) or cal.fomc.kind == "allow":
        return
    message = fomc_unknown_message(session.date(), session.date(), 1, cal)
    log.risk("%s", message)
    summary.calendar.append({"event": "fomc", "rule": str(cal.fomc.rule), "state": "unknown"})
    summary.messages.append(message)


def account_now(
    settings: Settings,
    host: PluginHost,
    selection: Selection,
    mode: str,
    session: pd.Timestamp,
    journal: Any,
    prices: pd.Series,
    bars: Any,
    corporate_actions: Any = (),
) -> Any:
    """The account the breakers and the summary use: the broker's own (paper/live brokers that
    report one), else the ledger's view (dry runs: configured equity plus recorded fills; and
    any run once the kill switch is engaged, since then no broker call is made at all)."""
    from regimeflex.errors import KillSwitchEngaged
    from regimeflex.execution.killswitch import KillSwitch
    from regimeflex.execution.session import ledger_account, make_context

    kill = KillSwitch(settings.path(settings.run.paths.kill_switch))
    if mode != "dry_run" and not kill.engaged():
        broker = selection.broker
        assert broker is not None, "a broker is selected whenever the mode is not dry_run"
        context = make_context(
            mode=mode,  # type: ignore[arg-type]  # validated by broker.yaml's model
            session=session.date(),
            broker_settings=broker.settings,
            state_dir=settings.path(settings.run.paths.state_dir),
            journal_path=journal.path,
            kill_switch=kill,
            bars=bars,
            initial_equity=settings.run.initial_equity,
            corporate_actions=corporate_actions,
        )
        try:
            account = host.broker_account(broker.name, context=context)
        except KillSwitchEngaged:
            account = None
            log.risk("kill switch engaged: account taken from the ledger, the broker is not asked")
        if account is not None:
            return account
    return ledger_account(journal, prices, settings.run.initial_equity)


def _write_report(
    settings: Settings,
    session: pd.Timestamp,
    summary: RunSummary,
    account: Any,
    prices: pd.Series,
    targets: pd.Series,
    outcome: Any,
    journal: Any,
    risk_scale: float | None,
) -> Any:
    from regimeflex.report.daily import assemble_daily_report, write_daily_report

    data = assemble_daily_report(
        session=session.date(),
        mode=summary.mode,
        equity=summary.equity,
        account_equity=account.equity,
        cash=account.cash,
        positions=account.positions,
        regime=summary.regime,
        breakers=summary.breakers,
        risk_scale=risk_scale,
        calendar=summary.calendar,
        targets={s: float(w) for s, w in targets.items()},
        prices={s: float(p) for s, p in prices.items()},
        orders=list(outcome.orders),
        order_results=list(outcome.results),
        ledger_fills=journal.state.fills,
        todays_orders={str(x.get("client_order_id")) for x in summary.fills},
        reconcile=outcome.reconcile,
        equity_by_session=journal.state.equity,
        notes=summary.messages,
        ledger_anchor=summary.ledger_anchor,
        data_notes=summary.data,
        plan_note=outcome.plan_note,
        plan_changed=outcome.plan_check in ("changed", "unknown"),
    )
    return write_daily_report(data, settings.path(settings.run.paths.reports_dir))


def current_weights(account: Any, prices: pd.Series) -> pd.Series:
    """Each held symbol's weight of equity at the reference prices."""
    return pd.Series(
        {s: p.qty * float(prices.get(s, p.avg_price)) / account.equity for s, p in account.positions.items()},
        dtype="float64",
    )


def _hold_stale(targets: pd.Series, account: Any, prices: pd.Series, stale: dict[str, int | None]) -> pd.Series:
    """Never trade on stale data: a symbol without today's bar keeps its current weight."""
    if not stale:
        return targets
    held = current_weights(account, prices)
    out = targets.copy()
    for symbol in stale:
        if symbol in out.index:
            out[symbol] = float(held.get(symbol, 0.0))
    return out


#: Why a breaker has no input in a daily run, as the summary says it.
_NO_DATA_WHY = {
    "daily_loss": "no previous session's equity in the ledger yet",
    "max_drawdown": "no account equity",
    "stale_data": "no staleness measured",
    "concentration": "no positions read",
}


def _apply_breakers(
    settings: Settings,
    session: pd.Timestamp,
    bars: Any,
    targets: pd.Series,
    account: Any,
    summary: RunSummary,
    dispatcher: Any,
    journal: Any,
    *,
    stale_sessions: int,
) -> pd.Series:
    """Evaluate the circuit breakers on the live numbers and cut the targets accordingly."""
    from dataclasses import replace

    from regimeflex.risk.breakers import BreakerInputs, apply_breaker_action, check_circuit_breakers
    from regimeflex.risk.state import load_risk_state, risk_state_path, save_risk_state

    path = risk_state_path(settings)
    state = load_risk_state(path)
    prices = bars["close"].ffill().iloc[-1]  # reference prices; stale symbols are held, not traded
    current = current_weights(account, prices)
    vix = _session_close(bars, settings.risk.regime.vix_symbol, session)
    inputs = BreakerInputs(
        session=session.date(),
        equity=account.equity,
        previous_close_equity=journal.state.equity_before(session.date().isoformat()),
        vix=vix,
        stale_sessions=stale_sessions,
        rejected_orders=sum(1 for v in journal.state.orders_for(session.date()) if v.status == "rejected"),
        orders_today=len(journal.state.orders_for(session.date())),
        weights=current.to_dict(),
    )
    decision = check_circuit_breakers(inputs, settings.risk.circuit_breakers, state.breakers)
    for event in decision.events:
        journal.record("breaker", {**event.data, "title": event.title})
        dispatcher.send(event)
    summary.breakers = [
        {"name": name, "state": "tripped", **decision.state.tripped[name].to_dict()}
        if name in decision.tripped
        else {
            "name": name,
            "state": decision.status(name),
            "value": decision.values.get(name),
            "threshold": spec.threshold,
            "action": spec.action,
        }
        for name, spec in settings.risk.circuit_breakers.enabled().items()
    ]
    if decision.no_data:
        vix_symbol = settings.risk.regime.vix_symbol
        why = {
            **_NO_DATA_WHY,
            "vix": f"no {vix_symbol} close for {session:%Y-%m-%d}"
            if vix_symbol
            else "no VIX series configured: set risk.yaml regime.vix_symbol",
        }
        blind = ", ".join(f"{n} ({why.get(n, 'input missing')})" for n in decision.no_data)
        log.risk("circuit breakers without data (they cannot trip this session): %s", blind)
        summary.messages.append(f"circuit breakers without data: {blind}")
    save_risk_state(path, replace(state, breakers=decision.state, regime=summary.regime, regime_session=session.date()))
    if not decision.tripped:
        return targets
    return apply_breaker_action(targets, current.reindex(targets.index).fillna(0.0), decision)


def _session_close(bars: Any, symbol: str | None, session: pd.Timestamp) -> float | None:
    """``symbol``'s close on ``session`` itself (None when there is no such series or bar: an
    older close would be a stale reading presented as today's)."""
    if not symbol or symbol not in bars["close"] or session not in bars.index:
        return None
    value = bars["close"][symbol].loc[session]
    return None if pd.isna(value) else float(value)


def summary_event(summary: RunSummary) -> Event:
    level = {"completed": Level.SUCCESS, "killed": Level.RISK, "failed": Level.ERROR}.get(summary.status, Level.INFO)
    title = f"RegimeFlex {summary.session}: {summary.status}"
    lines = [
        f"mode {summary.mode}",
        f"regime {summary.regime or 'n/a'}",
        f"{len(summary.orders)} orders, {len(summary.fills)} fills",
    ]
    if summary.breakers:
        states = [b.get("state") for b in summary.breakers]
        lines.append(
            f"breakers {states.count('ok')} ok, {states.count('tripped')} tripped, {states.count('no data')} no data"
        )
    if summary.equity is not None:
        lines.append(f"equity {summary.equity:,.2f}")
    if summary.ledger_anchor:
        anchor = summary.ledger_anchor
        lines.append(f"ledger head {anchor['head']} signature {anchor.get('sig') or 'none (no REGIMEFLEX_LEDGER_KEY)'}")
    if summary.status in ("failed", "killed"):
        lines.extend(summary.messages)

    attachments = (Path(summary.report_path),) if summary.report_path else ()
    return Event(
        kind="run_summary",
        level=level,
        title=title,
        body="; ".join(lines),
        data=summary.as_dict(),
        ts=datetime.now(UTC),
        attachments=attachments,
    )
