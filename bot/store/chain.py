"""The audit hash chain: each audit event's hash covers the event before it.

    hash = SHA-256(prev_hash ‖ canonical JSON of the event)

- ``prev_hash`` is the previous event's hash as 32 raw bytes; the first event follows
  ``GENESIS`` (32 zero bytes). Hashes are stored as 64 lowercase hex digits.
- "The event" is the JSON object of six stored fields: ``run_id``, ``action_id``, ``kind``,
  ``actor``, ``at`` and ``detail``. ``at`` is UTC ISO 8601 with microseconds and a ``Z``
  (``2026-12-02T10:27:18.123456Z``); ``detail`` is the JSON the database holds. The row's
  ``id``, ``seq`` and the hashes are not part of it: ``seq`` is the chain's order, and the
  link to the previous hash already fixes each event's place.
- Canonical JSON: keys sorted, ``,`` and ``:`` as separators and no other whitespace,
  non-ASCII characters as themselves, encoded as UTF-8.

Sealing: an insert stays one statement; it leaves ``seq`` and the hashes empty. The sealer
(`Store.seal`, run every half second by each replica and before `audit verify`) takes the
events not sealed yet, in the order they were written, and appends them to the chain. It
first locks the one row of ``audit_chain``, which holds the head (``seq``, ``hash``): a row
lock on PostgreSQL, the write lock on SQLite. So replicas sealing at once take turns, each
continues from the head the last one committed, and ``seq`` has no gaps. Writers never wait
for the chain, which keeps the hot path as fast as before; the price is that an event is
tamper-evident a moment (normally under a second) after it is written, not at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

GENESIS = "0" * 64
CHECKPOINT = "audit_checkpoint"  # the event retention writes where it cut the chain
FIELDS = ("run_id", "action_id", "kind", "actor", "at", "detail")


class Chained(Protocol):
    """What hashing needs of an event: an AuditEvent row, or a row read back from a file."""

    run_id: str | None
    action_id: str | None
    kind: str
    actor: str | None
    at: datetime
    detail: dict[str, Any]


def canonical(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def timestamp(at: datetime) -> str:
    """`at` as hashed: UTC, microseconds, `Z` (naive values are UTC, as the database keeps)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_json(row: Chained) -> str:
    """The canonical JSON of an event, as text."""
    # Through JSON once first: the database keeps detail as JSON, so hash what it gives back.
    detail = json.loads(json.dumps(row.detail if row.detail is not None else {}))
    fields = {
        "run_id": row.run_id,
        "action_id": row.action_id,
        "kind": row.kind,
        "actor": row.actor,
        "at": timestamp(row.at),
        "detail": detail,
    }
    return canonical(fields).decode("utf-8")


def link(prev_hash: str, event_text: str) -> str:
    """The hash of an event (canonical JSON text) following ``prev_hash`` (hex)."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + event_text.encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, row: Chained) -> str:
    return link(prev_hash, event_json(row))


# --- verification ---------------------------------------------------------------------


class Row(Chained, Protocol):
    id: int | None
    seq: int | None
    prev_hash: str | None
    hash: str | None


@dataclass
class Break:
    """The first broken link: which event, and what differs."""

    event_id: int | None
    seq: int | None
    reason: str


@dataclass
class Walk:
    """Where a walk along the chain got to."""

    next_seq: int
    prev_hash: str
    events: int = 0
    broken: Break | None = None


def walk(rows: Iterable[Row], state: Walk) -> Walk:
    """Check rows (in seq order) against the chain so far; stop at the first break."""
    for row in rows:
        if state.broken:
            break
        state.broken = _check(row, state)
        if state.broken is None:
            state.events += 1
            state.next_seq = (row.seq or 0) + 1
            state.prev_hash = row.hash or ""
    return state


def _check(row: Row, state: Walk) -> Break | None:
    def broken(reason: str) -> Break:
        return Break(row.id, row.seq, reason)

    if row.seq != state.next_seq:
        return broken(
            f"seq {state.next_seq}"
            + (f"..{row.seq - 1}" if row.seq is not None and row.seq - 1 > state.next_seq else "")
            + f" missing before it (deleted events): found seq {row.seq}"
        )
    if row.prev_hash != state.prev_hash:
        return broken(
            f"prev_hash {row.prev_hash} is not the hash of the event before it "
            f"({state.prev_hash}): an event before it was deleted, changed or reordered"
        )
    recomputed = event_hash(row.prev_hash, row)
    if recomputed != row.hash:
        return broken(
            f"its fields do not match its hash (changed after it was written): "
            f"stored {row.hash}, recomputed {recomputed} from {event_json(row)}"
        )
    return None
