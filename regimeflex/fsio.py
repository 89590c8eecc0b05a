"""Filesystem and configuration I/O: the one place that writes files atomically, locks, and reads YAML.

Owns the three things every layer that touches the disk needs and must get
right the same way: an atomic write (temp file in the same folder, fsync,
rename, fsync of the folder, so a crash leaves the old file or the new one,
never half of either), one exclusive inter-process lock (``flock`` on a lock
file holding the holder's pid, with an optional wait), and a strict YAML
reader (UTF-8 only, a duplicated key is an error instead of the last one
silently winning, every error names the file, line and column). Imports only
:mod:`regimeflex.errors`, so any layer may use it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from regimeflex.errors import ConfigError, RegimeFlexError, StorageError

__all__ = [
    "DISK_ERRNOS",
    "LockHeld",
    "StorageError",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "exclusive_lock",
    "FolderProbe",
    "probe_folder",
    "fsync_dir",
    "load_yaml",
    "read_yaml_mapping",
    "storage_error",
    "writing",
]

#: mkstemp creates 0600 files; written files get the usual permissions (0644 under umask 022).
_DEFAULT_MODE = 0o666


def _read_umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


#: Read once, at import: os.umask can only be read by setting it, and doing that per write would
#: briefly give every other thread (the backtest writes its files concurrently) a zero umask.
_UMASK = _read_umask()


def _umasked(mode: int) -> int:
    return mode & ~_UMASK


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (best effort where the filesystem cannot)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = _DEFAULT_MODE) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    The bytes go to a temp file beside ``path`` (same filesystem, so the
    rename is atomic), are fsynced, renamed over ``path`` and the folder is
    fsynced. On any failure — a full disk included — the temp file is removed
    and ``path`` keeps its old content; the ``OSError`` propagates unchanged
    so the caller can name the path and the cause.
    """
    with atomic_path(path, mode=mode) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_path(path: Path, *, mode: int | None = _DEFAULT_MODE) -> Iterator[Path]:
    """A temp file name beside ``path`` for writers that need a name (pyarrow, csv modules).

    Whatever is written there replaces ``path`` atomically and durably when
    the block ends without an error; on an error the temp file is removed and
    ``path`` is untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, _umasked(mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str, *, mode: int | None = _DEFAULT_MODE) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


class LockHeld(RegimeFlexError):
    """Another process holds the lock; ``holder`` is what it wrote in the lock file (its pid)."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder}")
        self.path = path
        self.holder = holder


@contextlib.contextmanager
def exclusive_lock(path: Path, *, timeout: float = 0.0, poll: float = 0.05) -> Iterator[IO[str]]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block.

    Waits up to ``timeout`` seconds (0: do not wait) and raises
    :class:`LockHeld` naming the holder's pid when it cannot get the lock.
    The holder's pid is written into the lock file for the next one to read.
    Yields the open lock file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held for the duration of the context
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise LockHeld(path, holder) from None
                time.sleep(poll)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield handle
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


#: errnos that mean "this folder cannot be written" (the disk or its permissions, not a bug)
DISK_ERRNOS: frozenset[int] = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EPERM, errno.EACCES, errno.EIO, errno.EFBIG}
)

#: what each folder is, and the run.yaml key that moves it
_ROLES: dict[str, tuple[str, str]] = {
    "ledger": ("ledger", "paths.ledger"),
    "report": ("report folder", "paths.reports_dir"),
    "cache": ("data cache", "paths.cache_dir"),
    "state": ("state folder", "paths.state_dir"),
    "kill switch": ("kill switch flag", "paths.kill_switch"),
}


def _free_space(path: Path) -> str:
    import shutil

    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return "free space unknown"
    return f"{free / 1e6:,.1f} MB free"


def _cause_and_fix(exc: OSError, path: Path, key: str | None) -> tuple[str, str]:
    code = exc.errno or 0
    name = errno.errorcode.get(code, "OSError")
    elsewhere = f"or set {key} in run.yaml to a folder that is" if key else "or use a folder that is"
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (
            f"no space left on that filesystem ({name}, {_free_space(path)})",
            f"free space there {elsewhere} on a disk with room, then run again",
        )
    if code == errno.EROFS:
        return f"the filesystem is read-only ({name})", f"remount it read-write {elsewhere} writable, then run again"
    if code in (errno.EPERM, errno.EACCES):
        user = _user()
        return (
            f"permission denied ({name}) for user {user}",
            f"give {user} write access to it (chown/chmod) {elsewhere} writable, then run again",
        )
    if code == errno.EIO:
        return (
            f"input/output error ({name})",
            f"the disk may be failing: check it (dmesg, fsck) {elsewhere} on a healthy disk",
        )
    return f"{exc.strerror or exc} ({name})", f"check the folder {elsewhere} writable"


def storage_error(exc: OSError, path: Path, role: str) -> StorageError:
    """One line for a failed write: what and where, the cause (errno name), and the fix."""
    what, key = _ROLES.get(role, (role, None))
    cause, fix = _cause_and_fix(exc, Path(path), key)
    return StorageError(f"{what} {path}: cannot write: {cause}; {fix}", path=Path(path), errno=exc.errno or None)


@dataclass(frozen=True)
class FolderProbe:
    """What :func:`probe_folder` found: the folder, the existing folder actually probed (the
    nearest ancestor when the folder is not created yet), free bytes on its filesystem, and
    why it cannot be written (None when a test file was written and removed)."""

    folder: Path
    probed: Path
    free_bytes: int | None
    problem: str | None
    fix: str = ""


def probe_folder(folder: Path, key: str | None = None) -> FolderProbe:
    """Free space and writability of the filesystem ``folder`` is (or will be) on: writes and
    removes a small file in it, or in its nearest existing ancestor when it does not exist yet."""
    import shutil

    folder = Path(folder)
    probed = folder
    while not probed.exists() and probed != probed.parent:
        probed = probed.parent
    free: int | None = None
    try:
        free = shutil.disk_usage(probed).free
        if os.statvfs(probed).f_flag & os.ST_RDONLY:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(probed))
        fd, tmp = tempfile.mkstemp(dir=probed, prefix=".regimeflex-probe-", suffix=".tmp")
        try:
            os.write(fd, b"probe")
            os.fsync(fd)
        finally:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except OSError as exc:
        cause, fix = _cause_and_fix(exc, probed, key)
        return FolderProbe(folder, probed, free, cause, fix)
    return FolderProbe(folder, probed, free, None)


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, OSError):
        return str(os.geteuid())


@contextlib.contextmanager
def writing(path: Path, role: str) -> Iterator[None]:
    """Turn a disk or permission failure (:data:`DISK_ERRNOS`) inside the block into a
    :class:`StorageError` naming ``path``, the cause and the fix; other errors pass unchanged.

    ``role`` is ``ledger``, ``report``, ``cache``, ``state`` or ``kill switch`` (it picks
    the run.yaml key the fix names).
    """
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_ERRNOS:
            raise
        raise storage_error(exc, path, role) from exc


def _strict_loader() -> type:
    import yaml

    # libyaml's parser when PyYAML was built with it (a 5,000-symbol universe parses in milliseconds, not
    # a second); the constructors, and so the duplicate-key check below, are the same Python code either way
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc,valid-type]  # PyYAML ships no types
        """SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        seen: dict[Any, Any] = {}
        for key_node, _value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                first = seen[key]
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given at line {first.line + 1}); "
                    f"merge the two blocks into one — the second would silently replace the first",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        mapping: dict[Any, Any] = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
        return mapping

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


def load_yaml(path: Path, *, label: str | None = None) -> Any:
    """Parse one YAML file strictly; every error is a :class:`ConfigError` naming the file and position.

    ``label`` is how the file is named in messages (default: its file name).
    Rules: UTF-8 only (a byte that is not names its offset), duplicate keys
    are refused, syntax errors give line and column.
    """
    import yaml

    path = Path(path)
    name = label or path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line}); "
            f"save the file as UTF-8"
        ) from None
    try:
        return yaml.load(text, Loader=_strict_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ConfigError(f"{name}: invalid YAML at {where}{problem}") from None


def read_yaml_mapping(path: Path, *, label: str | None = None) -> Mapping[str, Any]:
    """:func:`load_yaml` for files whose top level must be a mapping (an empty file is ``{}``)."""
    data = load_yaml(path, label=label)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{label or Path(path).name}: the top level must be a mapping of keys, got {type(data).__name__}"
        )
    return data
