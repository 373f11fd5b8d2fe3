"""Runs: creating them and moving them between statuses (reads: `run_queries`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.kinds import FINAL, JobStatus
from bot.store import locks
from bot.store.engine import Database
from bot.store.models import AuditEvent, Job, Run, utcnow


class RunRepository(Database):
    """Runs, with their events and first jobs written in the same transaction."""

    def create_run(
        self,
        run: Run,
        detail: dict[str, Any],
        jobs: Iterable[Job] = (),
        events: Iterable[tuple[str, str, dict[str, Any]]] = (),
    ) -> bool:
        """Insert a run, its `requested` event, further (kind, actor, detail) events and its
        first jobs in one transaction.

        False when a run with the same idempotency key exists (a redelivered submission).
        """
        with self.session() as session:
            session.add(run)
            try:
                session.flush()  # the run row first: events reference it
            except IntegrityError:
                session.rollback()
                if run.idempotency_key and self._has_key(session, run.idempotency_key):
                    return False
                raise
            session.add(
                AuditEvent(
                    run_id=run.id,
                    action_id=run.action_id,
                    kind="requested",
                    actor=run.user_id,
                    detail=detail,
                )
            )
            for kind, actor, more in events:
                session.add(
                    AuditEvent(
                        run_id=run.id, action_id=run.action_id, kind=kind, actor=actor, detail=more
                    )
                )
            for job in jobs:
                job.run_id = job.run_id or run.id
                session.add(job)
            session.commit()
        return True

    @staticmethod
    def _has_key(session: Session, key: str) -> bool:
        return session.exec(select(Run.id).where(Run.idempotency_key == key)).first() is not None

    def update_run(self, run_id: str, **fields: Any) -> Run:
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise KeyError(run_id)
            for name, value in fields.items():
                setattr(run, name, value)
            session.add(run)
            session.commit()
            return run

    def finish_run(
        self,
        run_id: str,
        status: str,
        summary: str,
        detail: dict[str, Any],
        jobs: Iterable[Job] = (),
        close: Iterable[str] = (),
        **fields: Any,
    ) -> Run | None:
        """Move a run to a final status, with its event and follow-up jobs, atomically.

        Only a run that is not final yet moves: of a callback, a deadline and a cancel
        racing on several replicas, exactly one wins; the others get None.
        """
        return self.transition(
            run_id,
            status,
            "finished",
            detail,
            jobs=jobs,
            close=close,
            summary=summary[:3000],
            finished_at=utcnow(),
            **fields,
        )

    def transition(
        self,
        run_id: str,
        status: str,
        kind: str,
        detail: dict[str, Any],
        *,
        jobs: Iterable[Job] = (),
        allowed_from: Iterable[str] | None = None,
        actor: str | None = None,
        close: Iterable[str] = (),
        due: Mapping[str, datetime] | None = None,
        **fields: Any,
    ) -> Run | None:
        """Change a run's status if it is in ``allowed_from`` (default: any non-final).

        Pending jobs of the kinds in ``close`` (a deadline, a queued delivery) are closed in
        the same transaction: they have nothing left to do. Pending jobs of the kinds in
        ``due`` are moved to the given time (a parked delivery, released by an approval).
        """
        with self.session() as session:
            query = update(Run).where(col(Run.id) == run_id)
            if allowed_from is None:
                query = query.where(col(Run.status).not_in([s.value for s in FINAL]))
            else:
                query = query.where(col(Run.status).in_(list(allowed_from)))
            if status in FINAL:  # the secret inputs have done their job
                fields["sealed"] = None
            result = session.exec(query.values(status=status, **fields))
            if result.rowcount != 1:
                session.rollback()
                return None
            run = session.get(Run, run_id)
            assert run is not None
            session.add(
                AuditEvent(
                    run_id=run_id,
                    action_id=run.action_id,
                    kind=kind,
                    actor=actor,
                    detail={"status": status, **detail},
                )
            )
            if status in FINAL:  # ended in any way: its concurrency slot is free
                locks.release(session, run_id)
            _settle_jobs(session, run_id, status, close, due or {})
            for job in jobs:
                job.run_id = job.run_id or run_id
                session.add(job)
            session.commit()
            session.refresh(run)
            return run


def _settle_jobs(
    session: Session,
    run_id: str,
    status: str,
    close: Iterable[str],
    due: Mapping[str, datetime],
) -> None:
    """Close the run's pending jobs of the kinds in ``close``; move those in ``due``."""
    if close:
        session.exec(
            update(Job)
            .where(col(Job.run_id) == run_id, col(Job.done_at).is_(None))
            .where(col(Job.kind).in_(list(close)))
            .values(
                done_at=utcnow(),
                claimed_until=None,
                last_error=f"run {status}",
                data={},
                status=JobStatus.DONE,
            )
        )
    for kind, when in due.items():
        session.exec(
            update(Job)
            .where(col(Job.run_id) == run_id, col(Job.kind) == kind, col(Job.done_at).is_(None))
            .values(due_at=when)
        )
