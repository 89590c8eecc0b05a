"""The dispatcher: level filter, de-duplication, rate limit, digest, isolation and timeouts."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from regimeflex.errors import DeliveryError
from regimeflex.notify.dispatch import Channel, ChannelPolicy, Dispatcher
from regimeflex.types import Event, Level, NotifyContext


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class RecordingHost:
    """Stands in for PluginHost.notify: records deliveries, optionally fails or blocks."""

    delivered: list[tuple[str, str, Event]] = field(default_factory=list)
    fail: dict[str, BaseException] = field(default_factory=dict)
    gate: threading.Event | None = None

    def notify(self, plugin: str, *, event: Event, context: NotifyContext) -> None:
        if self.gate is not None and context.channel == "slow":
            self.gate.wait(5)
        if context.channel in self.fail:
            raise self.fail[context.channel]
        self.delivered.append((context.channel, plugin, event))

    def titles(self, channel: str) -> list[str]:
        return [e.title for c, _, e in self.delivered if c == channel]


def event(title: str = "Breaker tripped", level: Level = Level.RISK, body: str = "drawdown 12%") -> Event:
    return Event(kind="breaker", level=level, title=title, body=body)


def dispatcher(host: RecordingHost, clock: FakeClock | None = None, **policy: object) -> Dispatcher:
    channel = Channel(name="ops", plugin="console", policy=ChannelPolicy(**policy))  # type: ignore[arg-type]
    return Dispatcher([channel], host, clock=clock or FakeClock())


def test_event_below_minimum_level_is_not_sent() -> None:
    host = RecordingHost()
    d = dispatcher(host, min_level=Level.RISK)
    d.send(event("daily summary", Level.SUCCESS))
    report = d.close(timeout=2)
    assert host.delivered == []
    assert report.channels["ops"].filtered == 1


def test_event_at_minimum_level_is_sent_to_the_channel_plugin() -> None:
    host = RecordingHost()
    d = dispatcher(host, min_level=Level.RISK)
    d.send(event())
    d.close(timeout=2)
    assert [(c, p, e.title) for c, p, e in host.delivered] == [("ops", "console", "Breaker tripped")]


def test_duplicate_within_window_is_suppressed() -> None:
    host = RecordingHost()
    clock = FakeClock()
    d = dispatcher(host, clock, dedup_seconds=300)
    d.send(event())
    clock.now += 299
    d.send(event())
    report = d.close(timeout=2)
    assert host.titles("ops")[0] == "Breaker tripped"
    assert report.channels["ops"].duplicates == 1


def test_duplicate_after_window_is_sent_again() -> None:
    host = RecordingHost()
    clock = FakeClock()
    d = dispatcher(host, clock, dedup_seconds=300)
    d.send(event())
    clock.now += 301
    d.send(event())
    d.close(timeout=2)
    assert host.titles("ops") == ["Breaker tripped", "Breaker tripped"]


def test_token_bucket_limits_a_burst() -> None:
    host = RecordingHost()
    d = dispatcher(host, burst=2, rate_per_minute=1)
    for i in range(5):
        d.send(event(f"alert {i}"))
    report = d.close(timeout=2)
    assert host.titles("ops")[:2] == ["alert 0", "alert 1"]
    assert report.channels["ops"].rate_limited == 3


def test_token_bucket_refills_over_time() -> None:
    host = RecordingHost()
    clock = FakeClock()
    d = dispatcher(host, clock, burst=1, rate_per_minute=6)  # one token every 10 s
    d.send(event("a"))
    d.send(event("b"))
    clock.now += 10
    d.send(event("c"))
    d.close(timeout=2)
    assert host.titles("ops")[:2] == ["a", "c"]


def test_suppressed_events_are_summarised_in_the_next_message() -> None:
    host = RecordingHost()
    clock = FakeClock()
    d = dispatcher(host, clock, burst=1, rate_per_minute=6)
    d.send(event("a"))
    d.send(event("b"))
    d.send(event("a"))
    clock.now += 10
    d.send(event("c", body="fill report"))
    d.close(timeout=2)
    _, _, third = host.delivered[1]
    assert third.body == (
        "fill report\n\n2 notifications suppressed on this channel (1 duplicate, 1 rate-limited): b; a"
    )
    assert third.data["suppressed_digest"].startswith("2 notifications suppressed")


def test_close_sends_a_final_digest_of_suppressed_events() -> None:
    host = RecordingHost()
    d = dispatcher(host, burst=1, rate_per_minute=0.001)
    d.send(event("a", Level.INFO))
    d.send(event("kill switch", Level.ERROR))
    d.close(timeout=2)
    _, _, digest = host.delivered[-1]
    assert (digest.kind, digest.level, digest.title) == ("digest", Level.ERROR, "Digest: 1 suppressed notification")
    assert digest.body == "1 notification suppressed on this channel (1 rate-limited): kill switch"


def test_events_reach_a_channel_in_the_order_sent() -> None:
    host = RecordingHost()
    d = dispatcher(host, burst=50, rate_per_minute=600)
    titles = [f"event {i}" for i in range(20)]
    for title in titles:
        d.send(event(title))
    d.close(timeout=2)
    assert host.titles("ops") == titles


def test_failing_channel_is_recorded_and_other_channels_still_deliver() -> None:
    host = RecordingHost(fail={"broken": RuntimeError("connection refused")})
    channels = [Channel("broken", "webhook"), Channel("ops", "console")]
    d = Dispatcher(channels, host)
    d.send(event())
    report = d.close(timeout=2)
    assert host.titles("ops") == ["Breaker tripped"]
    assert [(f.channel, f.plugin, f.title, f.error) for f in report.failures] == [
        ("broken", "webhook", "Breaker tripped", "connection refused")
    ]
    assert report.channels["broken"].failed == 1


def test_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    host = RecordingHost(fail={"ops": RuntimeError("connection refused")})
    d = dispatcher(host)
    d.send(event())
    d.close(timeout=2)
    assert (
        "notify channel 'ops' (plugin console) failed to deliver 'Breaker tripped': connection refused" in caplog.text
    )


def test_permanent_failure_disables_the_channel_and_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    host = RecordingHost(fail={"ops": DeliveryError("telegram: HTTP 401 Unauthorized", permanent=True)})
    d = dispatcher(host, burst=10)
    d.send(event("one"))
    d.close(timeout=2)  # wait for the first failure before sending more
    d._closed = False  # noqa: SLF001 - reopen to keep sending on the same run
    d.send(event("two"))
    d.send(event("three"))
    report = d.close(timeout=2)
    assert [f.error for f in report.failures] == ["telegram: HTTP 401 Unauthorized"]
    assert report.channels["ops"].disabled
    assert report.channels["ops"].skipped_disabled == 2
    assert caplog.text.count("disabled for this run") == 1


def test_permanent_failure_wrapped_by_the_plugin_host_still_disables() -> None:
    try:
        try:
            raise DeliveryError("chat not found", permanent=True)
        except DeliveryError as inner:
            raise RuntimeError("plugin 'telegram' raised in notify: chat not found") from inner
    except RuntimeError as wrapped:
        error = wrapped
    host = RecordingHost(fail={"ops": error})
    d = dispatcher(host)
    d.send(event())
    assert d.close(timeout=2).channels["ops"].disabled


def test_send_returns_while_a_slow_channel_is_still_delivering() -> None:
    gate = threading.Event()
    host = RecordingHost(gate=gate)
    d = Dispatcher([Channel("slow", "webhook", timeout_seconds=0.3), Channel("ops", "console")], host)
    d.send(event())  # the slow channel blocks on the gate; send must not
    report = d.close()  # each channel's own timeout: 0.3 s for the slow one, 10 s for ops
    gate.set()
    assert host.titles("ops") == ["Breaker tripped"]
    assert [(f.channel, f.error) for f in report.failures] == [
        ("slow", "not delivered within 0.3s (channel still busy when the run ended)")
    ]


def test_channel_plugins_never_see_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:test-token-not-real")
    host = RecordingHost()
    d = dispatcher(host)
    d.send(event(body="request to /bot123456:test-token-not-real/sendMessage failed"))
    d.close(timeout=2)
    _, _, sent = host.delivered[0]
    assert "test-token-not-real" not in sent.body
    assert sent.body == "request to /bot***/sendMessage failed"


def test_report_is_json_ready_for_the_ledger() -> None:
    host = RecordingHost(fail={"ops": RuntimeError("boom")})
    d = dispatcher(host)
    d.send(event())
    data = d.close(timeout=2).to_dict()
    assert data["sent"] == 0
    assert data["failures"][0]["error"] == "boom"
    assert data["channels"]["ops"]["failed"] == 1
