"""The built-in console notifier prints plain, indented text."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from regimeflex.builtins import console
from regimeflex.types import Event, Level, NotifyContext


def test_console_prints_level_title_and_indented_body(capsys: pytest.CaptureFixture[str]) -> None:
    event = Event(kind="run", level=Level.SUCCESS, title="Run finished", body="3 orders\n3 fills")
    console.notify(event=event, context=NotifyContext(channel="console", settings={}))
    assert capsys.readouterr().err == "[SUCCESS] Run finished\n    3 orders\n    3 fills\n"


def test_console_can_print_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    event = Event(kind="run", level=Level.INFO, title="Market closed")
    console.notify(event=event, context=NotifyContext(channel="console", settings={"stream": "stdout"}))
    assert capsys.readouterr().out == "[INFO] Market closed\n"


def test_console_settings_reject_unknown_stream() -> None:
    with pytest.raises(ValidationError, match="Input should be 'stderr' or 'stdout'"):
        console.settings_model().model_validate({"stream": "stdlog"})
