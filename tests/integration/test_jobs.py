"""The job queue: each job's status as the worker leaves it, and its migration."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import select

from bot.jobs import MAX_ATTEMPTS, Blueprint, DuplicateJobKind, Retry, Worker, merge_handlers
from bot.kinds import JobKind, JobStatus
from bot.runs.facade import JOBS
from bot.store import Job, Store, migrate
from bot.store.engine import alembic_config
from tests.conftest import database_url


async def _ok(_job: Job) -> None:
    return None


async def _broken(_job: Job) -> None:
    raise RuntimeError("the handler is broken")


async def _waiting(_job: Job) -> None:
    raise Retry(60, "waiting for another job", counts=False)


async def _slack_down(_job: Job) -> None:
    raise Retry(60, "posting failed")


def _statuses(store: Store) -> dict[str, tuple[str, str | None]]:
    with store.session() as session:
        return {j.kind: (j.status, j.last_error) for j in session.exec(select(Job))}


def test_the_worker_says_which_jobs_are_done_failed_or_given_up(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    migrate(url)
    store = Store(url)
    handlers = {"ok": _ok, "broken": _broken, "waiting": _waiting, "slack_down": _slack_down}
    store.add_jobs(
        [
            Job(kind="ok"),
            Job(kind="broken"),
            Job(kind="hopeless", attempts=MAX_ATTEMPTS - 1),  # its last try
            Job(kind="waiting"),
            Job(kind="slack_down"),
        ]
    )
    assert {status for status, _ in _statuses(store).values()} == {JobStatus.QUEUED}

    async def run_once() -> None:
        worker = Worker(store, {**handlers, "hopeless": _broken}, poll=0.05)
        await worker.start()
        try:
            await worker.drain(timeout=10)
        finally:
            await worker.stop()

    asyncio.run(run_once())
    statuses = _statuses(store)
    assert statuses["ok"] == (JobStatus.DONE, None)
    # Both ended by an error; only one of them will be tried again.
    assert statuses["broken"] == (JobStatus.FAILED, "RuntimeError: the handler is broken")
    assert statuses["hopeless"] == (JobStatus.GIVEN_UP, "RuntimeError: the handler is broken")
    assert statuses["waiting"][0] == JobStatus.QUEUED
    assert statuses["slack_down"] == (JobStatus.FAILED, "posting failed")
    store.close()


def test_migration_backfills_job_status(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    config = alembic_config(url)
    command.upgrade(config, "0008")
    store = Store(url)
    rows = [
        ("waiting", None, None),
        ("delivered", "2026-01-01 00:00:00", None),
        ("closed", "2026-01-01 00:00:00", "run SUCCESS"),
        ("abandoned", "2026-01-01 00:00:00", "RuntimeError: boom"),
    ]
    with store.engine.begin() as connection:
        for kind, done_at, error in rows:
            connection.execute(
                text(
                    "INSERT INTO job (kind, due_at, attempts, data, done_at, last_error, "
                    "created_at) VALUES (:kind, '2026-01-01 00:00:00', 1, '{}', :done_at, "
                    ":error, '2026-01-01 00:00:00')"
                ),
                {"kind": kind, "done_at": done_at, "error": error},
            )
    command.upgrade(config, "head")
    statuses = {kind: status for kind, (status, _) in _statuses(store).items()}
    assert statuses == {
        "waiting": JobStatus.QUEUED,
        "delivered": JobStatus.DONE,
        "closed": JobStatus.DONE,
        "abandoned": JobStatus.GIVEN_UP,
    }
    store.close()


async def _other(_job: Job) -> None:
    return None


def test_a_job_kind_handled_twice_fails_at_start_up() -> None:
    blueprint: Blueprint[object] = Blueprint()
    blueprint.handler("report")(lambda _ctx, job: _ok(job))
    with pytest.raises(DuplicateJobKind, match="report"):
        blueprint.handler("report")(lambda _ctx, job: _other(job))
    elsewhere: Blueprint[object] = Blueprint()
    elsewhere.handler("report")(lambda _ctx, job: _other(job))
    with pytest.raises(DuplicateJobKind, match="report"):
        Blueprint().add_from(blueprint, elsewhere)
    # The run lifecycle's handlers and another component's (as the runtime joins them).
    handlers = JOBS.bind(object())
    with pytest.raises(DuplicateJobKind, match="deliver"):
        merge_handlers(handlers, {"audit_sink": _ok, "deliver": _other})
    assert set(merge_handlers(handlers, {"audit_sink": _ok})) == set(
        JobKind
    )  # every kind has its handler
