"""Sealing the audit log into its hash chain, and streaming it to its sinks.

Every replica seals new events every half second (bot/store/chain.py); sealers take turns.

Streaming is at least once, in chain order, and loses nothing.

Each sink has a cursor (`audit_sink_cursor`: the last seq it received) and exactly one job
on the durable queue, which replicas share through its lease. The job sends the events
after the cursor in batches, moves the cursor only once the sink has accepted a batch, and
reschedules itself: soon while events are waiting, after a pause when caught up, with
backoff while the sink is down. A crash between sending and moving the cursor sends that
batch again: every event carries its id and hash, so the sink can drop the repeat.

Events are sent as stored (already redacted when written) and redacted once more on the
way out, the same as exports.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot import metrics
from bot.audit.sinks import Record, Sink
from bot.jobs import Handler, Retry, Worker, backoff
from bot.kinds import JobKind
from bot.redaction import Redactor
from bot.store import AuditEvent, Job, Store
from bot.store.chain import timestamp

log = logging.getLogger(__name__)

JOB = JobKind.AUDIT_SINK
BATCH = 200  # events per request
ROUNDS = 25  # batches per job run before giving other jobs a turn
IDLE = 1.0  # seconds between looks at the chain when a sink is caught up
MEASURE_EVERY = 5.0  # seconds between lag measurements on each replica
SEAL_EVERY = 0.5  # seconds between sealing rounds on each replica
SEAL_BATCH = 1000


def record(event: AuditEvent) -> Record:
    """What a sink receives of an event: its identity in the chain and its stored fields."""
    return {
        "id": event.id,
        "seq": event.seq,
        "hash": event.hash,
        "prev_hash": event.prev_hash,
        "at": timestamp(event.at),
        "run_id": event.run_id,
        "action_id": event.action_id,
        "kind": event.kind,
        "actor": event.actor,
        "detail": event.detail,
    }


class AuditStream:
    def __init__(self, store: Store, sinks: list[Sink], redact: Redactor) -> None:
        self.store = store
        self.sinks = {sink.name: sink for sink in sinks}
        self.redact = redact

    @property
    def handlers(self) -> dict[str, Handler]:
        return {JOB: self.pump}

    async def start(self, worker: Worker) -> None:
        """Seal regularly; make sure each sink has its cursor and its job; measure lag."""
        worker.every(SEAL_EVERY, self.seal, "audit-seal", first_in=0.1)
        if not self.sinks:
            return
        for name in self.sinks:
            job = Job(kind=JOB, data={"sink": name})
            await asyncio.to_thread(self.store.open_sink, name, job)
        worker.every(MEASURE_EVERY, self.measure, "audit-sink-lag", first_in=0.1)
        worker.wake()

    async def stop(self) -> None:
        for sink in self.sinks.values():
            await sink.aclose()

    async def seal(self) -> None:
        while await asyncio.to_thread(self.store.seal, SEAL_BATCH) == SEAL_BATCH:
            pass

    async def measure(self) -> None:
        lags = await asyncio.to_thread(self.store.sink_lags, list(self.sinks))
        for name, lag in lags.items():
            metrics.AUDIT_SINK_LAG.labels(name).set(lag)

    async def pump(self, job: Job) -> None:
        name = str(job.data.get("sink"))
        sink = self.sinks.get(name)
        if sink is None:
            log.info("audit sink %s is no longer configured: its job ends", name)
            return
        failures = int(job.data.get("failures", 0))
        try:
            more = await self.deliver(sink)
        except Exception as exc:
            failures += 1
            metrics.AUDIT_SINK_ERRORS.labels(name).inc()
            delay = backoff(failures, base=1.0, cap=60.0)
            error = self.redact.text(f"{type(exc).__name__}: {exc}")[:1000]
            log.warning("audit sink %s failed (%d in a row): %s", name, failures, error)
            raise Retry(delay, error, {"sink": name, "failures": failures}, counts=False) from None
        raise Retry(0 if more else IDLE, "", {"sink": name, "failures": 0}, counts=False)

    async def deliver(self, sink: Sink) -> bool:
        """Send what the sink has not received; True if more is waiting."""
        for _ in range(ROUNDS):
            position = await asyncio.to_thread(self.store.sink_position, sink.name)
            events = await asyncio.to_thread(self.store.chain_events, position, BATCH)
            if not events:
                return False
            records: list[Any] = self.redact([record(e) for e in events])
            await sink.send(records)
            await asyncio.to_thread(self.store.advance_sink, sink.name, events[-1].seq or 0)
            if len(events) < BATCH:
                await self.measure()
                return False
        await self.measure()
        return True
