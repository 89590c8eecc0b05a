"""Chat control: the commands ``regimeflex bot`` answers, who may send them, and their audit trail.

This module owns the core half of two-way control (the chat plugin owns the
transport, see :func:`regimeflex.hookspecs.serve_commands`):

* **who may command** — a message is a command only when its chat id is in
  run.yaml ``bot.allowed_chat_ids`` *and* its sender is in
  ``bot.allowed_user_ids``; anything else is ignored (no reply), and recorded
  at most ``bot.rejected_records_per_minute`` times a minute (the rest are
  counted into the next record), so a stranger cannot flood the log or ledger;
* **what each command does** — ``/status /positions /pnl /orders /report
  /doctor /help`` read files only (the ledger is read, never opened for
  writing); ``/kill`` writes the kill-switch flag at once; ``/resume`` is two
  steps: a one-time code that must come back from the same person within
  ``bot.resume_code_seconds``;
* **the audit trail** — every accepted command becomes a ledger entry of kind
  ``command`` (who, what, when, outcome); ignored senders become
  ``command_rejected``. Records go first to a spool file (appended and
  fsynced) and are moved into the ledger by :meth:`CommandAudit.flush`, which
  never waits for the ledger lock: while a daily run holds it, records stay in
  the spool and are written after the run. So a command never blocks a run,
  and a run never delays a ``/kill``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regimeflex.errors import LedgerBroken, LedgerError, StorageError
from regimeflex.log import get_logger
from regimeflex.types import CommandReply, CommandRequest, CommandSpec

if TYPE_CHECKING:
    from regimeflex.config import Settings

log = get_logger("bot")

#: Ledger kinds this module writes.
ACCEPTED_KIND = "command"
REJECTED_KIND = "command_rejected"

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("status", "last run, regime, circuit breakers, kill switch, next session"),
    CommandSpec("positions", "open positions from the ledger's fills"),
    CommandSpec("pnl", "equity and P&L of the last N sessions: /pnl [days] (default 5)"),
    CommandSpec("orders", "today's order intents and their state"),
    CommandSpec("report", "the latest daily HTML report, as a file"),
    CommandSpec("doctor", "will the next run work? (config, plugins, keys, cache, ledger, kill switch, disk)"),
    CommandSpec("kill", "engage the kill switch now: /kill [reason]", writes=True),
    CommandSpec("resume", "release the kill switch (two steps: a one-time code to send back)", writes=True),
    CommandSpec("help", "this list"),
)
_BY_NAME = {c.name: c for c in COMMANDS}
#: /pnl accepts at most this many sessions.
MAX_PNL_DAYS = 365


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_command(text: str) -> tuple[str, list[str]] | None:
    """``"/pnl@MyBot 10"`` → ``("pnl", ["10"])``; None when the text is not a command."""
    words = text.strip().split()
    if not words or not words[0].startswith("/") or len(words[0]) < 2:
        return None
    name = words[0][1:].split("@", 1)[0].lower()
    return name, words[1:]


# ------------------------------------------------------------------ audit


class CommandAudit:
    """Ledger records for commands, written without ever waiting for the ledger lock.

    :meth:`record` appends one JSON line to ``<spool_dir>/pending.jsonl`` and
    fsyncs it; :meth:`flush` renames that file to ``flushing.jsonl``, appends
    its records to the ledger through the public writer (non-blocking lock),
    commits, and deletes it. A crash after the commit but before the delete
    leaves ``flushing.jsonl``; the next flush skips the records whose ``id``
    the ledger already holds, so nothing is written twice or lost.
    """

    def __init__(self, ledger: Path, spool_dir: Path) -> None:
        self.ledger = Path(ledger)
        self.spool_dir = Path(spool_dir)
        self.pending_path = self.spool_dir / "pending.jsonl"
        self.flushing_path = self.spool_dir / "flushing.jsonl"

    def record(self, kind: str, data: dict[str, Any]) -> str:
        record_id = uuid.uuid4().hex
        line = json.dumps({"kind": kind, "data": {**data, "id": record_id}}, sort_keys=True) + "\n"
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        with self.pending_path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        return record_id

    def pending(self) -> int:
        return sum(len(self._read(p)) for p in (self.flushing_path, self.pending_path))

    @staticmethod
    def _read(path: Path) -> list[dict[str, Any]]:
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out = []
        for line in raw.splitlines():
            try:
                item = json.loads(line)
            except ValueError:  # a torn last line from a crash mid-append: the record never completed
                continue
            if isinstance(item, dict) and isinstance(item.get("data"), dict):
                out.append(item)
        return out

    def flush(self) -> int:
        """Move pending records into the ledger if it is free now; return how many were written.

        Never waits: when another process (a daily run) holds the ledger lock,
        this returns 0 and the records stay pending for the next call.
        """
        from regimeflex.ledger.store import open_writer, read_entries

        recovering = self.flushing_path.exists()
        if not recovering:
            if not self.pending_path.exists() or self.pending_path.stat().st_size == 0:
                return 0
            os.replace(self.pending_path, self.flushing_path)
        records = self._read(self.flushing_path)
        try:
            writer = open_writer(self.ledger, verify=True)  # never append to a chain that does not verify
        except LedgerBroken as exc:
            log.error("command records stay pending: %s", _first_line(exc))
            return 0
        except LedgerError as exc:
            log.info("command records stay pending (%s)", _first_line(exc))
            return 0
        with writer:
            if recovering:  # a flush crashed after its commit: skip what already reached the ledger
                done = {
                    str(e["data"].get("id"))
                    for e in read_entries(self.ledger)
                    if e.get("kind") in (ACCEPTED_KIND, REJECTED_KIND) and isinstance(e.get("data"), dict)
                }
                records = [r for r in records if str(r["data"].get("id")) not in done]
            for item in records:
                writer.append(str(item["kind"]), item["data"])
            writer.commit()
        self.flushing_path.unlink()
        if recovering and self.pending_path.exists():
            return len(records) + self.flush()
        return len(records)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# --------------------------------------------------------------- commands


@dataclass
class _PendingResume:
    code: str
    chat_id: str
    user_id: str
    expires: float


@dataclass
class _RejectWindow:
    recorded_at: float = float("-inf")
    suppressed: int = 0


@dataclass
class CommandCenter:
    """Answers :class:`CommandRequest` objects for one channel: allow-lists, commands, audit.

    ``clock`` (monotonic seconds) times the ``/resume`` code and the reject
    rate limit; ``now`` stamps records and judges a command's age; ``doctor``
    returns ``(status, name, detail)`` rows (the CLI passes its checks, run
    without querying the broker); ``new_code`` makes the one-time code.
    """

    settings: Settings
    channel: str
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = utc_now
    doctor: Callable[[], Sequence[tuple[str, str, str]]] | None = None
    new_code: Callable[[], str] = field(default=lambda: f"{secrets.randbelow(10**6):06d}")
    audit: CommandAudit | None = None
    _resume: _PendingResume | None = None
    _rejects: dict[tuple[str, str], _RejectWindow] = field(default_factory=dict)
    _reject_times: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        paths = self.settings.run.paths
        if self.audit is None:
            self.audit = CommandAudit(
                self.settings.path(paths.ledger), self.settings.path(paths.state_dir) / "bot" / "audit"
            )

    @property
    def commands(self) -> tuple[CommandSpec, ...]:
        return COMMANDS

    # ------------------------------------------------------------ entry

    def handle(self, request: CommandRequest) -> CommandReply | None:
        """The reply to send, or None to ignore the message (unknown sender, not a command)."""
        bot = self.settings.run.bot
        chat_ok = request.chat_id in bot.allowed_chat_ids
        user_ok = request.user_id in bot.allowed_user_ids
        if not (chat_ok and user_ok):
            self._reject(request, "chat not allowed" if not chat_ok else "user not allowed")
            return None
        parsed = parse_command(request.text)
        if parsed is None:
            return None  # chatter in an allowed group: not for us
        name, args = parsed
        spec = _BY_NAME.get(name)
        if spec is None:
            return CommandReply(f"unknown command /{name}; /help lists the commands")
        if request.sent_at is not None:
            age = (self.now() - request.sent_at).total_seconds()
            if age > bot.max_command_age_seconds:
                log.risk("ignored /%s from %s: sent %.0f s ago (the bot was not running)", name, request.user_id, age)
                return CommandReply(
                    f"/{name} ignored: it was sent {age / 60:.0f} min ago, while the bot was not running. "
                    "Send it again if you still mean it."
                )
        handler = getattr(self, f"_cmd_{name}")
        try:
            reply, outcome = handler(request, args)
        except Exception as exc:  # a failing command answers with the error; the bot keeps serving
            from regimeflex.secrets import redact

            log.error("/%s failed: %s: %s", name, type(exc).__name__, redact(exc))
            reply, outcome = CommandReply(f"/{name} failed: {redact(exc)}"), f"failed: {type(exc).__name__}"
        self._record(request, name, args, outcome)
        return reply

    def idle(self) -> None:
        """Between polls: move pending records into the ledger when it is free."""
        assert self.audit is not None
        try:
            self.audit.flush()
        except (OSError, LedgerError, StorageError) as exc:  # a full disk must not stop the bot answering
            log.error("command records not written to the ledger yet: %s", _first_line(exc))

    # ------------------------------------------------------------ audit

    def _record(self, request: CommandRequest, name: str, args: list[str], outcome: str) -> None:
        shown = ["******"] if name == "resume" and args else args  # the one-time code stays out of the ledger
        data = {
            "channel": request.channel,
            "chat_id": request.chat_id,
            "user_id": request.user_id,
            "user_name": request.user_name,
            "command": name,
            "args": shown,
            "writes": _BY_NAME[name].writes,
            "outcome": outcome,
            "sent_at": _iso(request.sent_at) if request.sent_at else None,
            "handled_at": _iso(self.now()),
        }
        assert self.audit is not None
        self.audit.record(ACCEPTED_KIND, data)
        log.info("/%s from user %s in chat %s: %s", name, request.user_id, request.chat_id, outcome)

    def _reject(self, request: CommandRequest, reason: str) -> None:
        """Record an ignored sender, at most once a minute per sender and N a minute overall."""
        now = self.clock()
        key = (request.chat_id, request.user_id)
        window = self._rejects.setdefault(key, _RejectWindow())
        self._reject_times = [t for t in self._reject_times if now - t < 60.0]
        per_minute = self.settings.run.bot.rejected_records_per_minute
        if now - window.recorded_at < 60.0 or len(self._reject_times) >= per_minute:
            window.suppressed += 1
            return
        suppressed, window.suppressed, window.recorded_at = window.suppressed, 0, now
        self._reject_times.append(now)
        log.risk(
            "ignored a message from user %s in chat %s on %s (%s)%s",
            request.user_id,
            request.chat_id,
            request.channel,
            reason,
            f"; {suppressed} more since the last record" if suppressed else "",
        )
        assert self.audit is not None
        self.audit.record(
            REJECTED_KIND,
            {
                "channel": request.channel,
                "chat_id": request.chat_id,
                "user_id": request.user_id,
                "user_name": request.user_name[:64],
                "text": request.text[:64],
                "reason": reason,
                "suppressed_before": suppressed,
                "at": _iso(self.now()),
            },
        )

    # ------------------------------------------------------ read-only

    def _ledger_entries(self) -> list[dict[str, Any]]:
        from regimeflex.ledger.store import read_entries

        return list(read_entries(self.settings.path(self.settings.run.paths.ledger)))

    def _cmd_help(self, request: CommandRequest, args: list[str]) -> tuple[CommandReply, str]:
        lines = [f"/{c.name} — {c.help}" for c in COMMANDS]
        return CommandReply("RegimeFlex commands:\n" + "\n".join(lines)), "ok"

    def _cmd_status(self, request: CommandRequest, args: list[str]) -> tuple[CommandReply, str]:
        return CommandReply(status_text(self.settings, self._ledger_entries(), self.now())), "ok"

    def _cmd_positions(self, request: CommandRequest, args: list[str]) -> tuple[CommandReply, str]:
        from regimeflex.ledger.views import LedgerState

        state = LedgerState()
        for e in self._ledger_entries():
            state.apply(str(e["kind"]), e.get("data") or {}, int(e["height"]))
        positions = state.positions()
        if not positions:
            return CommandReply(f"no open positions ({len(state.fills)} fills in the ledger)"), "ok"
        lines = [
            f"{p.symbol:<6} {p.qty:>10g} @ {p.avg_price:,.2f}  cost {p.qty * p.avg_price:,.2f}"
            for p in positions.values()
        ]
        return CommandReply("positions (ledger fills, average cost):\n" + "\n".join(lines)), "ok"

    def _cmd_pnl(self, request: CommandRequest, args: list[str]) -> tuple[CommandReply, str]:
        days = 5
        if args:
            if not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_PNL_DAYS:
                return CommandReply(f"usage: /pnl [days] with days from 1 to {MAX_PNL_DAYS}"), "usage"
            days = int(args[0])
        return CommandReply(pnl_text(self._ledger_entries(), days, self.settings.run.initial_equity)), "ok"

    def _cmd_orders(self, request: CommandRequest, args: list[str]) -> tuple[CommandReply, str]:
        return CommandReply(orders_text(self._ledger_entries(), self.now())), "ok"

    def _cmd_report(self, request: CommandRequest, args: list[str]) -> tuple[CommandReply, str]:
        reports = sorted((self.settings.path(self.settings.run.paths.reports_dir) / "daily").glob("????-??-??.html"))
        if not reports:
            return CommandReply("no daily report yet (`regimeflex run` writes one per session)"), "no report"
        latest = reports[-1]
        return CommandReply(f"daily report {latest.stem}", document=latest, caption=f"RegimeFlex {latest.stem}"), (
            f"sent {latest.name}"
        )

    def _cmd_doctor(self, request: CommandRequest, args: list[str]) -> tuple[CommandReply, str]:
        if self.doctor is None:
            return CommandReply("doctor is not available in this process"), "unavailable"
        rows = list(self.doctor())
        failed = sum(1 for status, _, _ in rows if status == "FAIL")
        lines = [f"{status:<4} {name}: {detail}" for status, name, detail in rows]
        head = "doctor: all OK" if not failed else f"doctor: {failed} FAIL"
        return CommandReply(head + "\n" + "\n".join(lines)), "ok" if not failed else f"{failed} FAIL"

    # ---------------------------------------------------------- writes

    def _switch(self) -> Any:
        from regimeflex.execution.killswitch import KillSwitch

        return KillSwitch(self.settings.path(self.settings.run.paths.kill_switch))

    def _cmd_kill(self, request: CommandRequest, args: list[str]) -> tuple[CommandReply, str]:
        switch = self._switch()
        who = request.user_name or request.user_id
        reason = " ".join(args) or "no reason given"
        before = switch.info()
        switch.engage(f"/kill from {who} (user {request.user_id}) via {request.channel}: {reason}")
        self._resume = None
        log.risk("kill switch engaged from chat by user %s: %s", request.user_id, reason)
        note = " (it was already engaged; the flag now carries this reason)" if before is not None else ""
        return (
            CommandReply(
                f"kill switch ENGAGED{note}. No run sends another order (a running cycle stops before "
                f"its next one). /resume releases it."
            ),
            "engaged",
        )

    def _cmd_resume(self, request: CommandRequest, args: list[str]) -> tuple[CommandReply, str]:
        switch = self._switch()
        ttl = self.settings.run.bot.resume_code_seconds
        if not args:
            if switch.info() is None:
                return CommandReply("the kill switch is not engaged; nothing to resume"), "not engaged"
            code = self.new_code()
            self._resume = _PendingResume(code, request.chat_id, request.user_id, self.clock() + ttl)
            return (
                CommandReply(f"to release the kill switch send\n/resume {code}\nwithin {ttl:g} s (one use only)."),
                "code issued",
            )
        pending, self._resume = self._resume, None  # one attempt per code, right or wrong
        if pending is None:
            return CommandReply("no resume code is pending; send /resume to get one"), "no code pending"
        if (pending.chat_id, pending.user_id) != (request.chat_id, request.user_id):
            return CommandReply("that code was issued to someone else; send /resume to get your own"), "wrong sender"
        if self.clock() > pending.expires:
            return CommandReply(f"the code expired (valid {ttl:g} s); send /resume again"), "code expired"
        if not secrets.compare_digest(args[0], pending.code):
            return CommandReply("wrong code; send /resume to get a new one"), "wrong code"
        was = switch.release()
        log.risk("kill switch released from chat by user %s", request.user_id)
        return (
            CommandReply(
                "kill switch released: the next run trades again." if was else "the kill switch was not engaged"
            ),
            "released" if was else "not engaged",
        )


# ---------------------------------------------------------- text views


def _runs(entries: Iterable[dict[str, Any]]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The last ``run_start`` and the last ``run_end`` entries."""
    start = end = None
    for e in entries:
        if e.get("kind") == "run_start":
            start = e
        elif e.get("kind") == "run_end":
            end = e
    return start, end


def status_text(settings: Settings, entries: list[dict[str, Any]], now: datetime) -> str:
    """``/status``: the last run, regime, circuit breakers, kill switch and the next session."""
    from regimeflex.data import calendar
    from regimeflex.execution.killswitch import KillSwitch
    from regimeflex.risk.state import RiskStateError, load_risk_state, risk_state_path

    lines = [f"mode {settings.broker.mode}"]
    start, end = _runs(entries)
    if end is None and start is None:
        lines.append("last run: none recorded yet")
    if end is not None:
        d = end.get("data") or {}
        equity = f", equity {d['equity']:,.2f}" if isinstance(d.get("equity"), (int, float)) else ""
        lines.append(f"last run: {d.get('session', '?')} {d.get('status', '?')} at {end.get('ts', '?')[:19]}Z{equity}")
    if start is not None and (end is None or int(start["seq"]) > int(end["seq"])):
        lines.append(
            f"run for {(start.get('data') or {}).get('session', '?')} started {start.get('ts', '?')[:19]}Z "
            "and has not finished (running now, or it crashed)"
        )
    try:
        risk = load_risk_state(risk_state_path(settings))
    except RiskStateError as exc:
        lines.append(f"regime: unknown ({_first_line(exc)})")
        lines.append("circuit breakers: unknown (risk state unreadable)")
    else:
        regime = risk.regime or "unknown (no run recorded yet)"
        when = f" as of {risk.regime_session}" if risk.regime_session else ""
        lines.append(f"regime: {regime}{when}")
        tripped = risk.breakers.tripped
        enabled = settings.risk.circuit_breakers.enabled()
        if tripped:
            lines.append(
                "circuit breakers: TRIPPED "
                + ", ".join(f"{n} (since {t.session}, {t.action})" for n, t in sorted(tripped.items()))
            )
        elif enabled:
            lines.append(f"circuit breakers: none tripped ({len(enabled)} enabled)")
        else:
            lines.append("circuit breakers: none enabled")
    kill = KillSwitch(settings.path(settings.run.paths.kill_switch)).info()
    if kill is None:
        lines.append("kill switch: off")
    else:
        lines.append(f"kill switch: ENGAGED since {kill.get('at', '?')}: {kill.get('reason', '')}")
    today = calendar.ny_today(now)
    last_session = ((end or {}).get("data") or {}).get("session")
    try:
        upcoming = calendar.sessions(today, today + _days(14))
    except ValueError:
        upcoming = []
    nxt = next((s for s in upcoming if last_session is None or f"{s:%Y-%m-%d}" > last_session), None)
    lines.append(
        f"next session: {nxt:%a %Y-%m-%d}" if nxt is not None else "next session: unknown (outside the calendar)"
    )
    return "RegimeFlex status\n" + "\n".join(lines)


def _days(n: int) -> Any:
    import pandas as pd

    return pd.Timedelta(days=n)


def pnl_text(entries: list[dict[str, Any]], days: int, initial_equity: float) -> str:
    """``/pnl [days]``: equity at the end of each of the last ``days`` sessions and the change."""
    points: dict[str, float] = {}
    for e in entries:
        d = e.get("data") or {}
        if e.get("kind") == "run_end" and isinstance(d.get("equity"), (int, float)) and d.get("session"):
            points[str(d["session"])] = float(d["equity"])
    if not points:
        return "P&L: no completed run recorded yet"
    sessions = sorted(points)
    shown = sessions[-days:]
    base_at = sessions.index(shown[0]) - 1
    base = points[sessions[base_at]] if base_at >= 0 else float(initial_equity)
    lines = []
    prev = base
    for s in shown:
        lines.append(f"{s}  equity {points[s]:,.2f}  day {points[s] - prev:+,.2f}")
        prev = points[s]
    change = points[shown[-1]] - base
    pct = change / base * 100 if base else float("nan")
    head = f"P&L over the last {len(shown)} session(s)"
    if len(shown) < days:
        head += f" (only {len(shown)} recorded)"
    since = f"since {initial_equity:,.2f} at the start: {points[shown[-1]] - initial_equity:+,.2f}"
    return f"{head}: {change:+,.2f} ({pct:+.2f}%)\n" + "\n".join(lines) + f"\n{since}"


def orders_text(entries: list[dict[str, Any]], now: datetime) -> str:
    """``/orders``: today's intents (New York date) and their state; else the last session's."""
    from regimeflex.data import calendar
    from regimeflex.ledger.views import LedgerState

    state = LedgerState()
    for e in entries:
        state.apply(str(e["kind"]), e.get("data") or {}, int(e["height"]))
    today = f"{calendar.ny_today(now):%Y-%m-%d}"
    views = state.orders_for(today)
    head = f"orders for {today}"
    if not views:
        sessions = sorted({v.session for v in state.orders.values() if v.session})
        if not sessions:
            return f"no order intents for {today}, and none recorded before"
        last = sessions[-1]
        views = state.orders_for(last)
        head = f"no order intents for {today}; the last were for {last}"
    lines = []
    for v in views:
        i = v.intent
        filled = f", filled {v.filled_qty:g}" if v.filled_qty else ""
        mode = " (dry run)" if v.mode == "dry_run" else ""
        lines.append(
            f"{i.get('side', '?')} {float(i.get('qty', 0)):g} {i.get('symbol', '?')} {i.get('type', '')}"
            f" → {v.status}{filled}{mode}"
        )
    return f"{head}:\n" + "\n".join(lines)
