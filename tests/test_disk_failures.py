"""Disk and permission failures (ENOSPC, EROFS, EPERM) on the ledger, report, cache and state folders.

Tests run as root, so a chmod'ed folder does not stop a write; the failures are injected at the
write points instead: ``os.write`` (the ledger's appends, partial first so a half line would be
left behind), ``os.replace`` (every atomic write: cache, report, state) and ``os.open`` (doctor's
probe). Each failure must end in one line naming the path, the cause and the fix, exit 1, an
ERROR notification, and a ledger that still verifies, with no half line.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from regimeflex.errors import StorageError
from regimeflex.ledger.store import open_writer, verify_file

SESSION, NEXT = "2024-03-13", "2024-03-14"
CAUSES = {errno.ENOSPC: "ENOSPC", errno.EROFS: "EROFS", errno.EPERM: "EPERM"}
FOLDERS = {  # role → (folder under the project root, run.yaml key the fix names)
    "ledger": ("logs/audit", "paths.ledger"),
    "reports": ("reports", "paths.reports_dir"),
    "cache": ("data/cache", "paths.cache_dir"),
    "state": ("state", "paths.state_dir"),
}


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def fail_writes(monkeypatch: pytest.MonkeyPatch, under: Path, code: int, *, when: bytes = b"") -> None:
    """Every write into ``under`` fails with ``code``: ``os.write`` first writes half the bytes
    (a disk filling up mid-write), ``os.replace`` onto a file there fails outright.
    ``when``: only writes whose bytes contain it fail."""
    real_write, real_replace = os.write, os.replace
    prefix = str(under)

    def write(fd: int, data: bytes | memoryview) -> int:
        raw = bytes(data)
        if _fd_path(fd).startswith(prefix) and when in raw:
            if len(raw) > 1:
                real_write(fd, raw[: len(raw) // 2])
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str], **kw: object) -> None:
        if str(dst).startswith(prefix):
            raise OSError(code, os.strerror(code), str(src))
        real_replace(src, dst, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "replace", replace)


def ledger_entries(root: Path) -> list[dict]:
    ledger = root / "logs/audit/ledger.jsonl"
    assert verify_file(ledger).ok, verify_file(ledger).message(ledger)
    raw = ledger.read_bytes()
    assert raw.endswith(b"\n")  # no half line at the end
    return [json.loads(line) for line in raw.splitlines()]


def add_webhook(project: Path, url: str) -> None:
    run_yaml = project / "run.yaml"
    run_yaml.write_text(
        run_yaml.read_text()
        + f"    ops:\n      plugin: webhook\n      min_level: ERROR\n      settings:\n        url: {url}\n"
    )


@pytest.mark.parametrize("code", list(CAUSES), ids=list(CAUSES.values()))
@pytest.mark.parametrize("role", list(FOLDERS))
def test_folder_failure_is_one_line_naming_path_cause_and_fix_exit_1_and_the_ledger_verifies(
    run_cli, project: Path, monkeypatch: pytest.MonkeyPatch, role: str, code: int
) -> None:
    root = project.parent
    folder, key = FOLDERS[role]
    # The ledger fails when the orders are recorded (run_start is on disk); the others at their first write.
    fail_writes(monkeypatch, root / folder, code, when=b'"kind":"intent"' if role == "ledger" else b"")
    status, out, err = run_cli("--config", project, "run", "--as-of", SESSION, "--json")
    assert status == 1, (out, err)
    assert "internal error" not in out + err and "Traceback" not in out + err
    summary = json.loads(out)
    assert summary["status"] == "failed"
    line = next(m for m in summary["messages"] if "cannot write" in m)
    assert "\n" not in line
    assert str(root / folder) in line  # the path
    assert f"({CAUSES[code]}" in line  # the cause
    assert f"set {key} in run.yaml" in line  # the fix
    assert line in err  # logged as an ERROR too
    monkeypatch.undo()
    entries = ledger_entries(root)
    if role != "ledger":  # the run is closed in the ledger with the reason
        run_end = [e for e in entries if e["kind"] == "run_end"][-1]  # then notify and the closing checkpoint
        assert run_end["data"]["status"] == "failed" and run_end["height"] == entries[-1]["height"]
        assert "cannot write" in run_end["data"]["error"]
        assert entries[-1]["kind"] == "checkpoint"


def test_report_folder_full_after_fills_still_records_run_end_and_alerts_every_channel(
    run_cli, project: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    root = project.parent
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    add_webhook(project, httpserver.url_for("/hook"))
    assert run_cli("--config", project, "run", "--as-of", SESSION)[0] == 0
    fail_writes(monkeypatch, root / "reports", errno.ENOSPC)
    status, out, err = run_cli("--config", project, "run", "--as-of", NEXT)
    monkeypatch.undo()
    assert status == 1
    assert "internal error" not in out + err
    assert f"report folder {root / 'reports/daily'}: cannot write: no space left on that filesystem (ENOSPC" in out
    assert "[ERROR] RegimeFlex 2024-03-14: failed" in err  # the console channel
    alerts = [json.loads(req.get_data()) for req, _ in httpserver.log]
    assert [(a["level"], a["title"]) for a in alerts] == [("ERROR", "RegimeFlex 2024-03-14: failed")]
    assert "cannot write" in alerts[0]["body"]
    entries = ledger_entries(root)
    fills = [e for e in entries if e["kind"] == "fill" and e["height"] == entries[-1]["height"]]
    run_end = [e for e in entries if e["kind"] == "run_end"][-1]
    assert fills and run_end["data"]["session"] == NEXT and run_end["data"]["status"] == "failed"
    assert run_end["seq"] > max(f["seq"] for f in fills)
    assert not list((root / "reports/daily").glob(".*.tmp"))  # the temp file is cleaned up


def test_ledger_full_mid_run_keeps_whole_lines_and_a_rerun_after_freeing_space_completes(
    run_cli, project: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    root = project.parent
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    add_webhook(project, httpserver.url_for("/hook"))
    assert run_cli("--config", project, "run", "--as-of", SESSION)[0] == 0
    before = ledger_entries(root)
    fail_writes(monkeypatch, root / "logs/audit", errno.ENOSPC, when=b'"kind":"fill"')
    status, out, err = run_cli("--config", project, "run", "--as-of", NEXT)
    monkeypatch.undo()
    # printed once (the run's ERROR log line on stderr), not again in the summary (issue #14)
    assert status == 1 and (out + err).count(f"ledger {root / 'logs/audit/ledger.jsonl'}: cannot write") == 1
    assert [json.loads(r.get_data())["level"] for r, _ in httpserver.log] == ["ERROR"]  # notifiers need no disk
    after = ledger_entries(root)
    assert len(after) > len(before) and not any(
        e["kind"] == "fill" and e["height"] > before[-1]["height"] for e in after
    )
    status, out, _ = run_cli("--config", project, "run", "--as-of", NEXT)
    assert status == 0, out
    assert any(e["kind"] == "fill" and e["height"] > before[-1]["height"] for e in ledger_entries(root))


def test_failed_ledger_commit_is_cut_back_and_the_chain_continues_from_the_last_whole_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.jsonl"
    with open_writer(path) as writer:
        writer.record("run_start", {"session": SESSION})
        size = path.stat().st_size
        fail_writes(monkeypatch, tmp_path, errno.ENOSPC)
        writer.append("intent", {"symbol": "SPY", "qty": 37})
        with pytest.raises(StorageError) as err:
            writer.commit()
        monkeypatch.undo()
        assert path.stat().st_size == size  # the half-written bytes are gone
        assert str(err.value).startswith(f"ledger {path}: cannot write: no space left on that filesystem (ENOSPC")
        writer.record("intent", {"symbol": "SPY", "qty": 37})
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["kind"] for e in entries] == ["run_start", "intent"]
    assert verify_file(path).ok and entries[1]["seq"] == 1


def doctor_checks(run_cli, project: Path) -> tuple[int, dict[str, dict]]:
    code, out, _ = run_cli("--config", project, "doctor", "--json")
    return code, {c["name"]: c for c in json.loads(out)["checks"]}


def test_doctor_checks_the_filesystem_of_each_configured_folder_not_the_project_root(
    run_cli, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    elsewhere = tmp_path / "small-disk" / "cache"
    (tmp_path / "small-disk").mkdir()
    run_yaml = project / "run.yaml"
    run_yaml.write_text(run_yaml.read_text().replace("cache_dir: data/cache", f"cache_dir: {elsewhere}"))
    real = shutil.disk_usage

    def usage(path: str | os.PathLike[str]):  # the cache's filesystem has 12 MB left, the rest plenty
        total, used, free = real(path)
        return type(real(path))(total, used, 12_000_000 if str(path).startswith(str(tmp_path / "small-disk")) else free)

    monkeypatch.setattr(shutil, "disk_usage", usage)
    code, checks = doctor_checks(run_cli, project)
    assert code == 1
    cache = checks["disk: cache"]
    assert cache["status"] == "FAIL" and str(elsewhere) in cache["detail"] and "12 MB free" in cache["detail"]
    assert "set paths.cache_dir in run.yaml" in cache["fix"]
    assert {checks[f"disk: {r}"]["status"] for r in ("ledger", "reports", "state")} == {"OK"}


@pytest.mark.parametrize("code", list(CAUSES), ids=list(CAUSES.values()))
def test_doctor_fails_a_folder_that_cannot_be_written(
    run_cli, project: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    reports = project.parent / "reports"
    reports.mkdir()
    real_open = os.open

    def refusing_open(path: str | os.PathLike[str], flags: int, *args: object, **kw: object) -> int:
        if str(path).startswith(str(reports)) and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing_open)
    status, checks = doctor_checks(run_cli, project)
    assert status == 1
    check = checks["disk: reports"]
    assert check["status"] == "FAIL" and check["detail"].startswith(f"{reports}: cannot write: ")
    assert f"({CAUSES[code]}" in check["detail"] and "set paths.reports_dir in run.yaml" in check["fix"]
    assert checks["disk: state"]["status"] == "OK"


def test_kill_switch_on_a_read_only_config_folder_names_the_flag_and_the_fix(
    run_cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_writes(monkeypatch, project, errno.EROFS)
    code, out, err = run_cli("--config", project, "kill", "on", "--reason", "test")
    assert code == 1
    assert err.startswith(f"error: kill switch flag {project / 'kill_switch.flag'}: cannot write: ")
    assert "(EROFS)" in err and "remount it read-write" in err and "internal error" not in err


def test_a_disk_failure_no_command_names_is_still_one_line_not_an_internal_error(
    run_cli, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "bt"
    fail_writes(monkeypatch, out_dir, errno.ENOSPC)
    code, out, err = run_cli("--config", project, "backtest", "--start", "2024-01-02", "--out", out_dir)
    assert code == 1
    assert "internal error" not in err and "Traceback" not in err
    assert err.startswith(f"error: file {out_dir}/") and "cannot write: no space left on that filesystem (ENOSPC" in err
    assert len(err.strip().splitlines()) == 1


def test_kill_switch_still_exits_3_when_the_ledger_disk_is_full(
    run_cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "kill_switch.flag").write_text("stop")
    fail_writes(monkeypatch, project.parent / "logs/audit", errno.ENOSPC)
    code, out, err = run_cli("--config", project, "run", "--as-of", SESSION)
    assert code == 3
    assert "kill not recorded in the ledger: ledger" in out + err and "(ENOSPC" in out + err
    assert "internal error" not in out + err
