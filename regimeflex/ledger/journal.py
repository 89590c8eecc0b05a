"""The ledger as one run uses it: the locked writer plus views kept current.

:func:`open_journal` replays the ledger into a :class:`~regimeflex.ledger.views.LedgerState`
and opens the single writer; every :meth:`Journal.record` appends an entry,
makes it durable, and applies it to the state, so the execution layer always
decides from what is on disk. The runner opens one journal per run and
passes it down (it records ``run_start``/``breaker``/``run_end`` itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from regimeflex.ledger.store import LedgerWriter, open_writer
from regimeflex.ledger.views import LedgerState, load_state


class Journal:
    """A locked ledger writer and the views replayed from the same file."""

    def __init__(self, writer: LedgerWriter, state: LedgerState) -> None:
        self.writer = writer
        self.state = state
        self.height = state.height
        self._pending: list[tuple[str, dict[str, Any], int]] = []

    @property
    def path(self) -> Path:
        return self.writer.path

    def begin_session(self, session: date, **data: Any) -> int:
        """Record ``run_start`` for ``session`` in its block (same height on a rerun) and return the height."""
        self.height = self.state.height_for(session)
        self.record("run_start", {"session": session.isoformat(), **data})
        return self.height

    def end_session(self, **data: Any) -> None:
        self.record("run_end", data)

    def append(self, kind: str, data: Mapping[str, Any]) -> str:
        """Buffer an entry; it reaches disk and the views on :meth:`commit`."""
        digest = self.writer.append(kind, data, height=self.height)
        self._pending.append((kind, dict(data), self.height))
        return digest

    def commit(self) -> None:
        try:
            self.writer.commit()
        except BaseException:
            self._pending.clear()  # not on disk (the writer cut it back): the views must not show it
            raise
        for kind, data, height in self._pending:
            self.state.apply(kind, data, height)
        self._pending.clear()

    def record(self, kind: str, data: Mapping[str, Any]) -> str:
        """Append one entry, make it durable (fsync) and apply it to the views."""
        digest = self.append(kind, data)
        self.commit()
        return digest

    def checkpoint(self) -> dict[str, str | None]:
        """End a run: a ``checkpoint`` entry anchoring the current head, signed with
        ``REGIMEFLEX_LEDGER_KEY`` when set. Returns what to publish: the signed head, its
        signature, and the checkpoint's own id (the ledger's new head)."""
        self.commit()
        data = self.writer.checkpoint_data()
        checkpoint_id = self.record("checkpoint", data)
        self.writer.note_checkpoint(data)
        return {"head": data["head"], "sig": data["sig"], "checkpoint": checkpoint_id, "entries": data["entries"]}

    def close(self) -> None:
        self.commit()
        self.writer.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_journal(path: str | Path, *, verify: bool = True, wait: float = 0.0) -> Journal:
    """Lock the ledger at ``path``, verify it from the last verified prefix (a broken chain raises
    :class:`~regimeflex.errors.LedgerBroken` and nothing is written), repair a torn tail, replay
    it, and return the journal. ``wait``: seconds to wait for a short-lived holder of the lock
    (see :func:`~regimeflex.ledger.store.open_writer`)."""
    writer = open_writer(Path(path), verify=verify, wait=wait)
    try:
        state = load_state(writer.path)
    except BaseException:
        writer.close()
        raise
    return Journal(writer, state)
