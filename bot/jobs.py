"""The worker: claims due jobs from the database and runs their handlers.

The queue lives in our own `job` table, so it survives restarts and is shared by replicas.
APScheduler (in-process, UTC) only wakes the worker and runs periodic duties; it never
holds the queue, since its job stores are not safe across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import event

from bot import logs, tracing
from bot.kinds import JobStatus
from bot.store import Job, Store
from bot.store.models import utcnow

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[None]]
MAX_ATTEMPTS = 20  # for jobs whose handler keeps failing unexpectedly
C = TypeVar("C")


class Retry(Exception):
    """Raised by a handler: run this job again after ``delay`` seconds."""

    def __init__(
        self,
        delay: float,
        error: str = "",
        data: dict[str, Any] | None = None,
        *,
        counts: bool = True,
    ) -> None:
        super().__init__(error)
        self.delay = delay
        self.error = error
        self.data = data
        self.counts = counts  # False: waiting for something, not a failed attempt


class DuplicateJobKind(ValueError):
    """Two handlers for one job kind: a start-up error, never a silent override."""


class Blueprint(Generic[C]):
    """Job handlers declared where they live, bound to a shared context at start-up::

    jobs: Blueprint[Context] = Blueprint()

    @jobs.handler(JobKind.REPORT)
    async def report(ctx: Context, job: Job) -> None: ...
    """

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[C, Job], Awaitable[None]]] = {}

    def handler(
        self, kind: str
    ) -> Callable[[Callable[[C, Job], Awaitable[None]]], Callable[[C, Job], Awaitable[None]]]:
        def register(
            func: Callable[[C, Job], Awaitable[None]],
        ) -> Callable[[C, Job], Awaitable[None]]:
            self._add(kind, func)
            return func

        return register

    def add_from(self, *blueprints: Blueprint[C]) -> Blueprint[C]:
        for blueprint in blueprints:
            for kind, func in blueprint.handlers.items():
                self._add(kind, func)
        return self

    def bind(self, ctx: C) -> dict[str, Handler]:
        return {kind: functools.partial(func, ctx) for kind, func in self.handlers.items()}

    def _add(self, kind: str, func: Callable[[C, Job], Awaitable[None]]) -> None:
        if kind in self.handlers:
            raise DuplicateJobKind(f"job kind {kind!r} has two handlers")
        self.handlers[kind] = func


def merge_handlers(*groups: Mapping[str, Handler]) -> dict[str, Handler]:
    """One table of handlers from several; a kind handled twice is an error."""
    merged: dict[str, Handler] = {}
    for group in groups:
        for kind, handler in group.items():
            if kind in merged:
                raise DuplicateJobKind(f"job kind {kind!r} has two handlers")
            merged[kind] = handler
    return merged


@event.listens_for(Job, "before_insert")
def _carry_trace(_mapper: Any, _connection: Any, job: Job) -> None:
    """A job remembers the trace of the code that queued it: its work joins that trace."""
    if tracing.TRACEPARENT not in (job.data or {}):
        context = tracing.carrier()
        if context:
            job.data = {**(job.data or {}), **context}


def backoff(attempt: int, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(attempt - 1, 0)))


class Worker:
    def __init__(
        self,
        store: Store,
        handlers: dict[str, Handler],
        *,
        concurrency: int = 200,
        lease: float = 30.0,
        poll: float = 1.0,
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.concurrency = concurrency
        self.lease = lease
        self.poll = poll
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{random.randrange(1 << 30):x}"
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False
        self.last_beat = 0.0

    @property
    def alive(self) -> bool:
        return (
            self._loop is not None
            and not self._loop.done()
            and time.monotonic() - self.last_beat < max(10 * self.poll, 10.0)
        )

    def wake(self) -> None:
        self._wake.set()

    def every(
        self, seconds: float, func: Callable[[], Any], name: str, first_in: float | None = None
    ) -> None:
        """Register a periodic duty (runs in this process only)."""
        timing: dict[str, Any] = {}
        if first_in is not None:
            timing["next_run_time"] = datetime.now(UTC) + timedelta(seconds=first_in)
        self.scheduler.add_job(
            func,
            "interval",
            seconds=seconds,
            id=name,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
            **timing,
        )

    async def start(self) -> None:
        self.every(self.poll, self.wake, "wake")
        self.every(max(self.lease / 3, 0.5), self._extend_leases, "leases")
        self.scheduler.start()
        self._loop = asyncio.create_task(self._run(), name="worker")
        self.wake()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; let running jobs finish within ``grace``; give the rest back."""
        self._stopping = True
        self.wake()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._loop:
            await self._loop
        if self._inflight:
            await asyncio.wait(set(self._inflight.values()), timeout=grace)
        left = [job_id for job_id, task in self._inflight.items() if not task.done()]
        for job_id in left:
            self._inflight[job_id].cancel()
        await asyncio.to_thread(self.store.release, self.owner, left)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until no job is due or running (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            due = await asyncio.to_thread(self.store.pending_jobs)
            now = utcnow()
            if not self._inflight and not any(j.due_at <= now for j in due):
                return
            self.wake()
            await asyncio.sleep(0.05)

    async def _extend_leases(self) -> None:
        await asyncio.to_thread(self.store.extend, self.owner, list(self._inflight), self.lease)

    async def _run(self) -> None:
        while not self._stopping:
            self.last_beat = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)
            self._wake.clear()
            if self._stopping:
                break
            free = self.concurrency - len(self._inflight)
            if free <= 0:
                continue
            try:
                jobs = await asyncio.to_thread(self.store.claim, self.owner, free, self.lease)
            except Exception as exc:  # the database is down: keep trying, don't die
                log.warning("claiming jobs failed: %s", exc)
                await asyncio.sleep(min(self.poll, 1.0))
                continue
            for job in jobs:
                assert job.id is not None
                task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
                self._inflight[job.id] = task
                task.add_done_callback(functools.partial(self._finished, job.id))
            if len(jobs) == free:
                self.wake()  # there may be more

    def _finished(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(job_id, None)
        self.wake()  # a slot is free: claim now, not at the next poll

    async def _execute(self, job: Job) -> None:
        with tracing.job_span(job):
            await self._handle(job)

    async def _handle(self, job: Job) -> None:
        assert job.id is not None
        logs.RUN_ID.set(job.run_id)  # every log line of this job names its run
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise RuntimeError(f"no handler for job kind {job.kind!r}")
            await handler(job)
        except Retry as retry:
            due = utcnow() + timedelta(seconds=retry.delay)
            attempts = None if retry.counts else job.attempts - 1
            await asyncio.to_thread(
                self.store.reschedule,
                job.id,
                due,
                retry.error,
                retry.data,
                attempts,
                JobStatus.FAILED if retry.counts else JobStatus.QUEUED,  # waiting isn't failing
            )
            self.wake_at(retry.delay)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if job.attempts >= MAX_ATTEMPTS:
                log.error(
                    "job %s (%s) gave up after %d attempts: %s",
                    job.id,
                    job.kind,
                    job.attempts,
                    error,
                )
                await asyncio.to_thread(self.store.complete, job.id, error, JobStatus.GIVEN_UP)
                return
            delay = backoff(job.attempts, base=2.0, cap=600.0)
            log.exception("job %s (%s) failed; retrying in %.1f s", job.id, job.kind, delay)
            due = utcnow() + timedelta(seconds=delay)
            await asyncio.to_thread(
                self.store.reschedule, job.id, due, error, status=JobStatus.FAILED
            )
            return
        await asyncio.to_thread(self.store.complete, job.id, None, JobStatus.DONE)

    def wake_at(self, delay: float) -> None:
        """Wake sooner than the next poll when a retry is due soon."""
        if delay < self.poll:
            asyncio.get_running_loop().call_later(max(delay, 0.0), self.wake)
