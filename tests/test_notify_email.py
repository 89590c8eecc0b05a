"""The e-mail notifier against a local SMTP server (aiosmtpd): content, TLS, login, errors."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from regimeflex.builtins import mail
from regimeflex.errors import DeliveryError
from regimeflex.types import Event, Level, NotifyContext

PASSWORD = "test-smtp-password-not-real"
EVENT = Event(
    kind="run",
    level=Level.RISK,
    title="Breaker <daily_loss> tripped",
    body="Loss 2.3% > 2% limit.\n\nOrders reduced & re-planned.",
    data={"equity": 98123.5},
)


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for localhost (the client trusts it via ca_file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"bot" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def plain_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=check_login,
        auth_required=True,
        auth_require_tls=True,
        auth_exclude_mechanism=["LOGIN"],
    )
    controller.start()
    yield inbox, port
    controller.stop()


def settings(port: int | None, **overrides: object) -> mail.EmailSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "RegimeFlex <bot@example.com>",
        "to": ["ops@example.com"],
        "timeout_seconds": 5,
    }
    values.update(overrides)
    return mail.EmailSettings.model_validate(values)


def send(event: Event, cfg: mail.EmailSettings) -> None:
    mail.notify(event=event, context=NotifyContext(channel="mail", settings=cfg))


def test_email_has_subject_sender_and_recipients(plain_server: tuple[Inbox, int]) -> None:
    inbox, port = plain_server
    send(EVENT, settings(port))
    message = inbox.messages[0]
    assert message["Subject"] == "[RegimeFlex] RISK: Breaker <daily_loss> tripped"
    assert message["From"] == "RegimeFlex <bot@example.com>"
    assert inbox.envelopes[0].rcpt_tos == ["ops@example.com"]


def test_email_text_part_is_the_plain_event(plain_server: tuple[Inbox, int]) -> None:
    inbox, port = plain_server
    send(EVENT, settings(port))
    text = inbox.messages[0].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.strip() == "[RISK] Breaker <daily_loss> tripped\nLoss 2.3% > 2% limit.\n\nOrders reduced & re-planned."


def test_email_html_part_escapes_event_text(plain_server: tuple[Inbox, int]) -> None:
    inbox, port = plain_server
    send(EVENT, settings(port))
    html = inbox.messages[0].get_body(("html",)).get_content()
    assert "RISK: Breaker &lt;daily_loss&gt; tripped" in html
    assert "Orders reduced &amp; re-planned." in html
    assert "<daily_loss>" not in html


def test_email_attaches_the_report(plain_server: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = plain_server
    report = tmp_path / "2019-12-31.html"
    report.write_text("<!doctype html><p>report</p>", encoding="utf-8")
    send(Event(kind="run", level=Level.SUCCESS, title="Run done", attachments=(report,)), settings(port))
    [attachment] = list(inbox.messages[0].iter_attachments())
    assert attachment.get_filename() == "2019-12-31.html"
    assert attachment.get_content_type() == "text/html"
    assert attachment.get_content() == "<!doctype html><p>report</p>"


def test_email_skips_an_oversized_report_and_says_so(plain_server: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = plain_server
    report = tmp_path / "big.html"
    report.write_bytes(b"x" * 300_000)
    send(
        Event(kind="run", level=Level.SUCCESS, title="Run done", attachments=(report,)),
        settings(port, max_attachment_mb=0.1),
    )
    message = inbox.messages[0]
    assert list(message.iter_attachments()) == []
    assert (
        "big.html was not attached: 0.3 MB is over the 0.1 MB limit (max_attachment_mb)."
        in message.get_body(("plain",)).get_content()
    )


def test_email_over_starttls_logs_in_with_the_password_from_env(
    starttls_server: tuple[Inbox, int], certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = starttls_server
    monkeypatch.setenv("REGIMEFLEX_SMTP_PASSWORD", PASSWORD)
    send(EVENT, settings(port, host="localhost", security="starttls", username="bot", ca_file=str(certificate[0])))
    assert len(inbox.messages) == 1


def test_wrong_password_is_a_permanent_error_naming_the_variable(
    starttls_server: tuple[Inbox, int], certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = starttls_server
    monkeypatch.setenv("REGIMEFLEX_SMTP_PASSWORD", "wrong-password-not-real")
    with pytest.raises(DeliveryError) as info:
        send(EVENT, settings(port, host="localhost", security="starttls", username="bot", ca_file=str(certificate[0])))
    assert str(info.value) == (
        f"email via localhost:{port}: login as bot was rejected (535 5.7.8 Authentication "
        f"credentials invalid); check REGIMEFLEX_SMTP_PASSWORD"
    )
    assert info.value.permanent
    assert "wrong-password-not-real" not in str(info.value)


def test_untrusted_certificate_is_refused(starttls_server: tuple[Inbox, int]) -> None:
    _, port = starttls_server
    with pytest.raises(
        DeliveryError,
        match=rf"^email via localhost:{port}: TLS certificate check failed "
        r"\(self-signed certificate\); if the server uses a private CA "
        r"set ca_file$",
    ):
        send(EVENT, settings(port, host="localhost", security="starttls"))


def test_missing_password_fails_before_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGIMEFLEX_SMTP_PASSWORD", raising=False)
    with pytest.raises(
        DeliveryError,
        match=r"^email via 127.0.0.1:9: username is set but REGIMEFLEX_SMTP_PASSWORD "
        r"is not; export the SMTP password \(or put it in .env\)$",
    ):
        send(EVENT, settings(9, username="bot"))


def test_server_without_starttls_is_refused_when_starttls_is_required(plain_server: tuple[Inbox, int]) -> None:
    inbox, port = plain_server
    with pytest.raises(
        DeliveryError,
        match=rf"^email via 127.0.0.1:{port}: the server does not offer STARTTLS; "
        r"use security: ssl \(port 465\), or security: none only for a "
        r"local relay$",
    ):
        send(EVENT, settings(port, security="starttls"))
    assert inbox.messages == []


def test_unreachable_server_is_a_transient_error() -> None:
    port = free_port()
    with pytest.raises(
        DeliveryError,
        match=rf"^email via 127.0.0.1:{port}: cannot connect: "
        r"ConnectionRefusedError: ",
    ) as info:
        send(EVENT, settings(port))
    assert not info.value.permanent


def test_email_settings_reject_a_bad_address() -> None:
    with pytest.raises(ValueError, match="not an e-mail address: 'ops'"):
        settings(25, to=["ops"])


def test_default_port_follows_security() -> None:
    assert [settings(None, security=s).effective_port for s in ("starttls", "ssl", "none")] == [587, 465, 25]


def test_email_over_implicit_tls(certificate: tuple[Path, Path]) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=server_tls(certificate), server_hostname="localhost"
    )
    controller.start()
    try:
        send(EVENT, settings(port, host="localhost", security="ssl", ca_file=str(certificate[0])))
    finally:
        controller.stop()
    assert inbox.messages[0]["Subject"] == "[RegimeFlex] RISK: Breaker <daily_loss> tripped"


def test_line_breaks_in_a_title_cannot_inject_headers(plain_server: tuple[Inbox, int]) -> None:
    inbox, port = plain_server
    send(Event(kind="x", level=Level.ERROR, title="boom\r\nBcc: attacker@example.com"), settings(port))
    message = inbox.messages[0]
    assert message["Subject"] == "[RegimeFlex] ERROR: boom Bcc: attacker@example.com"
    assert message["Bcc"] is None
