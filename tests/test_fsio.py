"""The one filesystem module: atomic writes, the lock, strict YAML."""

from __future__ import annotations

import errno
import os

import pytest

from regimeflex import fsio
from regimeflex.errors import ConfigError


def test_atomic_write_replaces_the_file_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    fsio.atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_atomic_write_keeps_the_old_content_and_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    target.write_text("old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as raised:
        fsio.atomic_write_text(target, "new")
    assert raised.value.errno == errno.ENOSPC
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_atomic_path_publishes_only_what_a_writer_finished(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), fsio.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer crashed")
    assert not target.exists()
    with fsio.atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"


def test_a_held_lock_names_its_holder(tmp_path):
    lock = tmp_path / "x.lock"
    with fsio.exclusive_lock(lock):
        with pytest.raises(fsio.LockHeld) as held, fsio.exclusive_lock(lock, timeout=0):
            pass
    assert held.value.holder == f"pid {os.getpid()}"


def test_the_lock_is_free_again_after_the_block(tmp_path):
    lock = tmp_path / "x.lock"
    with fsio.exclusive_lock(lock):
        pass
    with fsio.exclusive_lock(lock, timeout=0) as handle:
        assert handle.closed is False


def test_a_duplicated_yaml_key_is_an_error_naming_both_lines(tmp_path):
    path = tmp_path / "risk.yaml"
    path.write_text("sizer:\n  plugin: equal_weight\nmax_gross: 1.0\nsizer:\n  plugin: atr_risk\n")
    with pytest.raises(ConfigError) as raised:
        fsio.load_yaml(path)
    message = str(raised.value)
    assert message.startswith("risk.yaml: invalid YAML at line 4, column 1: duplicate key 'sizer'")
    assert "first given at line 1" in message


def test_a_duplicated_nested_key_is_an_error_too(tmp_path):
    path = tmp_path / "data.yaml"
    path.write_text("providers:\n  csv:\n    path: a\n    path: b\n")
    with pytest.raises(ConfigError, match="line 4, column 5: duplicate key 'path'"):
        fsio.load_yaml(path)


def test_a_yaml_file_that_is_not_utf8_is_a_config_error_naming_the_byte(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_bytes(b"universe: [SPY]\nbenchmark: caf\xe9\n")
    with pytest.raises(ConfigError) as raised:
        fsio.load_yaml(path)
    assert str(raised.value) == ("run.yaml: not UTF-8 text (byte 0xe9 at offset 30, line 2); save the file as UTF-8")


def test_an_empty_yaml_file_is_an_empty_mapping(tmp_path):
    path = tmp_path / "broker.yaml"
    path.write_text("# nothing yet\n")
    assert fsio.read_yaml_mapping(path) == {}


def test_a_yaml_list_at_the_top_level_is_refused(tmp_path):
    path = tmp_path / "broker.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="broker.yaml: the top level must be a mapping of keys, got list"):
        fsio.read_yaml_mapping(path)
