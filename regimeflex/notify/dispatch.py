"""The dispatcher in front of every notification channel.

Owns the policy that decides whether an event goes out on a channel and the
machinery that sends it without slowing the cycle:

* **minimum level** per channel (INFO < SUCCESS < RISK < ERROR);
* **de-duplication**: the same kind/title/body on the same channel within
  ``dedup_seconds`` is suppressed;
* **rate limit**: a token bucket per channel (``burst`` messages at once,
  refilled at ``per_minute``);
* **digest**: suppressed events are counted and summarised in the next
  message that goes out on that channel, or in a final digest at
  :meth:`Dispatcher.close`;
* **off the main path**: each channel has its own daemon worker thread and
  queue, so :meth:`Dispatcher.send` returns at once, a slow channel never
  delays orders or another channel, and a hung channel cannot keep the
  process alive; :meth:`Dispatcher.close` waits at most ``timeout`` seconds;
* **failures are recorded, never raised**: each is logged (redacted) and
  returned in the :class:`DeliveryReport` so the runner can write it to the
  ledger. A :class:`~regimeflex.notify.message.DeliveryError` with
  ``permanent=True`` is reported once and the channel is disabled for the run.

The runner builds one dispatcher per run with :meth:`Dispatcher.from_settings`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from regimeflex.log import get_logger
from regimeflex.notify.message import redact_event
from regimeflex.secrets import redact
from regimeflex.types import Event, Level, NotifyContext

if TYPE_CHECKING:
    from regimeflex.config import Settings
    from regimeflex.plugins.protocols import NotifierHost


log = get_logger("notify")

Clock = Callable[[], float]


class NotifyHost(Protocol):
    """The part of :class:`regimeflex.plugins.PluginHost` the dispatcher uses."""

    def notify(self, plugin: str, *, event: Event, context: NotifyContext) -> None: ...


@dataclass(frozen=True)
class ChannelPolicy:
    """When a channel speaks: minimum level, rate limit and de-duplication window."""

    min_level: Level = Level.INFO
    rate_per_minute: float = 20.0
    burst: int = 5
    dedup_seconds: float = 300.0


@dataclass(frozen=True)
class Channel:
    """One configured channel: a name, the notifier plugin behind it, its policy and settings."""

    name: str
    plugin: str
    policy: ChannelPolicy = ChannelPolicy()
    settings: Any = None
    state_dir: Path | None = None
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class DeliveryFailure:
    """One event a channel failed to deliver (message already redacted)."""

    channel: str
    plugin: str
    kind: str
    title: str
    error: str
    permanent: bool = False
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "plugin": self.plugin,
            "kind": self.kind,
            "title": self.title,
            "error": self.error,
            "permanent": self.permanent,
            "ts": self.ts.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class ChannelStats:
    """What happened on one channel during the run."""

    sent: int = 0
    failed: int = 0
    filtered: int = 0
    duplicates: int = 0
    rate_limited: int = 0
    skipped_disabled: int = 0
    disabled: bool = False


@dataclass(frozen=True)
class DeliveryReport:
    """The outcome of a run's notifications, returned by :meth:`Dispatcher.close`.

    ``failures`` lists every event a channel did not deliver (including those
    still queued when the timeout ran out); ``channels`` has per-channel counts.
    :meth:`to_dict` is JSON-ready for the ledger.
    """

    channels: Mapping[str, ChannelStats]
    failures: tuple[DeliveryFailure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self.channels.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "channels": {name: dataclasses.asdict(s) for name, s in self.channels.items()},
            "failures": [f.to_dict() for f in self.failures],
        }


class TokenBucket:
    """Classic token bucket: holds up to ``burst`` tokens, refilled at ``per_minute``."""

    def __init__(self, per_minute: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(burst, 1))
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def dedup_key(event: Event) -> str:
    """Events with the same kind, title and body are duplicates of each other."""
    text = "\x1f".join((event.kind, event.title, event.body))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_STOP = object()


@dataclass
class _Job:
    event: Event
    done: threading.Event = field(default_factory=threading.Event)
    abandoned: bool = False


class _ChannelState:
    def __init__(self, channel: Channel, clock: Clock) -> None:
        self.channel = channel
        self.bucket = TokenBucket(channel.policy.rate_per_minute, channel.policy.burst, clock)
        self.last_sent: dict[str, float] = {}
        self.pending: Counter[str] = Counter()  # reason -> count, since the last message out
        self.pending_titles: Counter[str] = Counter()
        self.pending_level = Level.INFO
        self.counts: Counter[str] = Counter()
        self.disabled = False
        self.queue: queue.Queue[Any] = queue.Queue()
        self.jobs: list[_Job] = []
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopped = False

    def suppress(self, event: Event, reason: str) -> None:
        self.pending[reason] += 1
        self.pending_titles[event.title] += 1
        self.pending_level = max(self.pending_level, Level.parse(event.level))
        self.counts[reason] += 1

    def take_digest(self) -> str:
        if not self.pending:
            return ""
        total = sum(self.pending.values())
        parts = [f"{n} {reason}" for reason, n in sorted(self.pending.items())]
        top = "; ".join(f"{title} ×{n}" if n > 1 else title for title, n in self.pending_titles.most_common(5))
        more = len(self.pending_titles) - 5
        if more > 0:
            top += f"; and {more} more"
        self.pending.clear()
        self.pending_titles.clear()
        self.pending_level = Level.INFO
        noun = "notification" if total == 1 else "notifications"
        return f"{total} {noun} suppressed on this channel ({', '.join(parts)}): {top}"


class Dispatcher:
    """Sends events to every configured channel under each channel's policy.

    Use it as ``dispatcher.send(event)`` any number of times, then
    ``report = dispatcher.close(timeout)`` once (or as a context manager,
    which closes with the default timeout). ``send`` never blocks on a
    channel and never raises for a channel's sake.
    """

    def __init__(self, channels: Sequence[Channel], host: NotifyHost, *, clock: Clock = time.monotonic) -> None:
        self.host = host
        self.clock = clock
        self._states = {c.name: _ChannelState(c, clock) for c in channels}
        self._failures: list[DeliveryFailure] = []
        self._failures_lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------ building

    @classmethod
    def from_settings(cls, settings: Settings, host: NotifierHost, *, clock: Clock = time.monotonic) -> Dispatcher:
        """Build the run's dispatcher from loaded settings (``settings.run.notify.channels``).

        Each channel's plugin must be an installed notifier (``host.require``)
        and its ``settings`` section is validated by the plugin's own model
        (``host.validate_settings``), so a typo fails before the cycle starts
        with the YAML key path, e.g. ``run.yaml: notify.channels.ops.settings.url: ...``.
        """
        channels = []
        state_root = settings.path(settings.run.paths.state_dir) / "notify"
        for name, raw in settings.run.notify.channels.items():
            plugin = raw.plugin or name
            where = f"run.yaml: notify.channels.{name}"
            host.require(plugin, "notifier", where=where)
            validated = host.validate_settings(plugin, raw.settings, where=f"{where}.settings")
            policy = ChannelPolicy(
                min_level=Level.parse(raw.min_level),
                rate_per_minute=raw.rate_per_minute,
                burst=raw.burst,
                dedup_seconds=raw.dedup_seconds,
            )
            channels.append(
                Channel(
                    name=name,
                    plugin=plugin,
                    policy=policy,
                    settings=validated,
                    state_dir=state_root / name,
                    timeout_seconds=raw.timeout_seconds,
                )
            )
        return cls(channels, host, clock=clock)

    @property
    def channels(self) -> list[Channel]:
        return [s.channel for s in self._states.values()]

    # ------------------------------------------------------------- sending

    def send(self, event: Event) -> None:
        """Queue ``event`` on every channel whose policy lets it through (returns at once)."""
        if self._closed:
            log.warning("notify: event %r sent after the dispatcher was closed; dropped", event.title)
            return
        event = redact_event(event)
        level = Level.parse(event.level)
        key = dedup_key(event)
        now = self.clock()
        for state in self._states.values():
            with state.lock:
                self._route(state, event, level, key, now)

    def _route(self, state: _ChannelState, event: Event, level: Level, key: str, now: float) -> None:
        policy = state.channel.policy
        if state.disabled:
            state.counts["skipped_disabled"] += 1
            return
        if level < policy.min_level:
            state.counts["filtered"] += 1
            return
        last = state.last_sent.get(key)
        if last is not None and now - last < policy.dedup_seconds:
            state.suppress(event, "duplicate")
            return
        if not state.bucket.take():
            state.suppress(event, "rate-limited")
            return
        state.last_sent[key] = now
        digest = state.take_digest()
        if digest:
            body = f"{event.body}\n\n{digest}" if event.body else digest
            event = dataclasses.replace(event, body=body, data={**event.data, "suppressed_digest": digest})
        self._enqueue(state, event)

    def _enqueue(self, state: _ChannelState, event: Event) -> None:
        job = _Job(event)
        state.jobs.append(job)
        if state.thread is None:
            state.thread = threading.Thread(
                target=self._worker, args=(state,), daemon=True, name=f"regimeflex-notify-{state.channel.name}"
            )
            state.thread.start()
        state.queue.put(job)

    def _worker(self, state: _ChannelState) -> None:
        channel = state.channel
        context = NotifyContext(channel=channel.name, settings=channel.settings, state_dir=channel.state_dir)
        while True:
            job = state.queue.get()
            if job is _STOP:
                return
            try:
                if job.abandoned:  # already reported as not delivered by close()
                    continue
                if state.disabled:
                    with state.lock:
                        state.counts["skipped_disabled"] += 1
                    continue
                self.host.notify(channel.plugin, event=job.event, context=context)
                with state.lock:
                    state.counts["sent"] += 1
            except BaseException as exc:  # noqa: BLE001 - a channel must never break the cycle
                self._record_failure(state, job.event, exc)
            finally:
                job.done.set()

    def _record_failure(self, state: _ChannelState, event: Event, exc: BaseException) -> None:
        channel = state.channel
        permanent = _is_permanent(exc)
        message = redact(str(exc) or type(exc).__name__)
        with state.lock:
            state.counts["failed"] += 1
        with self._failures_lock:
            self._failures.append(
                DeliveryFailure(channel.name, channel.plugin, event.kind, event.title, message, permanent)
            )
        if permanent:
            state.disabled = True
            log.error(
                "notify channel %r (plugin %s) failed and is disabled for this run: %s",
                channel.name,
                channel.plugin,
                message,
            )
        else:
            log.error(
                "notify channel %r (plugin %s) failed to deliver %r: %s",
                channel.name,
                channel.plugin,
                event.title,
                message,
            )

    # ------------------------------------------------------------- closing

    def close(self, timeout: float | None = None) -> DeliveryReport:
        """Send pending digests, wait for every channel, and return the :class:`DeliveryReport`.

        Each channel gets its own ``timeout_seconds`` (or ``timeout`` for all
        when given), counted from this call and running in parallel, so the
        runner waits at most the largest of them. Events still undelivered then are
        reported as failures ("not delivered within …"); their worker threads
        are daemons and are left behind. Calling ``close`` again only re-reports.
        """
        if not self._closed:
            self._closed = True
            for state in self._states.values():
                with state.lock:
                    self._flush_digest(state)
        start = time.monotonic()
        for state in self._states.values():
            limit = state.channel.timeout_seconds if timeout is None else timeout
            for job in list(state.jobs):
                if not job.done.wait(max(start + limit - time.monotonic(), 0.0)):
                    break
            self._abandon_unfinished(state, limit)
            if state.thread is not None and not state.stopped:
                state.stopped = True
                state.queue.put(_STOP)
        return self.report()

    def _flush_digest(self, state: _ChannelState) -> None:
        if state.disabled or not state.pending:
            return
        level = state.pending_level
        total = sum(state.pending.values())
        digest = state.take_digest()
        self._enqueue(
            state,
            Event(
                kind="digest",
                level=level,
                title=f"Digest: {total} suppressed notification{'s' if total != 1 else ''}",
                body=digest,
                data={"suppressed": total},
                ts=datetime.now(UTC),
            ),
        )

    def _abandon_unfinished(self, state: _ChannelState, timeout: float) -> None:
        channel = state.channel
        unfinished = [job for job in state.jobs if not job.done.is_set() and not job.abandoned]
        for job in unfinished:
            job.abandoned = True
            message = f"not delivered within {timeout:g}s (channel still busy when the run ended)"
            with self._failures_lock:
                self._failures.append(
                    DeliveryFailure(channel.name, channel.plugin, job.event.kind, job.event.title, message)
                )
            log.error("notify channel %r (plugin %s): %r %s", channel.name, channel.plugin, job.event.title, message)

    def report(self) -> DeliveryReport:
        """The counts and failures so far (complete after :meth:`close`)."""
        stats = {}
        for name, state in self._states.items():
            c = state.counts
            stats[name] = ChannelStats(
                sent=c["sent"],
                failed=c["failed"],
                filtered=c["filtered"],
                duplicates=c["duplicate"],
                rate_limited=c["rate-limited"],
                skipped_disabled=c["skipped_disabled"],
                disabled=state.disabled,
            )
        with self._failures_lock:
            failures = tuple(self._failures)
        return DeliveryReport(channels=stats, failures=failures)

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_permanent(exc: BaseException) -> bool:
    # The plugin host may wrap the notifier's exception; look down the chain.
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if getattr(current, "permanent", False):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
