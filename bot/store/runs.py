"""Runs: creating them, moving them between statuses, and the queries over them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.kinds import FINAL, JobStatus, RunKind, RunStatus
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

    def run_by_key(self, key: str) -> Run | None:
        with self.session() as session:
            return session.exec(select(Run).where(Run.idempotency_key == key)).first()

    def get_run(self, run_id: str) -> Run | None:
        with self.session() as session:
            return session.get(Run, run_id)

    def runs_by_prefix(self, prefix: str, limit: int = 10) -> list[Run]:
        """Runs whose id starts with ``prefix`` (messages show 8 characters), newest first."""
        query = (
            select(Run)
            .where(col(Run.id).startswith(prefix, autoescape=True))
            .order_by(col(Run.created_at).desc(), col(Run.id).desc())
            .limit(limit)
        )
        with self.session() as session:
            return list(session.exec(query))

    def runs(self, limit: int = 50) -> list[Run]:
        with self.session() as session:
            query = (
                select(Run).order_by(col(Run.created_at).desc(), col(Run.id).desc()).limit(limit)
            )
            return list(session.exec(query))

    def runs_of(self, user_id: str, limit: int = 5) -> list[Run]:
        with self.session() as session:
            query = (
                select(Run)
                .where(Run.user_id == user_id)
                .order_by(col(Run.created_at).desc(), col(Run.id).desc())
                .limit(limit)
            )
            return list(session.exec(query))

    def grants_of(self, user_id: str, since: datetime, limit: int = 20) -> list[Run]:
        """The user's time-limited runs that succeeded and were due to expire after ``since``,
        soonest first: the candidates for "My access" (their reverts decide the rest)."""
        query = (
            select(Run)
            .where(
                Run.user_id == user_id,
                Run.kind == RunKind.RUN,
                Run.status == RunStatus.SUCCESS,
                col(Run.expires_at) >= since,
            )
            .order_by(col(Run.expires_at))
            .limit(limit)
        )
        with self.session() as session:
            return list(session.exec(query))

    def runs_on(self, service_id: str, limit: int = 5) -> list[Run]:
        """The latest runs on a service (reverts and tests left out), newest first."""
        query = (
            select(Run)
            .where(
                Run.service_id == service_id,
                Run.kind == RunKind.RUN,
                col(Run.is_test).is_(False),
            )
            .order_by(col(Run.created_at).desc(), col(Run.id).desc())
            .limit(limit)
        )
        with self.session() as session:
            return list(session.exec(query))

    def children(self, run_id: str, kind: str | None = None) -> list[Run]:
        query = select(Run).where(Run.parent_id == run_id).order_by(col(Run.created_at))
        if kind:
            query = query.where(Run.kind == kind)
        with self.session() as session:
            return list(session.exec(query))

    def started_since(
        self, action_id: str, user_id: str, since: datetime, limit: int
    ) -> list[datetime]:
        """When ``user_id`` started runs of the action since ``since``, newest first.

        Reverts are started by the bot, not the user: they do not count.
        """
        with self.session() as session:
            query = (
                select(Run.created_at)
                .where(
                    Run.action_id == action_id,
                    Run.user_id == user_id,
                    col(Run.created_at) >= since,
                    Run.kind != RunKind.REVERT,
                )
                .order_by(col(Run.created_at).desc())
                .limit(limit)
            )
            return list(session.exec(query))

    def runs_page(
        self,
        *,
        action_id: str | None = None,
        user_id: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 20,
    ) -> list[Run]:
        """Runs newest first, filtered; ``before`` is the keyset cursor (created_at, id).

        Keyset pagination uses the (filter, created_at) indexes, so page 1000 costs what
        page 1 does.
        """
        query = select(Run)
        if action_id:
            query = query.where(Run.action_id == action_id)
        if user_id:
            query = query.where(Run.user_id == user_id)
        if status:
            query = query.where(Run.status == status)
        if since:
            query = query.where(col(Run.created_at) >= since)
        if before:
            stamp, run_id = before
            query = query.where(
                (col(Run.created_at) < stamp)
                | ((col(Run.created_at) == stamp) & (col(Run.id) < run_id))
            )
        query = query.order_by(col(Run.created_at).desc(), col(Run.id).desc()).limit(limit)
        with self.session() as session:
            return list(session.exec(query))

    def action_stats(self, since: datetime) -> dict[str, tuple[int, int]]:
        """Runs and failures per action since a time (tests excluded)."""
        failed = func.sum(case((col(Run.status).in_(["FAILURE", "TIMED_OUT"]), 1), else_=0))
        query = (
            select(Run.action_id, func.count(), failed)
            .where(col(Run.created_at) >= since, col(Run.is_test).is_(False))
            .group_by(Run.action_id)
        )
        with self.session() as session:
            return {row[0]: (int(row[1]), int(row[2] or 0)) for row in session.exec(query)}


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
