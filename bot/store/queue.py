"""The durable job queue: adding, claiming, leasing and finishing jobs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, update
from sqlmodel import col, select

from bot.kinds import JobKind, JobStatus
from bot.store import locks
from bot.store.audit_chain import AuditChainRepository
from bot.store.models import Job, utcnow


class JobQueue(AuditChainRepository):
    """Jobs claimed by replicas under a lease.

    Built on the chain: moving a run's jobs (Revoke now, Extend) seals the log at once.
    """

    def add_jobs(self, jobs: Iterable[Job]) -> None:
        with self.session() as session:
            for job in jobs:
                session.add(job)
            session.commit()

    def claim(self, owner: str, limit: int, lease: float) -> list[Job]:
        """Claim up to ``limit`` due jobs for ``lease`` seconds.

        PostgreSQL: replicas skip each other's locked rows (FOR UPDATE SKIP LOCKED).
        SQLite: the single UPDATE is atomic under the database's write lock.
        """
        now = utcnow()
        ready = (
            select(Job.id)
            .where(col(Job.done_at).is_(None), col(Job.due_at) <= now)
            .where((col(Job.claimed_until).is_(None)) | (col(Job.claimed_until) < now))
            # Deliveries first: under a burst the webhooks leave before the Slack messages.
            .order_by(
                case((col(Job.kind) == JobKind.DELIVER, 0), else_=1), col(Job.due_at), col(Job.id)
            )
            .limit(limit)
        )
        if self.engine.dialect.name == "postgresql":
            ready = ready.with_for_update(skip_locked=True)
        query = (
            update(Job)
            .where(col(Job.id).in_(ready.scalar_subquery()))
            .values(
                claimed_by=owner,
                claimed_until=now + timedelta(seconds=lease),
                attempts=Job.attempts + 1,
                status=JobStatus.RUNNING,
            )
            .returning(Job)
        )
        with self.session() as session:
            jobs = list(session.exec(query).scalars())
            session.commit()
        return sorted(jobs, key=lambda j: (j.due_at, j.id))

    def extend(self, owner: str, job_ids: Iterable[int], lease: float) -> None:
        ids = list(job_ids)
        if not ids:
            return
        with self.session() as session:
            session.exec(
                update(Job)
                .where(col(Job.id).in_(ids), col(Job.claimed_by) == owner)
                .values(claimed_until=utcnow() + timedelta(seconds=lease))
            )
            locks.renew(session, ids, owner, lease)
            session.commit()

    def complete(
        self, job_id: int, error: str | None = None, status: JobStatus = JobStatus.DONE
    ) -> None:
        with self.session() as session:
            session.exec(
                update(Job)
                .where(col(Job.id) == job_id)
                .values(done_at=utcnow(), claimed_until=None, last_error=error, status=status)
            )
            session.commit()

    def reschedule(
        self,
        job_id: int,
        due_at: datetime,
        error: str | None = None,
        data: dict[str, Any] | None = None,
        attempts: int | None = None,
        status: JobStatus = JobStatus.QUEUED,
    ) -> None:
        values: dict[str, Any] = {
            "due_at": due_at,
            "claimed_until": None,
            "last_error": error,
            "status": status,
        }
        if data is not None:
            values["data"] = data
        if attempts is not None:
            values["attempts"] = attempts
        with self.session() as session:
            session.exec(update(Job).where(col(Job.id) == job_id).values(**values))
            session.commit()

    def set_job_data(self, job_id: int | None, data: dict[str, Any]) -> None:
        with self.session() as session:
            session.exec(update(Job).where(col(Job.id) == job_id).values(data=data))
            session.commit()

    def release(self, owner: str, job_ids: Iterable[int]) -> None:
        """Give claimed jobs back at once (graceful shutdown), rather than at lease end."""
        ids = list(job_ids)
        if not ids:
            return
        with self.session() as session:
            session.exec(
                update(Job)
                .where(col(Job.id).in_(ids), col(Job.claimed_by) == owner)
                .values(claimed_until=None, attempts=Job.attempts - 1, status=JobStatus.QUEUED)
            )
            session.commit()

    def pending_jobs(self, run_id: str | None = None, kind: str | None = None) -> list[Job]:
        query = select(Job).where(col(Job.done_at).is_(None)).order_by(col(Job.id))
        if run_id is not None:
            query = query.where(Job.run_id == run_id)
        if kind is not None:
            query = query.where(Job.kind == kind)
        with self.session() as session:
            return list(session.exec(query))

    def note_ts(self, run_id: str, key: str) -> str | None:
        """Where the run's thread note ``key`` was posted (a PROGRESS job's ``ts``), if it was:
        the note is edited in place rather than posted again."""
        query = (
            select(Job)
            .where(Job.run_id == run_id, Job.kind == JobKind.PROGRESS)
            .order_by(col(Job.id).desc())
        )
        with self.session() as session:
            for job in session.exec(query):
                if job.data.get("key") == key and isinstance(job.data.get("ts"), str):
                    return str(job.data["ts"])
        return None

    def posted_by(self, run_id: str, kind: str) -> list[dict[str, str]]:
        """Where the run's jobs of ``kind`` posted their message ({channel, ts} in their data),
        to edit it when the run changes."""
        query = select(Job).where(Job.run_id == run_id, Job.kind == kind).order_by(col(Job.id))
        with self.session() as session:
            return [
                {"channel": str(job.data["channel"]), "ts": str(job.data["ts"])}
                for job in session.exec(query)
                if job.data.get("channel") and job.data.get("ts")
            ]

    def queue_depth(self) -> int:
        with self.session() as session:
            query = select(func.count()).select_from(Job).where(col(Job.done_at).is_(None))
            return int(session.exec(query).one())

    def move_jobs(self, run_id: str, kind: str, due_at: datetime) -> int:
        """Make a run's pending jobs of ``kind`` due at ``due_at`` (Revoke now, Extend)."""
        with self.session() as session:
            result = session.exec(
                update(Job)
                .where(col(Job.run_id) == run_id, col(Job.kind) == kind, col(Job.done_at).is_(None))
                .values(due_at=due_at)
            )
            session.commit()
        self.seal()  # the checkpoint joins the chain at once
        return int(result.rowcount or 0)
