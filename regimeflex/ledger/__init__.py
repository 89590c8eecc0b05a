"""Storage layer: the hash-chained, append-only audit ledger and what derives from it.

Owns ``logs/audit/ledger.jsonl`` (one JSON object a line, SHA-256 chained,
fsync on commit, single writer under a lock file, torn tail detection), its
verification, and the event-sourced views built from it: fills, positions,
open intents, breaker state.
"""
