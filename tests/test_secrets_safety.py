"""Secrets with control characters: stripped when loaded, refused when broken inside, and
never leaked in any escaped form (repr, JSON, URL) through HTTP errors, notifications or CLI output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from pytest_httpserver import HTTPServer

from regimeflex.builtins import webhook
from regimeflex.errors import ConfigError, HttpError, SecretError
from regimeflex.http import make_session, request_json
from regimeflex.secrets import MASK, get_secret, is_secret_key, redact, redact_obj
from regimeflex.types import Event, Level

SECRET = "sk-test-not-real-4f9a"


def leaked(text: str, secret: str = SECRET) -> bool:
    """Is any form of ``secret`` (its core, repr/JSON-escaped, URL-encoded) in ``text``?"""
    forms = {secret.strip(), repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret, safe="")}
    return any(f in text for f in forms)


def test_http_library_error_that_quotes_the_header_value_with_repr_is_redacted(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The leak as found: a key ending in "\r" makes requests refuse the header and quote it with repr.
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET + "\r")
    session = make_session(headers={"APCA-API-SECRET-KEY": os.environ["APCA_API_SECRET_KEY"]})
    with pytest.raises(HttpError) as err:
        request_json(session, "GET", httpserver.url_for("/v2/account"), service="alpaca")
    assert "header" in str(err.value)
    assert not leaked(str(err.value)), str(err.value)


def test_redact_masks_repr_json_and_url_encoded_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    value = "a/b+c=d" + SECRET + "\r"
    monkeypatch.setenv("POLYGON_API_KEY", value)
    texts = [
        f"Invalid return character(s) in header value: {value!r}",
        json.dumps({"error": value}),
        "https://api.example/x?k=" + quote(value, safe=""),
        "https://api.example/" + quote(value) + "/y",
        f"bytes: {value.encode()!r}",
    ]
    for text in texts:
        out = redact(text)
        assert "sk-test" not in out and "a/b+c" not in out and "a%2Fb%2Bc" not in out, out
        assert MASK in out


def test_secret_with_trailing_newline_from_dotenv_is_stripped_when_loaded(project: Path) -> None:
    from regimeflex.config import load_settings

    (project.parent / ".env").write_bytes(f"TELEGRAM_BOT_TOKEN={SECRET}\r\nPOLYGON_API_KEY='{SECRET} '\n".encode())
    load_settings(project)
    assert os.environ["TELEGRAM_BOT_TOKEN"] == SECRET
    assert os.environ["POLYGON_API_KEY"] == SECRET


def test_secret_from_the_environment_is_stripped_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", f"  {SECRET}\n")
    assert get_secret("APCA_API_KEY_ID") == SECRET


@pytest.mark.parametrize("inside", [" ", "\r", "\t", "\x7f", "\x1b"])
def test_secret_with_whitespace_or_control_character_inside_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", "sk-test" + inside + "not-real-4f9a")
    with pytest.raises(SecretError) as err:
        get_secret("POLYGON_API_KEY", needed_by="polygon")
    message = str(err.value)
    assert message.startswith("POLYGON_API_KEY (needed by polygon): the value contains ")
    assert "\n" not in message and "sk-test" not in message and "not-real" not in message
    assert isinstance(err.value, ConfigError) and err.value.exit_code == 2


def test_alpaca_key_ending_in_cr_is_sent_stripped_not_quoted_in_an_error(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regimeflex_alpaca.client import AlpacaClient

    monkeypatch.setenv("APCA_API_KEY_ID", "PKTESTNOTREAL\r")
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET + "\r")
    httpserver.expect_request("/v2/account").respond_with_json({"id": "acct", "status": "ACTIVE"})
    account = AlpacaClient(httpserver.url_for("/")).get("/v2/account")
    assert account["status"] == "ACTIVE"
    request, _ = httpserver.log[0]
    assert request.headers["APCA-API-SECRET-KEY"] == SECRET
    assert request.headers["APCA-API-KEY-ID"] == "PKTESTNOTREAL"


def test_config_validate_refuses_a_selected_plugins_secret_with_a_control_character_inside(
    run_cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "run.yaml").write_text(
        (project / "run.yaml").read_text() + "    ops:\n      plugin: telegram\n", encoding="utf-8"
    )
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:AA\x07-not-real-token")
    monkeypatch.setenv("TELEGRAM_CHAT_ID", "42")
    code, out, err = run_cli("--config", project, "config", "validate")
    assert code == 2
    assert err.startswith("error: TELEGRAM_BOT_TOKEN (needed by telegram, ")
    assert "control character (U+0007)" in err and "not-real-token" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_webhook_body_never_carries_a_repr_escaped_secret(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regimeflex.notify.dispatch import Channel, Dispatcher
    from regimeflex.plugins import PluginHost

    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET + "\r")
    failure = f"alpaca: GET /v2/account failed: InvalidHeader: header value: {os.environ['APCA_API_SECRET_KEY']!r}"
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    settings = webhook.WebhookSettings(url=httpserver.url_for("/hook"))
    dispatcher = Dispatcher([Channel("ops", "webhook", settings=settings)], PluginHost.load())
    dispatcher.send(Event(kind="run", level=Level.ERROR, title="run failed", body=failure, data={"error": failure}))
    assert not dispatcher.close(timeout=10).failures
    body = httpserver.log[0][0].get_data(as_text=True)
    assert "InvalidHeader" in body
    assert not leaked(body), body


def test_telegram_message_never_carries_a_repr_escaped_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from regimeflex.notify.message import redact_event
    from regimeflex_telegram.notifier import format_messages

    monkeypatch.setenv("POLYGON_API_KEY", SECRET + "\n")
    failure = f"polygon: header value {os.environ['POLYGON_API_KEY']!r} refused"
    text = "\n".join(format_messages(redact_event(Event(kind="run", level=Level.ERROR, title="x", body=failure))))
    assert not leaked(text), text


@pytest.mark.parametrize(
    "key",
    ["secret_key", "private_key", "token", "password", "passphrase", "api_key", "apiKey", "Secret_Key", "PASSWORD"],
)
def test_secret_looking_key_in_yaml_is_refused_as_a_secret_not_an_unknown_key(run_cli, project: Path, key: str) -> None:
    (project / "broker.yaml").write_text(
        f"broker: paper\nmode: paper\nbrokers:\n  alpaca:\n    {key}: hunter2-not-real\n", encoding="utf-8"
    )
    code, out, err = run_cli("--config", project, "config", "validate")
    assert code == 2
    assert err.startswith(f"error: broker.yaml: brokers.alpaca.{key}: secrets are not allowed in YAML files; ")
    assert "unknown key" not in err and "hunter2" not in out + err


def test_secret_key_in_yaml_names_the_env_var_to_use(run_cli, project: Path) -> None:
    (project / "broker.yaml").write_text(
        "broker: paper\nmode: paper\nbrokers:\n  alpaca:\n    secret_key: hunter2-not-real\n", encoding="utf-8"
    )
    code, _, err = run_cli("--config", project, "config", "show")
    assert code == 2
    assert "set APCA_API_SECRET_KEY in the environment or in .env" in err


def test_config_show_never_prints_a_passphrase_from_a_plugin_section(run_cli, project: Path) -> None:
    (project / "run.yaml").write_text(
        (project / "run.yaml").read_text()
        + "    ops:\n      plugin: webhook\n      settings:\n        passphrase: hunter2-not-real\n",
        encoding="utf-8",
    )
    code, out, err = run_cli("--config", project, "config", "show")
    assert "hunter2" not in out + err
    assert code == 2 and "notify.channels.ops.settings.passphrase: secrets are not allowed" in err


def test_redaction_of_structures_masks_every_secret_looking_key_case_insensitively() -> None:
    data = {
        "secret_key": "a1",
        "Private_Key": "a2",
        "passphrase": "a3",
        "apiKey": "a4",
        "nested": [{"TOKEN": "a5", "client_secret": "a6"}],
        "token_env": "TELEGRAM_BOT_TOKEN",
        "max_tokens": 5,
    }
    assert redact_obj(data) == {
        "secret_key": MASK,
        "Private_Key": MASK,
        "passphrase": MASK,
        "apiKey": MASK,
        "nested": [{"TOKEN": MASK, "client_secret": MASK}],
        "token_env": "TELEGRAM_BOT_TOKEN",
        "max_tokens": 5,
    }
    assert not any(is_secret_key(k) for k in ("token_env", "password_env", "monkey_id", "tokens"))


def test_requests_really_quotes_the_header_value_with_repr() -> None:
    # Guards the premise of the redaction above: if requests changes its message, revisit.
    with pytest.raises(requests.exceptions.InvalidHeader) as err:
        requests.Request("GET", "http://127.0.0.1/", headers={"X": SECRET + "\r"}).prepare()
    assert SECRET in str(err.value)


def test_smtp_password_may_hold_a_space_but_not_a_control_character(monkeypatch: pytest.MonkeyPatch) -> None:
    # app passwords are often shown in groups ("abcd efgh ijkl mnop"); a stray \r inside is still refused
    from regimeflex.builtins.mail import EmailSettings, send_message

    monkeypatch.setenv("REGIMEFLEX_SMTP_PASSWORD", "abcd efgh\rijkl mnop")
    settings = EmailSettings.model_validate(
        {"host": "127.0.0.1", "port": 1, "username": "bot", "sender": "a@example.com", "to": ["b@example.com"]}
    )
    with pytest.raises(
        SecretError, match=r"^REGIMEFLEX_SMTP_PASSWORD \(needed by email\): the value contains a control"
    ):
        send_message(None, settings)  # type: ignore[arg-type]
    monkeypatch.setenv("REGIMEFLEX_SMTP_PASSWORD", " abcd efgh ijkl mnop\n")
    assert get_secret("REGIMEFLEX_SMTP_PASSWORD", allow_space=True) == "abcd efgh ijkl mnop"


def test_the_daily_run_path_does_not_import_requests_yet_http_logs_are_scrubbed_from_the_start() -> None:
    # the run, its notifications and the plugin API load without `requests` (about 0.1 s of every
    # run); a plugin that logs through urllib3 is still masked, and the notifier re-export still works
    code = (
        "import logging, sys\n"
        "import regimeflex.runner, regimeflex.notify, regimeflex.api\n"
        "print('requests' in sys.modules, 'urllib3' in sys.modules)\n"
        "print(sorted(type(f).__name__ for f in logging.getLogger('urllib3.connectionpool').filters))\n"
        "from regimeflex.notify.message import protect_in_http_logs\n"
        "from regimeflex.http import protect_in_http_logs as same\n"
        "print(protect_in_http_logs is same)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["False False", "['_ScrubFilter']", "True"]
