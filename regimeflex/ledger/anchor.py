"""Trust in the ledger: the signing key, signed checkpoints and plan commits, the verified prefix.

Owns ``REGIMEFLEX_LEDGER_KEY`` (environment or ``.env``; a secret, never
logged or written), the HMAC-SHA256 signatures of ``checkpoint`` entries (a
run's head hash) and ``plan_commit`` entries (one plan's intents, all or
nothing), and the *verified prefix* kept in ``<ledger>.verified``: how far
the chain was last verified (byte offset, entries, last id, height), so a
command that acts on the ledger re-hashes only what was appended since.
With the key set that file carries a MAC too, so editing it cannot make a
run skip verification. See docs/execution.md, "Threat model".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from regimeflex.fsio import atomic_write_text

KEY_ENV = "REGIMEFLEX_LEDGER_KEY"
GENESIS = "0" * 64
_VERSION = 1


def ledger_key() -> bytes | None:
    """The signing key from the environment (``.env`` is loaded with the configuration), or None."""
    value = os.environ.get(KEY_ENV, "").strip()
    return value.encode("utf-8") if value else None


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign(key: bytes, what: str, fields: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex) of ``what`` and ``fields`` in canonical JSON."""
    return hmac.new(key, _canonical({"v": _VERSION, "what": what, **fields}), hashlib.sha256).hexdigest()


def signature_ok(key: bytes, what: str, fields: Mapping[str, Any], sig: Any) -> bool:
    return isinstance(sig, str) and hmac.compare_digest(sign(key, what, fields), sig)


# --------------------------------------------------------------- checkpoints
def checkpoint_fields(head: str, entries: int, height: int) -> dict[str, Any]:
    """What a checkpoint signs: the id of the entry before it, how many entries that makes, the height."""
    return {"head": head, "entries": int(entries), "height": int(height)}


def checkpoint_data(head: str, entries: int, height: int, key: bytes | None) -> dict[str, Any]:
    fields = checkpoint_fields(head, entries, height)
    return {**fields, "sig": sign(key, "checkpoint", fields) if key else None}


def checkpoint_problem(entry: Mapping[str, Any], key: bytes | None) -> str | None:
    """Why a parsed ``checkpoint`` entry is wrong (None when fine). ``key`` None: links only."""
    data = entry.get("data") or {}
    if data.get("head") != entry.get("prev") or data.get("entries") != entry.get("seq"):
        return "checkpoint does not anchor the entry before it (head/entries differ from prev/seq)"
    if key is None:
        return None
    fields = checkpoint_fields(str(data.get("head")), int(data.get("entries") or 0), int(data.get("height") or 0))
    if data.get("sig") is None:
        return "checkpoint is not signed although REGIMEFLEX_LEDGER_KEY is set"
    if not signature_ok(key, "checkpoint", fields, data.get("sig")):
        return (
            "checkpoint signature does not match (history before it was rewritten, or it was signed "
            "with another REGIMEFLEX_LEDGER_KEY)"
        )
    return None


# -------------------------------------------------------------- plan commits
def intents_digest(intents: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of a plan's intent data, in order."""
    return hashlib.sha256(_canonical([dict(i) for i in intents])).hexdigest()


def plan_commit_data(
    session: str, strategy: str, mode: str, intents: Sequence[Mapping[str, Any]], key: bytes | None
) -> dict[str, Any]:
    """The ``plan_commit`` entry written after (and in the same write as) a plan's intents."""
    fields = {
        "session": session,
        "strategy": strategy,
        "mode": mode,
        "intents": [str(i["client_order_id"]) for i in intents],
        "digest": intents_digest(intents),
    }
    return {**fields, "sig": sign(key, "plan_commit", fields) if key else None}


def plan_commit_problem(data: Mapping[str, Any], intents: Sequence[Mapping[str, Any]] | None) -> str | None:
    """Why a ``plan_commit`` does not commit ``intents`` (None when it does), with the key from the environment."""
    if intents is None:
        return "it lists an intent the ledger does not have"
    if intents_digest(intents) != data.get("digest"):
        return "the intents differ from what was committed (an intent was edited)"
    key = ledger_key()
    if key is None:
        return None
    fields = {k: data.get(k) for k in ("session", "strategy", "mode", "intents", "digest")}
    if not signature_ok(key, "plan_commit", fields, data.get("sig")):
        return "its signature does not match REGIMEFLEX_LEDGER_KEY (not written by a run holding the key)"
    return None


# ---------------------------------------------------------- verified prefix
@dataclass(frozen=True)
class Verified:
    """A prefix of the ledger known to verify: its length in bytes and entries, last id and height."""

    offset: int = 0
    entries: int = 0
    last_id: str = GENESIS
    height: int = 0
    #: seq of the last signed checkpoint in the prefix (None: none seen)
    signed_checkpoint: int | None = None
    #: CRC-32 of the prefix's bytes: a cheap fingerprint (not a hash of each line) that catches an
    #: edit, deletion or swap anywhere in the prefix before acting (None: unknown, not checked)
    crc: int | None = None


def state_path(ledger: Path) -> Path:
    return Path(ledger).with_name(Path(ledger).name + ".verified")


def _mac_fields(v: Verified) -> dict[str, Any]:
    return asdict(v)


def load_verified(ledger: Path) -> tuple[Verified | None, str]:
    """The stored verified prefix, or None with the reason it is not used."""
    path = state_path(ledger)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        v = Verified(
            offset=int(raw["offset"]),
            entries=int(raw["entries"]),
            last_id=str(raw["last_id"]),
            height=int(raw["height"]),
            signed_checkpoint=None if raw.get("signed_checkpoint") is None else int(raw["signed_checkpoint"]),
            crc=None if raw.get("crc") is None else int(raw["crc"]),
        )
    except FileNotFoundError:
        return None, f"{path.name} not found"
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"{path.name} is unreadable"
    key = ledger_key()
    if key is not None and not signature_ok(key, "verified", _mac_fields(v), raw.get("mac")):
        return None, f"{path.name} is not signed with REGIMEFLEX_LEDGER_KEY"
    return v, ""


def save_verified(ledger: Path, v: Verified) -> None:
    """Store the verified prefix atomically (temp file + rename), with a MAC when the key is set."""
    path = state_path(ledger)
    key = ledger_key()
    body = {**asdict(v), "mac": sign(key, "verified", _mac_fields(v)) if key else None}
    try:
        atomic_write_text(path, json.dumps(body, sort_keys=True) + "\n")
    except OSError:  # only an optimisation: the next command verifies from further back
        pass
