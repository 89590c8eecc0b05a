"""Built-in ``email`` notifier: events as HTML e-mail (with a text part) over SMTP, report attached.

Owns the e-mail channel: building the message (subject ``[RegimeFlex] LEVEL:
title``, a plain-text part and an escaped HTML part, each report in
``event.attachments`` attached up to a size limit), connecting with
STARTTLS (default, port 587), implicit TLS (``ssl``, port 465) or plain
(``none``, local relays only), logging in with the password from the
environment (``REGIMEFLEX_SMTP_PASSWORD`` by default, never YAML), and
turning SMTP failures into one clear :class:`DeliveryError` each.
"""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field, field_validator

from regimeflex.hookspecs import hookimpl
from regimeflex.notify.message import DeliveryError, event_text, event_timestamp
from regimeflex.secrets import get_secret, redact
from regimeflex.types import Event, Level, NotifyContext

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}

_HTML = jinja2.Environment(autoescape=True).from_string("""\
<!doctype html>
<html><body style="font-family:-apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#1f2328;max-width:640px">
<p style="margin:0 0 4px;font-size:12px;color:#57606a">RegimeFlex · {{ channel }} · {{ ts }}</p>
<h2 style="margin:0 0 12px;font-size:18px;color:{{ colour }}">{{ level }}: {{ title }}</h2>
{% for para in paragraphs %}<p style="margin:0 0 10px;white-space:pre-wrap">{{ para }}</p>{% endfor %}
{% if data %}<table style="border-collapse:collapse;font-size:13px">
{% for k, v in data %}<tr><td style="padding:2px 10px 2px 0;color:#57606a">{{ k }}</td><td style="padding:2px 0">{{ v }}</td></tr>{% endfor %}
</table>{% endif %}
{% if notes %}<p style="font-size:12px;color:#57606a">{{ notes|join(" ") }}</p>{% endif %}
</body></html>
""")
_COLOURS = {Level.INFO: "#1f2328", Level.SUCCESS: "#1a7f37", Level.RISK: "#9a6700", Level.ERROR: "#cf222e"}


class EmailSettings(BaseModel):
    """``notify.channels.<name>.settings`` for the e-mail notifier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str = "REGIMEFLEX_SMTP_PASSWORD"
    sender: str
    to: list[str] = Field(min_length=1)
    subject_prefix: str = "[RegimeFlex]"
    timeout_seconds: float = Field(default=20.0, gt=0)
    attach_reports: bool = True
    max_attachment_mb: float = Field(default=10.0, gt=0)
    ca_file: str | None = None

    @field_validator("sender")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError(f"not an e-mail address: {value!r}")
        return value

    @field_validator("to")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if "@" not in parseaddr(v)[1]]
        if bad:
            raise ValueError(f"not an e-mail address: {bad[0]!r}")
        return values

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]


@hookimpl
def capabilities() -> dict[str, bool]:
    return {"needs_network": True, "supports_attachments": True}


@hookimpl
def settings_model() -> type[BaseModel]:
    return EmailSettings


def build_message(event: Event, settings: EmailSettings, channel: str) -> EmailMessage:
    """The complete e-mail for ``event``: text part, HTML part, attached reports."""
    level = Level.parse(event.level)
    message = EmailMessage()
    title = " ".join(event.title.split())  # a line break in a header would be refused (header injection)
    message["Subject"] = f"{settings.subject_prefix} {level.name}: {title}".strip()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message["Date"] = formatdate(event_timestamp(event).timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(domain=parseaddr(settings.sender)[1].split("@")[-1])
    attachments, notes = _attachments(event, settings)
    text = event_text(event) + ("\n\n" + " ".join(notes) if notes else "")
    message.set_content(text)
    data = [(str(k), str(v)) for k, v in event.data.items() if not isinstance(v, (dict, list))]
    message.add_alternative(
        _HTML.render(
            channel=channel,
            ts=event_timestamp(event).strftime("%Y-%m-%d %H:%M UTC"),
            level=level.name,
            colour=_COLOURS[level],
            title=event.title,
            paragraphs=[p for p in event.body.split("\n\n") if p],
            data=data,
            notes=notes,
        ),
        subtype="html",
    )
    for path, payload in attachments:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=path.name)
    return message


def _attachments(event: Event, settings: EmailSettings) -> tuple[list[tuple[Path, bytes]], list[str]]:
    if not settings.attach_reports:
        return [], []
    found: list[tuple[Path, bytes]] = []
    notes: list[str] = []
    limit = settings.max_attachment_mb * 1024 * 1024
    for raw in event.attachments:
        path = Path(raw)
        if not path.is_file():
            notes.append(f"{path.name} was not attached: file not found.")
        elif path.stat().st_size > limit:
            notes.append(
                f"{path.name} was not attached: {path.stat().st_size / 1048576:.1f} MB is over the "
                f"{settings.max_attachment_mb:g} MB limit (max_attachment_mb)."
            )
        else:
            found.append((path, path.read_bytes()))
    return found, notes


def _tls_context(settings: EmailSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.ca_file)


def send_message(message: EmailMessage, settings: EmailSettings) -> None:
    """Connect, secure, log in and send; every failure becomes one :class:`DeliveryError`."""
    host, port = settings.host, settings.effective_port
    where = f"email via {host}:{port}"
    password = None
    if settings.username:
        password = get_secret(settings.password_env, needed_by="email", allow_space=True)
        if not password:
            raise DeliveryError(
                f"{where}: username is set but {settings.password_env} is not; export the SMTP "
                f"password (or put it in .env)",
                permanent=True,
            )
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=settings.timeout_seconds, context=_tls_context(settings)
            )
        else:
            client = smtplib.SMTP(host, port, timeout=settings.timeout_seconds)
        with client:
            client.ehlo()
            if settings.security == "starttls":
                if not client.has_extn("starttls"):
                    raise DeliveryError(
                        f"{where}: the server does not offer STARTTLS; use security: ssl "
                        f"(port 465), or security: none only for a local relay",
                        permanent=True,
                    )
                client.starttls(context=_tls_context(settings))
                client.ehlo()
            if settings.username and password:
                client.login(settings.username, password)
            client.send_message(message)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"{where}: login as {settings.username} was rejected ({exc.smtp_code} "
            f"{_text(exc.smtp_error)}); check {settings.password_env}",
            permanent=True,
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(f"{rcpt} ({code} {_text(msg)})" for rcpt, (code, msg) in exc.recipients.items())
        raise DeliveryError(f"{where}: recipients refused: {refused}", permanent=True) from None
    except smtplib.SMTPSenderRefused as exc:
        raise DeliveryError(
            f"{where}: sender {exc.sender} refused ({exc.smtp_code} {_text(exc.smtp_error)})", permanent=True
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(
            f"{where}: TLS certificate check failed ({exc.verify_message}); if the server uses "
            f"a private CA set ca_file",
            permanent=True,
        ) from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"{where}: {type(exc).__name__}: {redact(exc)}") from None
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"{where}: cannot connect: {type(exc).__name__}: {redact(exc)}") from None


def _text(value: Any) -> str:
    return redact(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))


@hookimpl
def notify(event: Event, context: NotifyContext) -> None:
    raw: Mapping[str, Any] = context.settings or {}
    settings = raw if isinstance(raw, EmailSettings) else EmailSettings.model_validate(dict(raw))
    send_message(build_message(event, settings, context.channel), settings)
