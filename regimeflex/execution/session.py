"""The execution part of the daily cycle, in one call: :func:`execute_session`.

Owns steps 5–8 of DESIGN §4 and their crash safety. In order:

1. kill switch — engaged: a ``kill`` entry, a RISK event, no broker call;
2. recovery — every order the ledger still considers open (from this or an
   earlier session) is looked up at the broker by client order id; statuses
   and missing fills are written; unsent intents of earlier sessions expire;
3. plan — unless this session already has intents for this strategy and
   mode ("already intended": they are resumed, never re-planned), the
   planner turns targets into orders and *all* intents are written and
   fsynced in one commit before any broker call;
4. send — for each intent the broker has not seen: kill-switch check,
   ``order_sent`` entry, one ``execute_orders`` call, ``order_ack`` entry;
5. reconcile — statuses, fills, unknown/missing orders, position drift.

Every broker hook gets the run's kill-switch guard (``context.kill_switch``),
which the broker checks before every request and waits through between
attempts; a :class:`~regimeflex.errors.KillSwitchEngaged` from any broker call
ends the session with a ``kill`` entry and exit code 3, and no broker call of
any kind is made after that (the next run reconciles).

``dry_run`` stops after step 3 (intents written, nothing sent, no broker
call at all). Because every decision is taken from the ledger on disk and
every order carries a deterministic client order id that is looked up
before any resend, a rerun after a crash at any point neither sends an order
twice nor loses a fill. ``REGIMEFLEX_CRASH_AT`` (see
:mod:`regimeflex.ledger.faults`) kills the process at each boundary in tests.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from regimeflex.config.broker import OrderSettings
from regimeflex.errors import EXIT_ERROR, EXIT_KILLED, EXIT_OK, BrokerError, KillSwitchEngaged
from regimeflex.execution.killswitch import KillSwitch
from regimeflex.execution.planner import Plan, PlanRules, Skipped, plan_orders
from regimeflex.execution.protect import cancel_legs, places_stop_orders, protect_positions, working_legs
from regimeflex.execution.reconcile import ReconcileReport, reconcile, result_data, sync_with_broker
from regimeflex.execution.stops import StopRule, atr_panel, attach_stops, refuse_reentries, stop_rule
from regimeflex.killguard import KillGuard
from regimeflex.ledger import faults
from regimeflex.ledger.anchor import ledger_key, plan_commit_data
from regimeflex.ledger.journal import Journal
from regimeflex.ledger.views import TERMINAL_STATUSES
from regimeflex.log import get_logger
from regimeflex.types import (
    Account,
    Bars,
    BrokerContext,
    BrokerMode,
    CorporateAction,
    Event,
    Level,
    Order,
    OrderResult,
    ProtectiveStop,
)

if TYPE_CHECKING:
    from regimeflex.config import Settings
    from regimeflex.plugins.protocols import BrokerHost


log = get_logger("execution")

#: Up to this many orders the console gets one line per order; above it (a universe of thousands of
#: names), one summary line: every order stays in the ledger (its intent), the daily report and
#: ``run --json``, and ``--log-level DEBUG`` still prints the line of each.
ORDER_LINES_MAX = 25


def log_orders(orders: Sequence[Order]) -> None:
    """The console lines of a session's orders: one per order, or a summary above :data:`ORDER_LINES_MAX`."""
    if len(orders) <= ORDER_LINES_MAX:
        for order in orders:
            log.info("order %s %s %g %s %s", order.side, order.symbol, order.qty, order.type, order.client_order_id)
        return
    if log.isEnabledFor(logging.DEBUG):
        for order in orders:
            log.debug("order %s %s %g %s %s", order.side, order.symbol, order.qty, order.type, order.client_order_id)
    sides = Counter(order.side for order in orders)
    first = ", ".join(f"{o.side} {o.symbol} {o.qty:g}" for o in orders[:5])
    log.info(
        "%d orders (%s): %s and %d more; each is in the ledger, the daily report and `run --json` "
        "(--log-level DEBUG prints one line per order)",
        len(orders),
        ", ".join(f"{n} {side}" for side, n in sorted(sides.items())),
        first,
        len(orders) - 5,
    )


@dataclass
class ExecutionOutcome:
    """What :func:`execute_session` did, for the runner's summary, report and exit code."""

    session: date
    mode: str
    broker: str
    height: int
    orders: tuple[Order, ...] = ()
    resumed: bool = False
    sent: list[str] = field(default_factory=list)
    results: list[OrderResult] = field(default_factory=list)
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()
    recovered: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    fills_recorded: int = 0
    reconcile: ReconcileReport | None = None
    killed: bool = False
    errors: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    #: resumed orders vs today's targets: "same", "changed", "unknown" (not recorded), "" (not resumed)
    plan_check: str = ""
    #: the plain sentence saying how today's targets relate to the orders resumed or replanned
    plan_note: str = ""
    #: client order ids canceled by ``replan``, and the plan attempt the orders belong to
    replanned: list[str] = field(default_factory=list)
    attempt: int = 0

    @property
    def exit_code(self) -> int:
        if self.killed:
            return EXIT_KILLED
        return EXIT_ERROR if self.errors else EXIT_OK


def rules_from_settings(orders: OrderSettings) -> PlanRules:
    """The planner's rules from broker.yaml's ``orders:`` section."""
    return PlanRules(
        order_type=orders.type,
        limit_offset_bps=orders.limit_offset_bps,
        time_in_force=orders.time_in_force,
        min_notional=orders.min_notional,
        min_weight_change=orders.min_weight_change,
        allow_fractional=orders.allow_fractional,
        allow_short=orders.allow_short,
        buying_power_buffer_bps=orders.buying_power_buffer_bps,
        use_sell_proceeds=orders.use_sell_proceeds,
    )


def intent_data(
    order: Order, mode: str, *, attempt: int = 0, target_weight: float | None = None, targets_digest: str | None = None
) -> dict[str, Any]:
    """The ``intent`` entry of one order. ``attempt`` (0, then 1, 2 … after each ``--replan``),
    the symbol's target weight and a digest of the plan's whole target vector are recorded so
    a rerun can tell whether today's targets still match the orders it resumes."""
    extra: dict[str, Any] = {"attempt": attempt}
    if target_weight is not None:
        extra["target_weight"] = round(float(target_weight), TARGET_DECIMALS)
    if targets_digest is not None:
        extra["targets_digest"] = targets_digest
    if order.stop_price is not None:  # a stop order (execution/protect.py)
        extra["stop_price"] = order.stop_price
    if order.trail_price is not None:
        extra["trail_price"] = order.trail_price
    if order.take_profit_price is not None:  # a one-cancels-other exit (execution/protect.py)
        extra["take_profit_price"] = order.take_profit_price
    return {
        **extra,
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side,
        "qty": order.qty,
        "type": order.type,
        "limit_price": order.limit_price,
        "time_in_force": order.time_in_force,
        "reference_price": order.reference_price,
        "strategy": order.strategy,
        "session": order.session.isoformat() if order.session else None,
        "mode": mode,
        # the protective stop the broker places once this buy fills (the ledger's record of the stop)
        "protect": None
        if order.protect is None
        else {
            "distance": order.protect.distance,
            "trailing": order.protect.trailing,
            "take_profit": order.protect.take_profit,
        },
    }


#: target weights are compared (and digested) rounded to this many decimals
TARGET_DECIMALS = 6


def rounded_targets(targets: Mapping[str, float] | pd.Series) -> dict[str, float]:
    """The non-zero target weights, rounded: what a plan is for."""
    items = targets.items()
    out = {str(s): round(float(w), TARGET_DECIMALS) for s, w in items if pd.notna(w)}
    return {s: w for s, w in sorted(out.items()) if w != 0.0}


def targets_digest(targets: Mapping[str, float]) -> str:
    """16 hex of SHA-256 over the rounded target vector: equal digests, equal targets."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(targets, sort_keys=True).encode()).hexdigest()[:16]


def intent_attempt(view: Any) -> int:
    return int(view.intent.get("attempt", 0) or 0)


def compare_with_intended(views: list[Any], now: Mapping[str, float], session: date) -> tuple[str, str]:
    """("same" | "changed" | "unknown", a plain sentence) for resumed intents vs today's targets."""
    recorded = {v.intent.get("targets_digest") for v in views}
    n = len(views)
    if None in recorded or not recorded:
        return "unknown", (
            f"the {n} order(s) for {session} were resumed as intended earlier; the targets they were planned "
            "for were not recorded, so whether today's targets still match them is unknown"
        )
    if targets_digest(dict(now)) in recorded:
        return "same", f"the {n} order(s) for {session} were resumed as intended earlier; targets unchanged since"
    diffs = []
    for v in views:
        sym = str(v.intent.get("symbol"))
        then = float(v.intent.get("target_weight", 0.0) or 0.0)
        today = float(now.get(sym, 0.0))
        if abs(today - then) > 10**-TARGET_DECIMALS:
            diffs.append(f"{sym} {today:.2%} now vs {then:.2%} when intended")
    intended_syms = {str(v.intent.get("symbol")) for v in views}
    new = [f"{s} {w:.2%} now (no order intended)" for s, w in now.items() if s not in intended_syms]
    detail = "; ".join((diffs + new)[:12]) or "the target vector differs"
    return "changed", (
        f"targets changed since the orders for {session} were intended ({detail}); the {n} intended "
        "order(s) were resumed unchanged — run `regimeflex run --replan` to cancel the unsent and open ones "
        "and plan anew"
    )


def order_from_intent(data: Mapping[str, Any]) -> Order:
    return Order(
        symbol=str(data["symbol"]),
        side=data["side"],
        qty=float(data["qty"]),
        client_order_id=str(data["client_order_id"]),
        type=data.get("type") or "market",
        limit_price=data.get("limit_price"),
        time_in_force=data.get("time_in_force") or "day",
        reference_price=data.get("reference_price"),
        strategy=str(data.get("strategy") or ""),
        session=date.fromisoformat(data["session"]) if data.get("session") else None,
        protect=ProtectiveStop(
            distance=float(p["distance"]), trailing=bool(p.get("trailing")), take_profit=p.get("take_profit")
        )
        if (p := data.get("protect"))
        else None,
        stop_price=data.get("stop_price"),
        trail_price=data.get("trail_price"),
        take_profit_price=data.get("take_profit_price"),
    )


def ledger_account(journal: Journal, prices: Mapping[str, float] | pd.Series, initial_equity: float) -> Account:
    """The account as the ledger alone sees it (dry runs, brokers without an account hook):
    configured starting equity, cash moved by every recorded fill and dividend, positions from
    fills and splits."""
    cash = float(initial_equity) + journal.state.dividend_cash
    for f in journal.state.fills.values():
        notional = float(f["qty"]) * float(f["price"])
        cash += -notional if f["side"] == "buy" else notional
        cash -= float(f.get("commission") or 0.0)
    positions = journal.state.positions()
    px = dict(prices) if not isinstance(prices, pd.Series) else prices.to_dict()
    equity = cash + sum(p.qty * float(px.get(s, p.avg_price)) for s, p in positions.items())
    return Account(equity=equity, cash=cash, buying_power=max(cash, 0.0), positions=positions)


def make_context(
    *,
    mode: BrokerMode,
    session: date,
    broker_settings: Mapping[str, Any] | None,
    state_dir: Path | None,
    journal_path: Path | None,
    kill_switch: KillSwitch | KillGuard | None,
    bars: Bars | None = None,
    initial_equity: float = 100_000.0,
    corporate_actions: Sequence[CorporateAction] = (),
) -> BrokerContext:
    """The BrokerContext every broker hook gets (``extra`` carries the ledger path and the
    simulated account's starting equity, which the paper broker needs to rebuild itself).

    ``kill_switch``: the flag file (a fresh guard is made from it), a guard to share, or None
    for operator commands that must reach the broker while the switch is engaged
    (``kill on --cancel-open``, ``reconcile``, ``doctor``)."""
    if isinstance(kill_switch, KillSwitch):
        guard = kill_switch.guard()
    elif isinstance(kill_switch, KillGuard):
        guard = kill_switch
    else:
        guard = KillGuard.never()
    return BrokerContext(
        mode=mode,
        session=session,
        settings=broker_settings or {},
        state_dir=state_dir,
        prices=bars,
        kill_switch=guard,
        ledger_path=Path(journal_path) if journal_path else None,
        initial_equity=float(initial_equity),
        corporate_actions=tuple(corporate_actions),
    )


def execute_session(
    *,
    journal: Journal,
    host: BrokerHost,
    broker: str,
    mode: BrokerMode,
    session: date,
    targets: Mapping[str, float] | pd.Series,
    prices: Mapping[str, float] | pd.Series,
    rules: PlanRules = PlanRules(),
    broker_settings: Mapping[str, Any] | None = None,
    strategy: str = "portfolio",
    kill_switch: KillSwitch | None = None,
    bars: Bars | None = None,
    state_dir: Path | None = None,
    initial_equity: float = 100_000.0,
    notify: Callable[[Event], None] | None = None,
    stops: StopRule = StopRule(),
    replan: bool = False,
    corporate_actions: Sequence[CorporateAction] = (),
) -> ExecutionOutcome:
    """Plan, record, send, and reconcile one session's orders; safe to rerun after any crash.

    :param journal: the run's open ledger (:func:`regimeflex.ledger.open_journal`); if the
        runner has not called ``journal.begin_session(session)`` yet, this does it.
    :param host: the :class:`~regimeflex.plugins.PluginHost`; ``broker`` names the broker plugin.
    :param mode: the effective mode (:func:`regimeflex.config.broker.effective_mode`).
    :param targets: symbol → target weight for ``session`` (the last row of the sizer's output).
    :param prices: symbol → reference price (normally the last close).
    :param rules: order rules (:func:`rules_from_settings` of ``settings.broker.orders``).
    :param broker_settings: the broker's validated section of broker.yaml.
    :param kill_switch: checked first and before every submission.
    :param bars: the run's Bars panel (the paper broker fills from it).
    :param initial_equity: the simulated account's start (dry runs; paper broker).
    :param notify: called with each RISK/ERROR event (the runner's notifier dispatch).
    :param stops: risk.yaml ``stops:`` (:func:`~regimeflex.execution.stops.stop_rule`): each buy
        carries a protective stop, recorded in its intent.
    :param replan: when the session already has intents, cancel the unsent and open ones (at the
        broker with ``cancel_open_orders``, and in the ledger) and plan anew with new client order
        ids (the next plan attempt). Without it, existing intents are resumed and a change of
        targets since they were planned is reported (``plan_check``/``plan_note``, a RISK event).
    :param corporate_actions: the held symbols' splits and dividends (the runner's, already in the
        ledger); the broker context carries them so a simulated broker applies them too.
    """
    if journal.state.last_session != session.isoformat():
        journal.begin_session(session, mode=mode, broker=broker)
    out = ExecutionOutcome(session=session, mode=mode, broker=broker, height=journal.height)
    kill = kill_switch or KillSwitch(Path("/nonexistent/kill_switch.flag"))

    def emit(event: Event) -> None:
        out.events.append(event)
        if notify is not None:
            notify(event)

    if kill.engaged():
        _record_kill(journal, kill, out, emit, remaining=[])
        return out

    guard = kill.guard()
    context = make_context(
        mode=mode,
        session=session,
        broker_settings=broker_settings,
        state_dir=state_dir,
        journal_path=journal.path,
        bars=bars,
        kill_switch=guard,
        initial_equity=initial_equity,
        corporate_actions=corporate_actions,
    )
    live = mode != "dry_run"

    if live:
        try:
            sync = sync_with_broker(journal, host, broker, context, session=session, notify=emit)
        except KillSwitchEngaged:
            _record_kill(journal, kill, out, emit, remaining=[])
            return out
        except BrokerError as exc:
            return _broker_failed(journal, out, emit, f"recovery: {exc}")
        out.recovered = sync.updated
        out.expired = sync.expired
        out.fills_recorded += sync.fills_written
        if sync.updated or sync.expired or sync.fills_written:
            journal.record(
                "recovery", {"updated": sync.updated, "expired": sync.expired, "fills_written": sync.fills_written}
            )
        stop_orders = places_stop_orders(host.capabilities(broker) if host is not None else {})
        if stop_orders:  # entries that filled since the last run get their stop orders before anything else
            try:
                protect_positions(journal, host, broker, context, session=session, mode=mode, emit=emit)
            except KillSwitchEngaged:
                _record_kill(journal, kill, out, emit, remaining=[])
                return out
            except BrokerError as exc:
                return _broker_failed(journal, out, emit, f"stops: {exc}")

    _abandon_uncommitted(journal, session, emit)
    now = rounded_targets(targets)
    digest = targets_digest(now)
    earlier = [v for v in journal.state.orders_for(session, strategy) if v.mode == mode]
    latest = max((intent_attempt(v) for v in earlier), default=-1)
    existing = [v for v in earlier if intent_attempt(v) == latest]
    attempt = latest + 1 if earlier else 0
    if existing and replan:
        try:
            out.replanned = _cancel_for_replan(journal, host, broker, context, existing, live, attempt, session)
        except KillSwitchEngaged:
            _record_kill(journal, kill, out, emit, remaining=[])
            return out
        except BrokerError as exc:
            return _broker_failed(journal, out, emit, f"replan: cancel: {exc}")
        out.plan_note = (
            f"replanned {session}: {len(out.replanned)} unsent/open order(s) of the earlier plan canceled, "
            f"orders planned anew for today's targets (plan attempt {attempt})"
        )
        log.risk("%s", out.plan_note)
        existing = []
    elif replan:
        log.info("--replan: no orders were intended for %s yet; planning as usual", session)
    if existing:
        out.resumed = True
        out.attempt = latest
        out.orders = tuple(order_from_intent(v.intent) for v in existing)
        out.plan_check, out.plan_note = compare_with_intended(existing, now, session)
        log.info(
            "orders for session %s already intended (%d); resuming them instead of planning again",
            session,
            len(existing),
        )
        if out.plan_check == "changed":
            log.risk("%s", out.plan_note)
            emit(
                Event(
                    kind="plan_changed",
                    level=Level.RISK,
                    title="Targets changed since the orders were intended",
                    body=out.plan_note,
                    data={"session": session.isoformat(), "targets_now": now},
                )
            )
    else:
        out.attempt = attempt
        try:
            account = host.broker_account(broker, context=context) if live else None
        except KillSwitchEngaged:
            _record_kill(journal, kill, out, emit, remaining=[])
            return out
        except BrokerError as exc:
            return _broker_failed(journal, out, emit, f"account: {exc}")
        if account is None:
            account = ledger_account(journal, prices, initial_equity)
        capabilities = host.capabilities(broker) if host is not None else {}
        plan: Plan = plan_orders(
            targets,
            prices,
            account,
            session=session,
            strategy=strategy,
            rules=rules,
            capabilities=capabilities,
            attempt=attempt,
        )
        out.orders, out.skipped, out.notes = plan.orders, plan.skipped, plan.notes
        if stops.active and stops.cooldown_sessions:
            out.orders, out.skipped = _cooldown(journal, bars, session, stops, out, emit)
        if stops.active:
            panel = atr_panel(bars, stops) if bars is not None else None
            orders, stop_notes = attach_stops(out.orders, stops, None if panel is None else panel.iloc[-1])
            out.orders = tuple(orders)
            out.notes = (*out.notes, *stop_notes)
        intents = [
            intent_data(order, mode, attempt=attempt, target_weight=now.get(order.symbol, 0.0), targets_digest=digest)
            for order in out.orders
        ]
        for data in intents:
            journal.append("intent", data)
        # all or nothing: the plan_commit (signed when REGIMEFLEX_LEDGER_KEY is set) goes in the same
        # write as the intents; a crash mid-batch leaves intents without it, which are never sent
        journal.append("plan_commit", plan_commit_data(session.isoformat(), strategy, mode, intents, ledger_key()))
        journal.commit()  # every intent is durable before the first broker call
        faults.hit("after_intents")
        for note in out.notes:
            log.risk("planner: %s", note)
    log_orders(out.orders)

    if not live:
        log.success("dry run: %d order(s) recorded as intents, nothing sent", len(out.orders))
        return out

    to_send = [
        o
        for o in out.orders
        if journal.state.orders[o.client_order_id].status in ("planned", "unknown")
        and journal.state.orders[o.client_order_id].is_open
        and journal.state.orders[o.client_order_id].committed  # only intents of a committed (signed) plan
    ]
    exits = sorted({o.symbol for o in to_send if o.side == "sell"})
    legs = working_legs(journal, exits) if live and exits else []
    if legs and not guard.engaged():  # a planned sell first takes the protective stop off its shares
        try:
            freed = cancel_legs(journal, host, broker, context, legs, "planned exit")
        except BrokerError as exc:
            return _broker_failed(journal, out, emit, f"stops: cancel before the planned sell: {exc}")
        log.info("stops: %d stop order(s) canceled before the planned sell(s): %s", len(freed), ", ".join(freed))
    for i, order in enumerate(to_send):
        if guard.engaged():
            _record_kill(journal, kill, out, emit, remaining=[o.client_order_id for o in to_send[i:]])
            break
        journal.record("order_sent", {"client_order_id": order.client_order_id})
        faults.hit("before_post")
        try:
            results = host.execute_orders(broker, orders=[order], context=context)
        except KillSwitchEngaged:
            # engaged while this order was in flight (between retries, during a wait): its
            # fate is unknown until the next run looks it up; nothing after it is sent
            journal.record(
                "order_update",
                {
                    "client_order_id": order.client_order_id,
                    "status": "unknown",
                    "message": "kill switch engaged while sending; the next run looks it up before any resend",
                },
            )
            _record_kill(journal, kill, out, emit, remaining=[o.client_order_id for o in to_send[i + 1 :]])
            break
        except BrokerError as exc:
            journal.record(
                "order_update", {"client_order_id": order.client_order_id, "status": "unknown", "message": str(exc)}
            )
            out.errors.append(f"{order.client_order_id}: {exc}")
            emit(
                Event(
                    kind="broker_error",
                    level=Level.ERROR,
                    title="Broker unreachable",
                    body=f"{exc}; remaining orders were not sent; the next run looks them up before resending",
                    data={"client_order_id": order.client_order_id},
                )
            )
            break
        faults.hit("after_post")
        for result in results:
            journal.record("order_ack", result_data(result))
            out.sent.append(result.client_order_id)
            out.results.append(result)
            if result.status == "rejected":
                emit(
                    Event(
                        kind="order_rejected",
                        level=Level.RISK,
                        title=f"Order rejected: {order.side} {order.qty:g} {order.symbol}",
                        body=result.message,
                        data=result_data(result),
                    )
                )
        if not results and guard.engaged():  # the broker stopped before sending it
            _record_kill(journal, kill, out, emit, remaining=[o.client_order_id for o in to_send[i:]])
            break

    if out.killed:
        # no broker call after the switch is engaged, not even a read: the next run reconciles
        return out
    try:
        out.reconcile = reconcile(journal, host, broker, context, session=session, notify=emit)
    except KillSwitchEngaged:
        _record_kill(journal, kill, out, emit, remaining=[])
        return out
    except BrokerError as exc:
        out.errors.append(f"reconcile: {exc}")
        emit(Event(kind="broker_error", level=Level.ERROR, title="Reconcile failed", body=str(exc)))
        return out
    out.fills_recorded += out.reconcile.sync.fills_written
    if places_stop_orders(host.capabilities(broker) if host is not None else {}):
        try:  # entries filled during this run, and what a partial sell left, get their stop orders
            protect_positions(journal, host, broker, context, session=session, mode=mode, emit=emit)
        except KillSwitchEngaged:
            _record_kill(journal, kill, out, emit, remaining=[])
            return out
        except BrokerError as exc:
            out.errors.append(f"stops: {exc}")
            emit(Event(kind="broker_error", level=Level.ERROR, title="Protective stops not placed", body=str(exc)))
            return out
    log.success(
        "execution: %d sent, %d fill(s) recorded, %d mismatch(es)",
        len(out.sent),
        out.fills_recorded,
        len(out.reconcile.mismatches),
    )
    return out


def _cooldown(
    journal: Journal,
    bars: Bars | None,
    session: date,
    stops: StopRule,
    out: ExecutionOutcome,
    emit: Callable[[Event], None],
) -> tuple[tuple[Order, ...], tuple[Skipped, ...]]:
    """The plan without buys of symbols stopped out within ``stops.cooldown_sessions`` sessions
    (counted on the bars' dates, as the backtest replay counts them); each refusal is a RISK line,
    a ``skipped`` row of the run summary and a RISK event."""
    if bars is None or not len(bars.index):
        out.notes = (*out.notes, "stops: cooldown_sessions not applied (no bars to count sessions with)")
        return out.orders, out.skipped
    kept, refused = refuse_reentries(
        out.orders, journal.state.fills.values(), bars.index, session, stops.cooldown_sessions
    )
    for symbol, reason in refused:
        log.risk("stops: %s %s", symbol, reason)
        emit(
            Event(
                kind="stop_cooldown",
                level=Level.RISK,
                title=f"Re-entry refused: {symbol} is cooling down after a stop-out",
                body=f"{symbol}: {reason}",
                data={"symbol": symbol, "session": session.isoformat()},
            )
        )
    return tuple(kept), (*out.skipped, *(Skipped(s, r) for s, r in refused))


def _abandon_uncommitted(journal: Journal, session: date, emit: Callable[[Event], None]) -> None:
    """Intents of ``session`` without a valid ``plan_commit`` (a crash tore the batch, or someone
    else wrote them) are recorded as abandoned and never sent; the session is then planned again."""
    torn = journal.state.uncommitted(session)
    if not torn:
        return
    bad = [c for c in journal.state.bad_commits if c.get("session") == session.isoformat()]
    reason = (
        f"plan_commit refused: {bad[-1]['problem']}"
        if bad
        else "no plan_commit record: the run that wrote them stopped before committing its plan"
    )
    coids = [v.client_order_id for v in torn]
    journal.record("plan_abandoned", {"session": session.isoformat(), "intents": coids, "reason": reason})
    level = Level.ERROR if bad else Level.RISK
    log.risk(
        "session %s: %d uncommitted intent(s) abandoned (%s); planning the session again", session, len(coids), reason
    )
    emit(
        Event(
            kind="plan_abandoned",
            level=level,
            title=f"Uncommitted plan abandoned: {len(coids)} intent(s) of {session} not sent",
            body=f"{reason}; the session is planned again",
            data={"session": session.isoformat(), "intents": coids, "count": len(coids)},
        )
    )


def _cancel_for_replan(
    journal: Journal,
    host: Any,
    broker: str,
    context: BrokerContext,
    views: list[Any],
    live: bool,
    attempt: int,
    session: date,
) -> list[str]:
    """Cancel what is left of the session's earlier plan before planning it anew.

    Open orders at the broker are canceled (``cancel_open_orders``; each result is a ``cancel``
    entry); intents never sent, or sent but unknown to the broker, are marked ``canceled`` in the
    ledger; filled quantities stay (the new plan starts from the account they produced). One
    ``replan`` entry records what was canceled. Returns the canceled client order ids.
    """
    canceled: list[str] = []
    if live:
        context.kill_switch.check("replan cancel")
        for result in host.cancel_open_orders(broker, context=context):
            journal.append("cancel", {**result_data(result), "source": "replan"})
            if result.status == "canceled":
                canceled.append(result.client_order_id)
    for view in views:
        current = journal.state.orders.get(view.client_order_id, view)
        if current.client_order_id in canceled or current.status in TERMINAL_STATUSES:
            continue
        if current.sent and current.broker_order_id:
            continue  # known to the broker and not canceled there (e.g. filled meanwhile): reconcile settles it
        journal.append(
            "order_update",
            {
                "client_order_id": current.client_order_id,
                "status": "canceled",
                "source": "replan",
                "message": "canceled by run --replan before it reached the broker",
            },
        )
        canceled.append(current.client_order_id)
    journal.append(
        "replan",
        {
            "session": session.isoformat(),
            "strategy": str(views[0].intent.get("strategy", "")) if views else "",
            "mode": str(views[0].intent.get("mode", "")) if views else "",
            "attempt": attempt,
            "canceled": canceled,
        },
    )
    journal.commit()
    return canceled


def _record_kill(
    journal: Journal, kill: KillSwitch, out: ExecutionOutcome, emit: Callable[[Event], None], remaining: list[str]
) -> None:
    info = kill.info() or {}
    journal.record("kill", {"flag": str(kill.path), "reason": info.get("reason", ""), "not_sent": remaining})
    out.killed = True
    log.risk("kill switch engaged (%s): %s; no order sent", kill.path, info.get("reason", ""))
    emit(
        Event(
            kind="kill_switch",
            level=Level.RISK,
            title="Kill switch engaged: nothing sent",
            body=f"{kill.path}: {info.get('reason', '')}",
            data={"not_sent": remaining},
        )
    )


def _broker_failed(
    journal: Journal, out: ExecutionOutcome, emit: Callable[[Event], None], message: str
) -> ExecutionOutcome:
    out.errors.append(message)
    log.error("broker: %s", message)
    emit(Event(kind="broker_error", level=Level.ERROR, title="Broker unreachable: nothing sent", body=message))
    return out


def execute_from_settings(
    settings: Settings,
    host: BrokerHost,
    *,
    session: date,
    targets: Mapping[str, float] | pd.Series,
    prices: Mapping[str, float] | pd.Series,
    bars: Bars | None = None,
    live: bool = False,
    broker_settings: Mapping[str, Any] | None = None,
    strategy: str = "portfolio",
    journal: Journal | None = None,
    notify: Callable[[Event], None] | None = None,
    replan: bool = False,
    corporate_actions: Sequence[CorporateAction] = (),
) -> ExecutionOutcome:
    """:func:`execute_session` with everything taken from the loaded :class:`~regimeflex.config.Settings`.

    Mode from broker.yaml + ``live`` (:func:`~regimeflex.config.broker.effective_mode`), order
    rules from ``broker.orders``, ledger/state/kill-switch paths and initial equity from run.yaml.
    ``broker_settings`` is the broker's validated section (``selection.broker.settings``); when
    omitted it is validated here. Pass the run's open ``journal`` if the runner records its own
    entries (breakers); otherwise one is opened and closed around the call.
    """
    from regimeflex.config.broker import effective_mode
    from regimeflex.ledger.journal import open_journal

    mode = effective_mode(settings.broker, live)
    name = settings.broker.broker
    if broker_settings is None:
        broker_settings = host.validate_settings(
            name, settings.broker.brokers.get(name), where=f"broker.yaml: brokers.{name}"
        )
    kwargs: dict[str, Any] = dict(
        host=host,
        broker=name,
        mode=mode,
        session=session,
        targets=targets,
        prices=prices,
        rules=rules_from_settings(settings.broker.orders),
        broker_settings=broker_settings,
        strategy=strategy,
        kill_switch=KillSwitch(settings.path(settings.run.paths.kill_switch)),
        bars=bars,
        state_dir=settings.path(settings.run.paths.state_dir),
        initial_equity=float(settings.run.initial_equity),
        notify=notify,
        stops=stop_rule(settings.risk.stops),
        replan=replan,
        corporate_actions=corporate_actions,
    )
    if journal is not None:
        return execute_session(journal=journal, **kwargs)
    with open_journal(settings.path(settings.run.paths.ledger)) as own:
        return execute_session(journal=own, **kwargs)
