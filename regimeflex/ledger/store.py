"""The append-only, hash-chained ledger file: writing, locking, torn tails, verification.

Each line is one entry. Its hashed *body* is the canonical JSON (sorted keys,
compact separators, ASCII only) of ``data, height, kind, prev, seq, ts``; the
line is that body with ``,"id":"<sha256 of body>"`` spliced in before the
closing brace. So ``id`` is the SHA-256 of the canonical JSON of the other
fields, anyone can recompute it with ``json.dumps(..., sort_keys=True,
separators=(",", ":"))``, and :func:`verify_file` can check a line without
parsing the JSON (the hashed bytes are a prefix of the line).

One process writes at a time (an exclusive ``flock`` on ``<ledger>.lock``,
released by the kernel if the writer dies). Entries are buffered and made
durable by :meth:`LedgerWriter.commit` (one write + flush + fsync per batch).
A crash mid-write leaves a torn last line: :func:`verify_file` reports it
with the remedy, and the next writer moves it, byte for byte, to
``<ledger>.torn`` and records that in the ledger (never silently dropped).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regimeflex.errors import LedgerBroken, LedgerError, StorageError
from regimeflex.fsio import LockHeld, exclusive_lock, writing
from regimeflex.ledger import faults
from regimeflex.ledger.anchor import (
    Verified,
    checkpoint_data,
    checkpoint_problem,
    ledger_key,
    load_verified,
    save_verified,
)
from regimeflex.log import get_logger
from regimeflex.secrets import redact_obj, secret_values

log = get_logger("ledger")

#: ``prev`` of the first entry.
GENESIS = "0" * 64

#: The kinds RegimeFlex writes. Others are accepted (plugins and later versions may add some).
KINDS: tuple[str, ...] = (
    "run_start",
    "intent",
    "order_sent",
    "order_ack",
    "order_update",
    "fill",
    "cancel",
    "breaker",
    "kill",
    "reconcile",
    "recovery",
    "torn_tail",
    "plan_commit",
    "plan_abandoned",
    "run_end",
    "checkpoint",
)

_ID_SUFFIX_LEN = len(',"id":"') + 64 + len('"}')
_TAIL = re.compile(rb'"prev":"([0-9a-f]{64})","seq":(\d+),"ts":"([^"\\]*)"\}$')


def canonical_json(obj: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, ASCII, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def entry_id(body: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an entry without its ``id``."""
    return hashlib.sha256(canonical_json(body).encode("ascii")).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _encode(height: int, seq: int, ts: str, kind: str, data: Mapping[str, Any], prev: str) -> tuple[bytes, str]:
    try:
        body = canonical_json({"data": data, "height": height, "kind": kind, "prev": prev, "seq": seq, "ts": ts})
    except (TypeError, ValueError) as exc:
        raise LedgerError(
            f"ledger entry {kind!r}: data is not plain JSON ({exc}); pass str/int/float/bool/None, lists and dicts only"
        ) from None
    digest = hashlib.sha256(body.encode("ascii")).hexdigest()
    line = body[:-1] + ',"id":"' + digest + '"}\n'
    return line.encode("ascii"), digest


@dataclass(frozen=True)
class Tail:
    """What a writer needs to continue the chain."""

    height: int = 0
    seq: int = -1
    id: str = GENESIS
    lines: int = 0
    size: int = 0


@dataclass(frozen=True)
class TornTail:
    """An unterminated last line (a crash interrupted its write)."""

    line_no: int
    offset: int
    raw: bytes


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_file`: ``ok``, entries checked, and the first problem.

    ``hashed`` counts the lines hashed by this call (an incremental check hashes only what was
    appended since the verified prefix, plus the prefix's last line); ``prefix`` is the verified
    prefix after this call (up to the last complete good line); ``checkpoints``/``signed``/
    ``unsigned`` count the checkpoint entries seen and how their signatures were judged.
    """

    ok: bool
    entries: int
    bad_line: int | None = None
    problem: str = ""
    torn: bool = False
    hashed: int = 0
    prefix: Verified | None = None
    checkpoints: int = 0
    signed: int = 0
    unsigned: int = 0
    keyed: bool = False

    def message(self, path: Path) -> str:
        if self.ok:
            return f"{path}: OK, {self.entries} entries, hash chain intact"
        return f"{path}: line {self.bad_line}: {self.problem}"


def torn_remedy(path: Path) -> str:
    return (
        f"the last write was interrupted (a crash); the next run moves the torn bytes to "
        f"{path.name}.torn and records it, or run `regimeflex ledger repair` now"
    )


def _parse_entry(raw: bytes, line_no: int, path: Path) -> dict[str, Any]:
    try:
        entry = json.loads(raw)
    except ValueError:
        raise LedgerError(
            f"{path}: line {line_no}: not valid JSON; run `regimeflex ledger verify` for details"
        ) from None
    if not isinstance(entry, dict):
        raise LedgerError(f"{path}: line {line_no}: not a JSON object; run `regimeflex ledger verify`")
    return entry


def read_entries(path: Path) -> Iterator[dict[str, Any]]:
    """Parsed entries in file order (a torn last line is skipped here; verify reports it)."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                return
            yield _parse_entry(raw, line_no, path)


def find_torn_tail(path: Path) -> TornTail | None:
    """The unterminated last line of ``path``, if any."""
    if not path.exists():
        return None
    size = path.stat().st_size
    if size == 0:
        return None
    with path.open("rb") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return None
        pos, raw = size, b""
        while pos > 0 and b"\n" not in raw:
            start = max(0, pos - 65536)
            fh.seek(start)
            raw = fh.read(pos - start) + raw
            pos = start
        raw = raw[raw.rfind(b"\n") + 1 :]
        offset = size - len(raw)
        fh.seek(0)
        newlines = 0
        remaining = offset
        while remaining > 0:
            buf = fh.read(min(1 << 20, remaining))
            newlines += buf.count(b"\n")
            remaining -= len(buf)
    return TornTail(line_no=newlines + 1, offset=offset, raw=raw)


def _last_complete_line(fh: Any, size: int) -> tuple[bytes | None, int]:
    """The last newline-terminated line of an open file and the file length up to it."""
    if size == 0:
        return None, 0
    block = 65536
    pos = size
    chunk = b""
    while pos > 0:
        start = max(0, pos - block)
        fh.seek(start)
        chunk = fh.read(pos - start) + chunk
        pos = start
        stripped = chunk[:-1] if chunk.endswith(b"\n") else chunk
        nl = stripped.rfind(b"\n")
        if nl >= 0 or pos == 0:
            return stripped[nl + 1 :] + b"\n", size
    return None, size


#: The fixed-format end of every line: height, kind, prev, seq, ts, id (matched in bulk per block).
_LINE_TAIL = re.compile(
    rb'"height":(\d+),"kind":"(?:[^"\\\n]|\\.)*","prev":"([0-9a-f]{64})","seq":(\d+),'
    rb'"ts":"[^"\\\n]*","id":"([0-9a-f]{64})"\}\n'
)  # the general (slow) form, used to diagnose a failing block line by line
_BLOCK = 1 << 18  # small blocks stay in cache: about twice as fast as 8 MB ones
#: Text that redaction might touch: secret-looking keys, URL credentials, auth headers.
_SECRETISH = re.compile(
    rb"(?i)(api[_-]?key|access[_-]?key|secret|secret[_-]?key|private[_-]?key|signing[_-]?key|token|passw(or)?d|"
    rb'passphrase|key[_-]?id|credentials?)"\s*:|/bot[0-9]+:|[?&](apikey|api_key|token|key|secret|'
    rb"password)=|authorization"
)

#: One of these is in (the lower-cased form of) any text :data:`_SECRETISH` matches.
_SECRETISH_NEEDLES = (b"key", b"secret", b"token", b"pass", b"credential", b"/bot", b"authorization")

_FROM_ENV: Any = object()
_CHECKPOINT = b'"kind":"checkpoint","prev":"'


def verify_file(path: Path, *, since: Verified | None = None, key: bytes | None = _FROM_ENV) -> VerifyResult:
    """Check every line: hash, chain link, sequence, height order, JSON shape, checkpoints.

    Stops at the first bad line and says what is wrong with it. Works on blocks
    of lines: one regex pass picks each line's height/prev/seq/id, one
    comprehension hashes the lines, and whole lists are compared at C speed;
    only a block that fails is walked line by line to name the first bad line.

    ``since`` (a verified prefix, see :mod:`regimeflex.ledger.anchor`) starts the check at the
    end of that prefix, after making sure the prefix's last line is still the one verified: the
    cost is then proportional to what was appended. ``key`` (default: ``REGIMEFLEX_LEDGER_KEY``)
    checks each checkpoint's HMAC signature; without a key only their links are checked.
    """
    if key is _FROM_ENV:
        key = ledger_key()
    start = since or Verified()
    keyed = key is not None
    if not path.exists():
        if start.offset:
            return VerifyResult(
                False,
                0,
                1,
                f"the ledger is gone but {start.entries} entries were verified before (a run without it would "
                f"not know its open orders; restore it from a backup, or delete {path.name}.verified to start a "
                "new ledger on purpose)",
                keyed=keyed,
            )
        return VerifyResult(ok=True, entries=0, prefix=Verified(crc=0), keyed=keyed)
    prev = start.last_id.encode("ascii")
    seq, height, offset, signed_at = start.entries, start.height, start.offset, start.signed_checkpoint
    crc = start.crc if start.offset else 0
    hashed = checkpoints = signed = unsigned = 0

    def whole_lines_verified() -> VerifyResult:
        return VerifyResult(
            ok=True,
            entries=seq,
            hashed=hashed,
            prefix=Verified(offset, seq, prev.decode("ascii"), height, signed_at, crc),
            checkpoints=checkpoints,
            signed=signed,
            unsigned=unsigned,
            keyed=keyed,
        )

    with path.open("rb") as fh:
        if start.offset:
            hashed = 1
            problem = _boundary_problem(fh, path, start) or _prefix_crc_problem(fh, path, start)
            if problem:
                return VerifyResult(False, start.entries, start.entries, problem, hashed=hashed, keyed=keyed)
            fh.seek(start.offset)
        while True:
            lines = fh.readlines(_BLOCK)  # whole lines, about _BLOCK bytes
            if not lines:
                break
            torn = not lines[-1].endswith(b"\n")  # only the file's last line can lack it
            if torn:
                lines.pop()
            first_seq = seq
            ok, bad, (prev, seq, height) = _check_lines(lines, path, prev, seq, height)
            if bad is not None:
                return replace(bad, hashed=hashed + (bad.entries - first_seq) + 1, keyed=keyed)
            hashed += len(lines)
            if lines and _CHECKPOINT in b"".join(lines):
                for i, line in enumerate(lines):
                    if _CHECKPOINT not in line:
                        continue
                    entry = json.loads(line)
                    if entry.get("kind") != "checkpoint":
                        continue
                    problem = checkpoint_problem(entry, key)
                    checkpoints += 1
                    if problem is not None and keyed and signed_at is None and entry["data"].get("sig") is None:
                        unsigned += 1  # written before the key was set: tolerated until the first signed one
                    elif problem is not None:
                        return VerifyResult(
                            False, first_seq + i, first_seq + i + 1, problem, hashed=hashed, keyed=keyed
                        )
                    elif keyed:
                        signed += 1
                        signed_at = first_seq + i
            offset += sum(map(len, lines))
            if crc is not None:
                crc = zlib.crc32(b"".join(lines), crc)
            if torn:
                # everything before the torn line verified: the prefix is as good as a clean end's
                return replace(
                    whole_lines_verified(),
                    ok=False,
                    bad_line=seq + 1,
                    problem="torn last line (no newline): " + torn_remedy(path),
                    torn=True,
                )
    return whole_lines_verified()


def verify_since_checkpoint(path: Path) -> VerifyResult:
    """:func:`verify_file` from the stored verified prefix (``<ledger>.verified``) when there is a
    usable one, else from the first line; what every command that acts on the ledger calls."""
    since, _why = load_verified(path)
    return verify_file(path, since=since)


def _prefix_crc_problem(fh: Any, path: Path, start: Verified) -> str | None:
    """Is the verified prefix byte for byte what was verified? (CRC-32 over it: reading, not hashing.)"""
    if start.crc is None:
        return None
    fh.seek(0)
    crc, left = 0, start.offset
    while left > 0:
        chunk = fh.read(min(left, 1 << 20))
        if not chunk:
            break
        crc = zlib.crc32(chunk, crc)
        left -= len(chunk)
    if crc == start.crc:
        return None
    return (
        f"the verified part of the ledger (its first {start.entries} entries) changed since it was verified "
        "(its CRC-32 differs): a line was edited, deleted, swapped or inserted — run `regimeflex ledger verify` "
        "to find it, and restore the file from a backup"
    )


def _boundary_problem(fh: Any, path: Path, start: Verified) -> str | None:
    """Is the verified prefix's last line still there, unchanged, ending at the verified offset?"""
    remedy = (
        f"(if you replaced the ledger on purpose, delete {path.name}.verified; otherwise restore the ledger "
        "from a backup and compare its head with the last published head: `regimeflex ledger verify --head HASH`)"
    )
    size = os.fstat(fh.fileno()).st_size
    if size < start.offset:
        return (
            f"the ledger is shorter ({size} bytes) than its verified prefix ({start.offset} bytes, "
            f"{start.entries} entries): lines were deleted or the file was replaced {remedy}"
        )
    back = min(start.offset, 1 << 16)
    fh.seek(start.offset - back)
    chunk = fh.read(back)
    body = chunk[:-1]
    line = body[body.rfind(b"\n") + 1 :] + b"\n"
    if (
        not chunk.endswith(b"\n")
        or line[-67:-3] != start.last_id.encode("ascii")
        or hashlib.sha256(line[:-74] + b"}").hexdigest() != start.last_id
    ):
        return (
            f"the last verified entry (line {start.entries}, id {start.last_id[:12]}…) is no longer at the "
            f"verified position: the ledger was edited or rewritten after it was verified {remedy}"
        )
    return None


def _body_digest(line: bytes) -> bytes:
    # the body is the line up to ',"id":…' plus "}"; update() saves copying every line twice
    h = hashlib.sha256(line[:-74])
    h.update(b"}")
    digest: bytes = h.digest()
    return digest


def _check_lines(
    lines: list[bytes], path: Path, prev: bytes, seq: int, height: int
) -> tuple[bool, VerifyResult | None, tuple[bytes, int, int]]:
    start = 0
    while start < len(lines):
        # seq has a fixed number of digits within a run (1-9, 10-99, ...): fixed offsets
        digits = len(str(seq))
        run = lines[start : start + 10**digits - seq]
        if not _block_ok(run, prev, seq, height, digits):
            return False, _first_bad(run, path, prev, seq, height), (prev, seq, height)
        prev, seq, height = run[-1][-67:-3], seq + len(run), _height_of(run[-1])
        start += len(run)
    return True, None, (prev, seq, height)


#: Bytes from the end of a line back to the start of its seq digits: ``,"ts":"<27>","id":"<64>"}``.
_AFTER_SEQ = len(',"ts":"') + 27 + len('","id":"') + 64 + len('"}\n')
_SEQ_KEY = b'","seq":'


def _block_ok(lines: list[bytes], prev: bytes, seq: int, height: int, digits: int) -> bool:
    """Vectorised check of lines whose seq numbers all have ``digits`` digits.

    Lines the writer produced have fixed offsets from the end (27-character ts, 64-hex
    ids, ``digits``-digit seq), so every check is a list comprehension of slices and the
    comparison of whole lists. Anything unusual fails here and is diagnosed line by line.
    """
    e_seq = -_AFTER_SEQ
    s_seq = e_seq - digits
    e_prev = s_seq - len(_SEQ_KEY)
    s_prev = e_prev - 64
    first = lines[0]
    if first[e_prev:s_seq] != _SEQ_KEY or first[s_prev - 8 : s_prev] != b'"prev":"':
        return False
    ids = [line[-67:-3] for line in lines]
    # binary digests joined, against all ids decoded at once (no per-line hex formatting)
    try:
        claimed = bytes.fromhex(b"".join(ids).decode("ascii"))
    except ValueError:
        return False
    # the body is the line up to ',"id":…' plus "}"; update() saves copying every line twice
    if b"".join([_body_digest(line) for line in lines]) != claimed:
        return False
    if [line[s_prev:e_prev] for line in lines] != [prev, *ids[:-1]]:
        return False
    if b" ".join([line[s_seq:e_seq] for line in lines]) != " ".join(map(str, range(seq, seq + len(lines)))).encode():
        return False
    # the top-level height is the last "height": before prev (see _height_of); parse them in bulk
    end = s_prev - 8
    # usually "height":N,"kind":"<kind>" fits in the 48 bytes before prev: one slice per line,
    # one regex pass over the joined slices; a long kind falls back to a search per line
    raw_heights = _HEIGHTS.findall(b"\n".join([line[end - 48 : end] for line in lines]))
    if len(raw_heights) != len(lines):
        tails = b"\n".join([b'"height":' + line[line.rfind(b'"height":', 0, end) + 9 : end] for line in lines])
        raw_heights = _HEIGHTS.findall(tails)
        if len(raw_heights) != len(lines):
            return False
    heights = list(map(int, raw_heights))
    return heights[0] >= height and heights == sorted(heights)


_HEIGHTS = re.compile(rb'"height":(\d+),"kind":"[^"\\\n]*",$', re.M)  # a kind with escapes: per-line path


def _height_of(line: bytes) -> int:
    """The top-level height: the last ``"height":`` before ``"prev":`` (data comes earlier;
    a quote inside the kind string is escaped, so it cannot fake one)."""
    at = line.rfind(b'"height":', 0, line.rfind(b'"prev":"'))
    end = line.find(b",", at + 9)
    digits = line[at + 9 : end]
    return int(digits) if at >= 0 and digits.isdigit() else -1


def _first_bad(lines: list[bytes], path: Path, prev: bytes, seq: int, height: int) -> VerifyResult:
    """Walk a failing block line by line and describe its first bad line."""
    for raw in lines:
        m = _LINE_TAIL.search(raw)
        good = (
            m is not None
            and m.end() == len(raw)
            and hashlib.sha256(raw[:-74] + b"}").hexdigest().encode() == m.group(4)
            and m.group(2) == prev
            and int(m.group(3)) == seq
            and int(m.group(1)) >= height
        )
        if not good or m is None:
            return VerifyResult(False, seq, seq + 1, _diagnose(raw, path, prev, seq, height))
        prev, seq, height = m.group(4), seq + 1, int(m.group(1))
    raise AssertionError("a block failed verification but no line in it is bad")  # pragma: no cover


def _diagnose(raw: bytes, path: Path, prev: bytes, expect_seq: int, height: int) -> str:
    """Say what is wrong with a line the fast path refused (slow; runs once)."""
    if raw[-1:] != b"\n":
        return "torn last line (no newline): " + torn_remedy(path)
    cut = len(raw) - 1 - _ID_SUFFIX_LEN
    if raw[cut : cut + 7] != b',"id":"' or raw[-3:] != b'"}\n':
        return _shape_problem(raw)
    body = raw[:cut] + b"}"
    if hashlib.sha256(body).hexdigest().encode() != raw[cut + 7 : cut + 71]:
        return "content does not match its id (the line was edited after it was written)"
    m = _TAIL.search(body, max(0, len(body) - 200))
    if m is None:
        return _shape_problem(raw)
    if m.group(1) != prev:
        return "prev does not match the id of the line before (a line was deleted, inserted or moved here)"
    if int(m.group(2)) != expect_seq:
        return f"seq is {int(m.group(2))}, expected {expect_seq}"
    at = body.rfind(b'"height":', 0, m.start())
    end = body.find(b",", at + 9) if at >= 0 else -1
    digits = body[at + 9 : end] if end > 0 else b""
    if not digits.isdigit():
        return _shape_problem(raw)
    return f"height {int(digits)} is below the previous height {height}"


def _shape_problem(raw: bytes) -> str:
    try:
        entry = json.loads(raw)
    except ValueError:
        return "not valid JSON (the line was edited or corrupted)"
    if not isinstance(entry, dict):
        return "not a JSON object"
    missing = [k for k in ("height", "seq", "ts", "kind", "data", "prev", "id") if k not in entry]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    return "not in canonical form (the line was rewritten by another tool)"


class LedgerWriter:
    """The single writer of a ledger file. Use :func:`open_writer` (a context manager)."""

    def __init__(self, path: Path, *, verify: bool = False) -> None:
        self.path = path
        self._lock: Any = None
        self._verify = verify
        #: the verification done on open (``verify=True``); its prefix is advanced on close
        self.verified: VerifyResult | None = None
        self._signed_checkpoint: int | None = None
        self._crc: int | None = None  # CRC-32 of the file as verified and written by us
        self._good_size = -1  # the file's size after our last successful write
        self._fh: Any = None
        self._pending: list[bytes] = []
        self._pending_kinds: list[str] = []
        self._tail = Tail()
        self._next_seq = 0
        self._prev = GENESIS
        self._height = 0
        self.quarantined: TornTail | None = None
        self._secrets: list[bytes] | None = None
        #: (prev, next seq, height) of the last entry on disk: where a failed commit rolls back to
        self._durable: tuple[str, int, int] = (GENESIS, 0, 0)

    # ------------------------------------------------------------ lifecycle
    def open(self, *, wait: float = 0.0) -> LedgerWriter:
        """Lock (waiting up to ``wait`` seconds for a short-lived holder), repair a torn tail, load
        the chain head. A disk or permission failure is a :class:`~regimeflex.errors.StorageError`
        naming the ledger, the cause and the fix."""
        with writing(self.path, "ledger"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + ".lock")
            self._lock = exclusive_lock(lock_path, timeout=wait)
            try:
                self._lock.__enter__()
            except LockHeld as held:
                self._lock = None
                raise LedgerError(
                    f"{self.path}: another RegimeFlex run is writing this ledger ({held.holder}, lock {lock_path}); "
                    "only one run at a time may write — wait for it to finish and run again"
                ) from None
            except BaseException:
                self._lock = None
                raise
        try:
            if self._verify:
                self._verify_before_acting()
            with writing(self.path, "ledger"):
                torn = find_torn_tail(self.path)
                # unbuffered: every byte is written by os.write in commit(), so a failed write
                # leaves nothing behind in a buffer to be flushed half later
                self._fh = self.path.open("ab", buffering=0)
                if torn is not None:
                    self._quarantine(torn)
            self._load_tail()
            self._good_size = os.fstat(self._fh.fileno()).st_size
            if torn is not None:
                self.append(
                    "torn_tail",
                    {
                        "line": torn.line_no,
                        "bytes": len(torn.raw),
                        "sha256": hashlib.sha256(torn.raw).hexdigest(),
                        "moved_to": self.path.name + ".torn",
                    },
                    height=self._height,
                )
                self.commit()
        except BaseException:
            self._pending, self._pending_kinds = [], []
            self.close()
            raise
        return self

    def _verify_before_acting(self) -> None:
        """Verify from the stored verified prefix; a broken chain (other than a torn tail, which
        the writer then moves aside) releases the lock and raises :class:`LedgerBroken`."""
        since, why = load_verified(self.path)
        result = verify_file(self.path, since=since)
        if since is None and self.path.exists() and self.path.stat().st_size:
            log.info("ledger %s: verified from the first line (%s)", self.path, why)
        if not result.ok and not result.torn:
            self._release_lock()
            raise LedgerBroken(
                f"{result.message(self.path)} — the ledger does not verify, so nothing was done; "
                "run `regimeflex ledger verify` and restore the file from a backup"
            )
        self.verified = result
        self._signed_checkpoint = result.prefix.signed_checkpoint if result.prefix else None
        self._crc = result.prefix.crc if result.prefix else None

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None

    def close(self) -> None:
        try:
            if self._fh is not None:
                if self._pending:
                    self.commit()
                size = os.fstat(self._fh.fileno()).st_size
                # everything after the verified prefix was written (and fsynced) by us: store the new prefix,
                # unless a failed write left the file other than we know it (then the next open re-verifies)
                if self.verified is not None and size == self._good_size:
                    prev, seq, height = self._durable
                    save_verified(
                        self.path,
                        Verified(
                            offset=size,
                            entries=seq,
                            last_id=prev,
                            height=height,
                            signed_checkpoint=self._signed_checkpoint,
                            crc=self._crc,
                        ),
                    )
                self._fh.close()
        finally:
            self._fh = None
            self._release_lock()

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _quarantine(self, torn: TornTail) -> None:
        side = self.path.with_name(self.path.name + ".torn")
        with side.open("ab") as out:
            out.write(torn.raw + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.truncate(self.path, torn.offset)
        os.fsync(self._fh.fileno())
        self.quarantined = torn
        log.risk(
            "ledger %s: line %d was torn by an interrupted write; moved its %d bytes to %s",
            self.path,
            torn.line_no,
            len(torn.raw),
            side,
        )

    def _load_tail(self) -> None:
        size = self.path.stat().st_size
        if size == 0:
            return
        with self.path.open("rb") as fh:
            last, _ = _last_complete_line(fh, size)
        if last is None:
            return
        entry = _parse_entry(last, -1, self.path)
        try:
            self._prev = str(entry["id"])
            self._next_seq = int(entry["seq"]) + 1
            self._height = int(entry["height"])
            self._durable = (self._prev, self._next_seq, self._height)
        except (KeyError, TypeError, ValueError):
            raise LedgerError(
                f"{self.path}: the last line is not a ledger entry; run `regimeflex ledger verify` to find the damage"
            ) from None

    # -------------------------------------------------------------- writing
    def _may_hold_secret(self, line: bytes) -> bool:
        """A cheap superset test for what :func:`regimeflex.secrets.redact_obj` would change:
        a secret's value, a secret-looking key, or a credential-bearing URL/header."""
        if self._secrets is None:  # read once per writer: scanning os.environ per entry is slow
            self._secrets = [v.encode("ascii", "backslashreplace") for v in secret_values()]
        if any(v in line for v in self._secrets):
            return True
        folded = line.lower()  # every _SECRETISH alternative holds one of these: most lines need no regex
        return any(n in folded for n in _SECRETISH_NEEDLES) and _SECRETISH.search(line) is not None

    @property
    def height(self) -> int:
        """Height of the last entry (0 for an empty ledger)."""
        return self._height

    @property
    def last_id(self) -> str:
        return self._prev

    def append(self, kind: str, data: Mapping[str, Any], *, height: int | None = None) -> str:
        """Buffer one entry (secrets redacted) and return its id; :meth:`commit` makes it durable."""
        if self._fh is None:
            raise LedgerError(f"{self.path}: ledger writer is not open")
        h = self._height if height is None else int(height)
        if h < self._height:
            raise LedgerError(f"{self.path}: height {h} is below the current height {self._height}")
        ts = utc_now()
        line, digest = _encode(h, self._next_seq, ts, kind, dict(data), self._prev)
        if self._may_hold_secret(line):  # rare: redact the structure and encode again
            line, digest = _encode(h, self._next_seq, ts, kind, redact_obj(dict(data)), self._prev)
        self._pending.append(line)
        self._pending_kinds.append(kind)
        self._prev = digest
        self._next_seq += 1
        self._height = h
        return digest

    def commit(self) -> None:
        """Write every buffered entry in one write, then flush and fsync."""
        if not self._pending:
            return
        lines, kinds = self._pending, self._pending_kinds
        self._pending, self._pending_kinds = [], []
        for i, kind in enumerate(kinds):
            if faults.due(f"write:{kind}"):  # fault injection: a crash half-way through this line
                head = b"".join(lines[:i])
                self._fh.write(head + lines[i][: len(lines[i]) // 2])
                self._fh.flush()
                faults.crash()
        fd = self._fh.fileno()
        size = os.fstat(fd).st_size
        try:
            with writing(self.path, "ledger"):
                _write_all(fd, b"".join(lines))
                os.fsync(fd)
        except StorageError:
            self._roll_back(fd, size)
            raise
        self._durable = (self._prev, self._next_seq, self._height)
        self._good_size = size + sum(map(len, lines))
        if self._crc is not None:
            self._crc = zlib.crc32(b"".join(lines), self._crc)

    def _roll_back(self, fd: int, size: int) -> None:
        """A commit failed (disk full, read-only, no permission): cut any part of it off the file,
        so the ledger ends with its last whole line, and forget the entries that did not land."""
        self._prev, self._next_seq, self._height = self._durable
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        except OSError as exc:
            log.error(
                "ledger %s: a failed write could not be cut back (%s); the next run moves the torn "
                "last line aside and records it",
                self.path,
                exc.strerror or exc,
            )

    def record(self, kind: str, data: Mapping[str, Any], *, height: int | None = None) -> str:
        """Append one entry and commit it at once (for facts that must be durable before the next step)."""
        digest = self.append(kind, data, height=height)
        self.commit()
        return digest

    def checkpoint_data(self) -> dict[str, Any]:
        """A ``checkpoint`` entry's data anchoring the current head (signed when the key is set)."""
        if self._pending:
            self.commit()
        return checkpoint_data(self._prev, self._next_seq, self._height, ledger_key())

    def note_checkpoint(self, data: Mapping[str, Any]) -> None:
        """Remember the seq of a signed checkpoint just appended (kept in the verified prefix)."""
        if data.get("sig"):
            self._signed_checkpoint = self._next_seq - 1


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (a write may be short on a filling disk)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def open_writer(path: Path, *, verify: bool = False, wait: float = 0.0) -> LedgerWriter:
    """Lock ``path`` for writing, repair a torn tail, and return the writer (use as ``with``).

    ``verify=True``: first verify the chain from the last verified prefix (raises
    :class:`~regimeflex.errors.LedgerBroken` when it is broken), and on close store the new
    verified prefix. Every command that acts on the ledger opens it this way. ``wait``
    (seconds) rides out a short-lived writer, e.g. ``regimeflex bot`` moving a command record
    into the ledger; 0 fails at once when another process holds the lock.
    """
    return LedgerWriter(Path(path), verify=verify).open(wait=wait)


@dataclass(frozen=True)
class RepairResult:
    """What :func:`repair` did: the torn line moved aside (if any), and the ledger after it."""

    torn: TornTail | None
    entries: int
    recorded_seq: int | None = None

    @property
    def line_no(self) -> int | None:
        return None if self.torn is None else self.torn.line_no


def repair(path: Path) -> RepairResult:
    """Move a torn last line to ``<ledger>.torn`` and record it (what the next run would do).

    Only a torn *tail* is repaired: the whole chain is verified first, and a chain broken
    anywhere else raises :class:`~regimeflex.errors.LedgerBroken` naming the first bad line,
    with nothing changed.
    """
    path = Path(path)
    result = verify_file(path)
    if not result.ok and not result.torn:
        raise LedgerBroken(
            f"{result.message(path)} — the chain is broken before its last line, which `ledger repair` "
            "does not fix (it only moves a torn last line aside); nothing was changed: restore the ledger "
            "from a backup"
        )
    with open_writer(path, verify=True) as writer:
        torn = writer.quarantined
        recorded = writer._next_seq - 1 if torn is not None else None
        return RepairResult(torn=torn, entries=writer._next_seq, recorded_seq=recorded)


def find_heads(path: Path, heads: Iterator[str] | tuple[str, ...] | list[str]) -> dict[str, int | None]:
    """For each hash, the line number of the entry with that id (None: not in the ledger)."""
    wanted = {h.strip().lower(): h for h in heads}
    found: dict[str, int | None] = {h: None for h in wanted.values()}
    if not path.exists():
        return found
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            key = raw[-67:-3].decode("ascii", "replace")
            if key in wanted:
                found[wanted[key]] = line_no
    return found
