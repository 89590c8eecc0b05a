"""``regimeflex doctor``: one screen, OK/WARN/FAIL per check with the fix, exit 1 on any FAIL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from regimeflex.cli import main


def doctor(capsys, config: Path, *extra: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(config), "doctor", *extra])
    return exited.value.code, capsys.readouterr().out


def test_demo_project_is_healthy(project: Path, capsys) -> None:
    code, out = doctor(capsys, project, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["config"] == statuses["plugins"] == statuses["ledger"] == statuses["kill switch"] == "OK"


def test_config_error_is_a_fail_with_exit_1(project: Path, capsys) -> None:
    (project / "risk.yaml").write_text("sizer: {plugin: nosuchsizer}\n")
    code, out = doctor(capsys, project)
    assert code == 1
    assert "FAIL plugins" in out and "no plugin named 'nosuchsizer'" in out


def test_engaged_kill_switch_is_a_warning_with_the_fix(project: Path, capsys) -> None:
    (project / "kill_switch.flag").write_text("maintenance")
    code, out = doctor(capsys, project)
    assert code == 0
    assert "WARN kill switch" in out and "`regimeflex kill off`" in out


def test_tampered_ledger_fails_naming_the_line(project: Path, capsys) -> None:
    main_args = ["--config", str(project), "run", "--as-of", "2024-03-13"]
    with pytest.raises(SystemExit):
        main(main_args)
    ledger = project.parent / "logs/audit/ledger.jsonl"
    lines = ledger.read_text().splitlines()
    lines[1] = lines[1].replace('"kind":"', '"kind":"x', 1)
    ledger.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    code, out = doctor(capsys, project)
    assert code == 1
    assert "FAIL ledger" in out and "line 2" in out


def test_missing_plugin_secret_is_named_never_its_value(project: Path, capsys, monkeypatch) -> None:
    import types

    from regimeflex import hookimpl
    from regimeflex.plugins import PluginHost

    needs_key = types.ModuleType("needs_key")
    needs_key.notify = hookimpl(lambda event, context: None)
    needs_key.required_env = hookimpl(lambda settings: [settings.get("token_env", "REGIMEFLEX_TEST_TOKEN")])
    real = PluginHost.load

    def load_with_extra(**kwargs):
        host = real(**kwargs)
        PluginHost._register(host._reg, "needs_key", needs_key, None, None, "needs_key")
        return host

    monkeypatch.setattr(PluginHost, "load", staticmethod(load_with_extra))
    (project / "run.yaml").write_text("universe: [SPY]\nnotify:\n  channels:\n    pager: {plugin: needs_key}\n")
    (project / "broker.yaml").write_text("broker: paper\nmode: paper\n")
    code, out = doctor(capsys, project)
    assert code == 1
    assert "FAIL environment" in out and "missing: REGIMEFLEX_TEST_TOKEN (for needs_key)" in out


def test_telegram_channel_without_its_token_is_named(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TELEGRAM_CHAT_ID", "-1001234567890")
    (project / "run.yaml").write_text("universe: [SPY]\nnotify:\n  channels:\n    phone: {plugin: telegram}\n")
    code, out = doctor(capsys, project)
    assert code == 1
    assert "missing: TELEGRAM_BOT_TOKEN (for telegram)" in out
    assert "-1001234567890" not in out


@pytest.mark.parametrize(
    ("today", "status", "words"),
    [
        ("2026-12-01", "OK", "1994-01-01..2027-12-31 (395 days ahead)"),
        ("2027-10-15", "WARN", "it ends in 77 days"),
        ("2028-02-01", "WARN", "which ended 32 days ago"),
    ],
)
def test_doctor_warns_from_90_days_before_the_fomc_table_ends(project: Path, today, status, words) -> None:
    from datetime import date

    from regimeflex.cli.doctor import run_checks

    check = next(c for c in run_checks(project, today=date.fromisoformat(today)) if c.name == "calendar")
    assert check.status == status and words in check.detail
    if status == "WARN":
        assert "calendar.fomc.dates" in check.fix


def test_doctor_fails_when_a_universe_symbol_cannot_be_served(project: Path, tmp_path: Path, capsys) -> None:
    import shutil

    folder = tmp_path / "csvdata"
    folder.mkdir()
    shutil.copy(Path(__file__).resolve().parent / "data" / "SPY-2019-lumibot.csv", folder / "SPY.csv")
    (project / "data.yaml").write_text(f"provider: csv\nproviders:\n  csv: {{path: {folder}}}\n")
    (project / "run.yaml").write_text("universe: [SPY, GLD]\nbenchmark: SPY\n")
    code, out = doctor(capsys, project)
    assert code == 1
    assert "FAIL symbols" in out and "run.yaml: universe: GLD cannot be served by 'csv'" in out


def test_doctor_on_the_demo_says_every_symbol_is_served(project: Path, capsys) -> None:
    code, out = doctor(capsys, project)
    assert code == 0 and "OK   symbols            6 symbols served: 6 generated" in out


def test_doctor_broker_check_never_rewrites_the_paper_book_a_run_is_writing(project: Path, capsys, monkeypatch) -> None:
    """doctor reads the paper account while a daily run places an order: the run's order survives."""
    from datetime import date

    from regimeflex.builtins import paper
    from regimeflex.execution.session import make_context
    from regimeflex.execution.simulator import PaperBook
    from regimeflex.types import Order

    state_dir = project.parent / "state"
    run_context = make_context(
        mode="paper", session=date(2024, 3, 13), broker_settings={}, state_dir=state_dir,
        journal_path=None, kill_switch=None,
    )  # fmt: skip
    real_load = PaperBook.load.__func__  # type: ignore[attr-defined]

    def load_then_a_run_writes(cls, context):  # doctor has read the book; now a run places an order
        book = real_load(cls, context)
        monkeypatch.setattr(PaperBook, "load", classmethod(real_load))
        paper.execute_orders(
            [Order("SPY", "buy", 1, "run-order-1", reference_price=100.0, session=date(2024, 3, 13))], run_context
        )
        return book

    monkeypatch.setattr(PaperBook, "load", classmethod(load_then_a_run_writes))
    code, out = doctor(capsys, project)
    assert re.search(r"OK +broker ", out), out
    book = PaperBook.load(run_context)
    assert "run-order-1" in book.orders
