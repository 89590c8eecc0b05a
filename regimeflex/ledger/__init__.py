"""Storage layer: the hash-chained, append-only audit ledger and what derives from it.

Owns ``logs/audit/ledger.jsonl`` (one JSON object a line, SHA-256 chained,
fsync on commit, single writer under a lock file, torn tail detection), its
verification, and the event-sourced views built from it: fills, positions,
open intents, breaker state.
"""

from regimeflex.ledger.store import (
    GENESIS,
    LedgerWriter,
    RepairResult,
    VerifyResult,
    canonical_json,
    entry_id,
    open_writer,
    read_entries,
    repair,
    verify_file,
    verify_since_checkpoint,
)
from regimeflex.ledger.views import LedgerState, OrderView, load_state, positions_from_fills

__all__ = [
    "GENESIS",
    "LedgerState",
    "LedgerWriter",
    "RepairResult",
    "OrderView",
    "VerifyResult",
    "canonical_json",
    "entry_id",
    "load_state",
    "open_writer",
    "positions_from_fills",
    "read_entries",
    "repair",
    "verify_file",
    "verify_since_checkpoint",
]
