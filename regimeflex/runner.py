"""The daily cycle (DESIGN §4): one run, one trading session, every step logged and timed.

This module owns the order of the steps and nothing else: kill switch →
calendar → data → targets → circuit breakers → execution (plan, ledger
intents, broker, reconcile) → report → notifications, each timed with its
peak memory, ending in a :class:`RunSummary` the CLI prints as text or JSON.
Each step's substance lives in its layer; this module only wires them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

import pandas as pd

from regimeflex.errors import EXIT_ERROR, EXIT_KILLED, EXIT_OK, ConfigError, DataError, RegimeFlexError
from regimeflex.log import get_logger, step
from regimeflex.types import BarsRequest, BrokerContext, Event, Level, bars_symbols, check_bars

if TYPE_CHECKING:
    from regimeflex.config import Settings
    from regimeflex.plugins import PluginHost, Selection

log = get_logger("runner")


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
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunOptions:
    as_of: date | None = None
    live: bool = False
    refresh: bool = False
    now: datetime | None = None


def resolve_session(as_of: date | None, now: datetime | None = None) -> tuple[pd.Timestamp, bool]:
    """The session a run is for, and whether it is a trading session at all."""
    from regimeflex.data import calendar

    day = pd.Timestamp(as_of) if as_of is not None else calendar.ny_today(now)
    return day, calendar.is_session(day)


def effective_mode(settings: Settings, live_flag: bool) -> str:
    """The broker mode after the safety check: live needs both the YAML and --live."""
    mode = settings.broker.mode
    if mode == "live" and not live_flag:
        raise ConfigError("broker.yaml: mode: live also needs --live on the command line; "
                          "refusing to trade live without both opt-ins")
    return mode


def broker_context(settings: Settings, selection: Selection, *, session: pd.Timestamp | None = None,
                   prices: Any = None, live_flag: bool = False) -> BrokerContext:
    """The context every broker hook receives for this configuration."""
    from regimeflex.data import calendar

    kill_flag = settings.path(settings.run.paths.kill_switch)
    mode = settings.broker.mode if settings.broker.mode != "live" or live_flag else "dry_run"
    return BrokerContext(
        mode=mode,  # type: ignore[arg-type]
        session=(session if session is not None else calendar.ny_today()).date(),
        settings=selection.broker.settings,
        state_dir=settings.path(settings.run.paths.state_dir),
        prices=prices,
        is_killed=kill_flag.exists,
    )


def load_history(settings: Settings, host: PluginHost, selection: Selection, session: pd.Timestamp) -> Any:
    """Bars for the universe and benchmark, ``history_sessions`` back from ``session``."""
    from regimeflex.data import calendar

    symbols = tuple(dict.fromkeys([*settings.run.universe, settings.run.benchmark]))
    window = calendar.sessions(session - pd.Timedelta(days=int(settings.run.history_sessions * 1.6) + 10), session)
    start = window[-settings.run.history_sessions] if len(window) >= settings.run.history_sessions else window[0]
    request = BarsRequest(symbols=symbols, start=start.date(), end=session.date(),
                          adjusted=settings.data.adjusted, settings=selection.data.settings)
    bars = check_bars(host.provide_bars(selection.data.name, request=request), where=f"data provider '{selection.data.name}'")
    missing = [s for s in symbols if s not in bars_symbols(bars)]
    if missing:
        raise DataError(f"data provider '{selection.data.name}' returned no bars for {', '.join(missing)}; "
                        f"check the symbols in run.yaml or the provider's coverage")
    if bars.empty or bars.index[-1] != session:
        last = "nothing" if bars.empty else f"{bars.index[-1]:%Y-%m-%d}"
        raise DataError(f"data for session {session:%Y-%m-%d} is missing (provider returned up to {last}); "
                        f"refusing to trade on stale data — rerun later or pass --as-of")
    return bars


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
    except RegimeFlexError as exc:
        log.error("%s", exc)
        summary.status, summary.exit_code = "failed", exc.exit_code
        summary.messages.append(str(exc))
        dispatcher.send(Event(kind="run_failed", level=Level.ERROR, title=f"RegimeFlex {summary.session}: run failed",
                              body=str(exc)))
    if summary.status not in ("not_a_session",):
        dispatcher.send(summary_event(summary))
    delivery = dispatcher.close()
    for failure in delivery.failures:
        summary.messages.append(f"notification not delivered: {failure.to_dict()}")
    return summary


def _cycle(settings: Settings, options: RunOptions, host: PluginHost, session: pd.Timestamp, is_session: bool,
           summary: RunSummary, dispatcher: Any) -> None:
    from regimeflex.pipeline import compute_targets
    from regimeflex.plugins import resolve

    kill_flag = settings.path(settings.run.paths.kill_switch)
    if kill_flag.exists():
        reason = kill_flag.read_text(encoding="utf-8").strip() or "no reason given"
        log.risk("kill switch engaged (%s): %s — nothing else is touched", kill_flag, reason)
        summary.status, summary.exit_code = "killed", EXIT_KILLED
        summary.messages.append(f"kill switch engaged: {reason}")
        dispatcher.send(Event(kind="kill", level=Level.RISK, title="RegimeFlex: kill switch engaged",
                              body=f"{reason} (flag {kill_flag}); the run stopped before touching anything"))
        return
    if not is_session:
        log.info("%s is not an XNYS trading session; nothing to do", summary.session)
        summary.status = "not_a_session"
        summary.messages.append(f"{summary.session} is not a trading session")
        return
    summary.mode = effective_mode(settings, options.live)

    with step("config: plugins resolved", log) as figures:
        selection = resolve(settings, host)
    summary.steps["plugins"] = figures
    with step("data: bars loaded and validated", log) as figures:
        bars = load_history(settings, host, selection, session)
    summary.steps["data"] = figures
    with step("signals → sizing: targets computed", log) as figures:
        panel = compute_targets(bars, selection, host, settings)
    summary.steps["targets"] = figures
    targets = panel.last()
    summary.targets = {s: round(float(w), 6) for s, w in targets.items() if abs(w) > 1e-12}
    summary.status = "completed"


def summary_event(summary: RunSummary) -> Event:
    level = {"completed": Level.SUCCESS, "killed": Level.RISK, "failed": Level.ERROR}.get(summary.status, Level.INFO)
    title = f"RegimeFlex {summary.session}: {summary.status}"
    lines = [f"mode {summary.mode}", f"regime {summary.regime or 'n/a'}",
             f"{len(summary.orders)} orders, {len(summary.fills)} fills"]
    return Event(kind="run_summary", level=level, title=title, body="; ".join(lines),
                 data=summary.as_dict(), ts=datetime.now(timezone.utc))
