"""`python -m bot audit verify`: re-compute the hash chain and find its first broken link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store import Store
from bot.store.chain import GENESIS, Break, Walk, walk

BATCH = 5000


@dataclass
class Verdict:
    events: int
    first_seq: int | None
    head_seq: int
    head_hash: str
    broken: Break | None
    anchor: str  # where the walk started from, in words

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(store: Store, since: datetime | None = None, batch: int = BATCH) -> Verdict:
    """Walk the chain from its start (or from the first event at or after ``since``).

    Events written but not sealed yet are sealed first, so the walk covers them too.
    """
    store.seal_all()
    head = store.chain_head()  # read first: every event up to it is committed
    first = store.first_seq(since)
    verdict = Verdict(0, first, head.seq, head.hash, None, "")
    if first is None or first > head.seq:
        if since is None and head.seq > 0:
            verdict.broken = Break(
                None, head.seq, f"the chain head is at seq {head.seq} but no event is stored"
            )
        return verdict
    state, verdict.anchor, verdict.broken = _start(store, first, since)
    if verdict.broken:
        return verdict
    while state.broken is None and state.next_seq <= head.seq:
        rows = [
            r
            for r in store.chain_events(state.next_seq - 1, batch)
            if r.seq is not None and r.seq <= head.seq
        ]
        if not rows:
            break
        walk(rows, state)
    verdict.events, verdict.broken = state.events, state.broken or _tail(state, head.seq, head.hash)
    return verdict


def _start(store: Store, first: int, since: datetime | None) -> tuple[Walk, str, Break | None]:
    """The hash the first stored event must follow: genesis, a checkpoint, or trusted."""
    if since is not None:
        row = store.chain_events(first - 1, 1)[0]
        return Walk(first, row.prev_hash or ""), f"event seq {first} (--since)", None
    if first == 1:
        return Walk(1, GENESIS), "the genesis hash", None
    checkpoint = store.checkpoint(first - 1)
    if checkpoint is None:
        row = store.chain_events(first - 1, 1)[0]
        reason = (
            f"events up to seq {first - 1} are gone and no retention checkpoint records "
            "that cut: they were deleted outside retention"
        )
        return Walk(first, GENESIS), "", Break(row.id, row.seq, reason)
    anchor = f"the retention checkpoint event {checkpoint.id} (cut at seq {first - 1})"
    return Walk(first, str(checkpoint.detail.get("hash"))), anchor, None


def _tail(state: Walk, head_seq: int, head_hash: str) -> Break | None:
    """The last event must be the one the head records: else events at the end are gone."""
    last = state.next_seq - 1
    if last != head_seq:
        return Break(
            None,
            head_seq,
            f"the chain head is at seq {head_seq} but the last event is seq {last}: "
            "events at the end were deleted",
        )
    if state.prev_hash != head_hash:
        return Break(
            None,
            head_seq,
            f"the last event's hash {state.prev_hash} is not the chain head's {head_hash}",
        )
    return None
