"""Provenance: what a cached symbol's rows came from, and whether that source has changed since.

Owns the ``source`` record the cache manifest keeps per symbol and the
comparison that decides a re-import. A record is::

    {"provider": "csv", "adjusted": true,
     "settings": {...the provider settings that change values...},
     "files": [{"path": "/abs/SPY.csv", "size": 316123, "mtime_ns": ..., "sha256": "..."}]}

The provider says which settings matter and which files serve each symbol
through its optional ``bars_source`` hook (without it: every validated
setting, no files). A file whose size and mtime are unchanged is not read
again; a file whose size or mtime changed is hashed, and only a different
SHA-256 counts as a change (touching a file costs nothing). Every change
is described in words, so the run's INFO line can say why it re-imports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: read files in chunks of this size when hashing
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """JSON-able form of a settings value (paths as strings, mappings sorted)."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


class SourceScanner:
    """Builds source records for one load, hashing each file at most once."""

    def __init__(
        self, provider: str, adjusted: bool, settings: Mapping[str, Any], files: Mapping[str, Iterable[Any]] | None
    ) -> None:
        self.provider = provider
        self.adjusted = adjusted
        self.settings = _plain(dict(settings))
        self.files = {str(s).upper(): [str(Path(p)) for p in paths] for s, paths in (files or {}).items()}
        self.tracks_files = files is not None
        self._hashes: dict[tuple[str, int, int], str] = {}

    def _stat(self, path: str) -> tuple[int, int] | None:
        try:
            st = Path(path).stat()
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def record(self, symbol: str, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The current source record of ``symbol`` (reusing ``previous`` hashes for unchanged stats)."""
        known = {f["path"]: f for f in (previous or {}).get("files", []) if isinstance(f, Mapping)}
        entries = []
        for path in self.files.get(symbol.upper(), []):
            stat = self._stat(path)
            if stat is None:
                continue
            size, mtime = stat
            old = known.get(path)
            if old and old.get("size") == size and old.get("mtime_ns") == mtime and old.get("sha256"):
                sha = str(old["sha256"])
            else:
                key = (path, size, mtime)
                if key not in self._hashes:
                    self._hashes[key] = file_sha256(Path(path))
                sha = self._hashes[key]
            entries.append({"path": path, "size": size, "mtime_ns": mtime, "sha256": sha})
        out: dict[str, Any] = {"provider": self.provider, "adjusted": self.adjusted, "settings": self.settings}
        if self.tracks_files:
            out["files"] = entries
        return out


def describe_change(old: Mapping[str, Any] | None, new: Mapping[str, Any], *, provider: str) -> str | None:
    """Why ``new`` differs from ``old`` in values that matter, in words; None when it does not."""
    if old is None:
        return "the cache does not record where its rows came from (written by an older version)"
    if old.get("adjusted") != new.get("adjusted"):
        return f"data.yaml adjusted changed ({old.get('adjusted')} → {new.get('adjusted')})"
    old_settings, new_settings = old.get("settings") or {}, new.get("settings") or {}
    if old_settings != new_settings:
        keys = sorted(
            k
            for k in set(old_settings) | set(new_settings)
            if old_settings.get(k) != new_settings.get(k)
            # a key a newer version added, at a default that changes nothing, is not a change
            and not (k not in old_settings and new_settings.get(k) in (None, False, [], {}))
        )
        if not keys:
            return None if "files" not in new else _file_changes(old, new)
        parts = [f"{k}: {old_settings.get(k)!r} → {new_settings.get(k)!r}" for k in keys]
        return f"providers.{provider} settings changed ({'; '.join(parts)})"
    if "files" not in new:
        return None
    return _file_changes(old, new)


def _file_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    old_files = {f["path"]: f for f in old.get("files", []) if isinstance(f, Mapping)}
    new_files = {f["path"]: f for f in new.get("files", [])}
    added = sorted(set(new_files) - set(old_files))
    gone = sorted(set(old_files) - set(new_files))
    changed = sorted(p for p in set(new_files) & set(old_files) if new_files[p]["sha256"] != old_files[p]["sha256"])
    reasons = []
    if changed:
        p = changed[0]
        reasons.append(
            f"source file {p} changed (size {old_files[p].get('size')} → {new_files[p]['size']} bytes, "
            f"new content hash)" + (f" and {len(changed) - 1} more" if len(changed) > 1 else "")
        )
    if added:
        reasons.append(f"new source file {added[0]}" + (f" and {len(added) - 1} more" if len(added) > 1 else ""))
    if gone:
        reasons.append(f"source file {gone[0]} is gone" + (f" and {len(gone) - 1} more" if len(gone) > 1 else ""))
    return "; ".join(reasons) or None


def same_stats(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """True when the file stats recorded in ``old`` equal ``new``'s (nothing to update in the manifest)."""
    if old is None:
        return False
    return [(f["path"], f["size"], f["mtime_ns"]) for f in old.get("files", [])] == [
        (f["path"], f["size"], f["mtime_ns"]) for f in new.get("files", [])
    ]
