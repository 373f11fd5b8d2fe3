"""Engine, migrations and the queries the rest of the bot needs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, case, delete, event, func, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, create_engine, select

from bot.kinds import JobKind, JobStatus, RunKind
from bot.store import chain
from bot.store.models import (
    FINAL,
    ApprovalDecision,
    AuditChain,
    AuditEvent,
    AuditSinkCursor,
    Job,
    Run,
    SlackAction,
    utcnow,
)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` (as users write it) → the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> Engine:
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = sqlalchemy_url(url)
    return config


def migrate(url: str) -> None:
    """Bring the schema to the latest migration (safe to run from several replicas)."""
    command.upgrade(alembic_config(url), "head")


class Store:
    """Sessions and the run/audit queries. Synchronous: async callers use a thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def ready(self) -> bool:
        """The database answers and its schema is at the latest migration."""
        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        return current == head

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def create_run(self, run: Run, detail: dict[str, Any], jobs: Iterable[Job] = ()) -> bool:
        """Insert a run, its `requested` event and its first jobs in one transaction.

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
            for job in jobs:
                job.run_id = job.run_id or run.id
                session.add(job)
            session.commit()
        return True

    @staticmethod
    def _has_key(session: Session, key: str) -> bool:
        return session.exec(select(Run.id).where(Run.idempotency_key == key)).first() is not None

    def record(
        self,
        kind: str,
        detail: dict[str, Any],
        *,
        run_id: str | None = None,
        action_id: str | None = None,
        actor: str | None = None,
    ) -> None:
        with self.session() as session:
            session.add(
                AuditEvent(
                    run_id=run_id, action_id=action_id, kind=kind, actor=actor, detail=detail
                )
            )
            session.commit()

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
            result = session.exec(query.values(status=status, **fields))  # type: ignore[call-overload]
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
            if close:
                session.exec(  # type: ignore[call-overload]
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
            for kind, when in (due or {}).items():
                session.exec(  # type: ignore[call-overload]
                    update(Job)
                    .where(
                        col(Job.run_id) == run_id, col(Job.kind) == kind, col(Job.done_at).is_(None)
                    )
                    .values(due_at=when)
                )
            for job in jobs:
                job.run_id = job.run_id or run_id
                session.add(job)
            session.commit()
            session.refresh(run)
            return run

    def add_jobs(self, jobs: Iterable[Job]) -> None:
        with self.session() as session:
            for job in jobs:
                session.add(job)
            session.commit()

    # --- the job queue ----------------------------------------------------------------

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
            jobs = list(session.exec(query).scalars())  # type: ignore[call-overload]
            session.commit()
        return sorted(jobs, key=lambda j: (j.due_at, j.id))

    def extend(self, owner: str, job_ids: Iterable[int], lease: float) -> None:
        ids = list(job_ids)
        if not ids:
            return
        with self.session() as session:
            session.exec(  # type: ignore[call-overload]
                update(Job)
                .where(col(Job.id).in_(ids), col(Job.claimed_by) == owner)
                .values(claimed_until=utcnow() + timedelta(seconds=lease))
            )
            session.commit()

    def complete(
        self, job_id: int, error: str | None = None, status: JobStatus = JobStatus.DONE
    ) -> None:
        with self.session() as session:
            session.exec(  # type: ignore[call-overload]
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
            session.exec(update(Job).where(col(Job.id) == job_id).values(**values))  # type: ignore[call-overload]
            session.commit()

    def set_job_data(self, job_id: int | None, data: dict[str, Any]) -> None:
        with self.session() as session:
            session.exec(update(Job).where(col(Job.id) == job_id).values(data=data))  # type: ignore[call-overload]
            session.commit()

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

    def runs_of(self, user_id: str, limit: int = 5) -> list[Run]:
        with self.session() as session:
            query = (
                select(Run)
                .where(Run.user_id == user_id)
                .order_by(col(Run.created_at).desc(), col(Run.id).desc())
                .limit(limit)
            )
            return list(session.exec(query))

    def release(self, owner: str, job_ids: Iterable[int]) -> None:
        """Give claimed jobs back at once (graceful shutdown), rather than at lease end."""
        ids = list(job_ids)
        if not ids:
            return
        with self.session() as session:
            session.exec(  # type: ignore[call-overload]
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

    def queue_depth(self) -> int:
        with self.session() as session:
            query = select(func.count()).select_from(Job).where(col(Job.done_at).is_(None))
            return int(session.exec(query).one())

    def get_run(self, run_id: str) -> Run | None:
        with self.session() as session:
            return session.get(Run, run_id)

    def events(self, run_id: str | None = None, *, kind: str | None = None) -> list[AuditEvent]:
        """Audit events in the order they were written, filtered by run and kind."""
        query = select(AuditEvent).order_by(AuditEvent.id)
        if run_id is not None:
            query = query.where(AuditEvent.run_id == run_id)
        if kind is not None:
            query = query.where(AuditEvent.kind == kind)
        with self.session() as session:
            return list(session.exec(query))

    def runs(self, limit: int = 50) -> list[Run]:
        with self.session() as session:
            query = select(Run).order_by(Run.created_at.desc(), Run.id.desc()).limit(limit)
            return list(session.exec(query))

    # --- approvals ----------------------------------------------------------------------

    def decide(self, run_id: str, approver: str, approved: bool, comment: str) -> bool:
        """Record one approver's decision; False if they decided already."""
        with self.session() as session:
            session.add(
                ApprovalDecision(
                    run_id=run_id, approver=approver, approved=approved, comment=comment[:3000]
                )
            )
            session.add(
                AuditEvent(
                    run_id=run_id,
                    kind="approved" if approved else "denied",
                    actor=approver,
                    detail={"comment": comment[:3000]},
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True

    def decisions(self, run_id: str) -> list[ApprovalDecision]:
        query = (
            select(ApprovalDecision)
            .where(ApprovalDecision.run_id == run_id)
            .order_by(col(ApprovalDecision.id))
        )
        with self.session() as session:
            return list(session.exec(query))

    def awaiting_approval(self, limit: int = 200) -> list[Run]:
        query = (
            select(Run)
            .where(Run.status == "PENDING_APPROVAL")
            .order_by(col(Run.created_at))
            .limit(limit)
        )
        with self.session() as session:
            return list(session.exec(query))

    def move_jobs(self, run_id: str, kind: str, due_at: datetime) -> int:
        """Make a run's pending jobs of ``kind`` due at ``due_at`` (Revoke now, Extend)."""
        with self.session() as session:
            result = session.exec(  # type: ignore[call-overload]
                update(Job)
                .where(col(Job.run_id) == run_id, col(Job.kind) == kind, col(Job.done_at).is_(None))
                .values(due_at=due_at)
            )
            session.commit()
        self.seal()  # the checkpoint joins the chain at once
        return int(result.rowcount or 0)

    def children(self, run_id: str, kind: str | None = None) -> list[Run]:
        query = select(Run).where(Run.parent_id == run_id).order_by(col(Run.created_at))
        if kind:
            query = query.where(Run.kind == kind)
        with self.session() as session:
            return list(session.exec(query))

    # --- admin queries ------------------------------------------------------------------

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

    def events_between(self, since: datetime, until: datetime) -> list[AuditEvent]:
        query = (
            select(AuditEvent)
            .where(col(AuditEvent.at) >= since, col(AuditEvent.at) < until)
            .order_by(col(AuditEvent.id))
        )
        with self.session() as session:
            return list(session.exec(query))

    def purge(self, before: datetime, batch: int = 1000) -> int:
        """Retention: cut the audit chain before ``before``, then remove runs left without events.

        Only a prefix of the chain is removed (events up to the first one at or after
        ``before``), together with a checkpoint event recording the hash at the cut, so the
        rest stays verifiable from there. A run goes once none of its events remain, with
        its jobs and approval decisions, in batches so a backlog never holds long locks.
        """
        self.seal_all()  # only sealed events can be cut with a checkpoint
        removed = self._cut_chain(before)
        while True:
            with self.session() as session:
                has_events = select(AuditEvent.id).where(AuditEvent.run_id == Run.id).exists()
                ids = list(
                    session.exec(
                        select(Run.id).where(col(Run.created_at) < before, ~has_events).limit(batch)
                    )
                )
                if not ids:
                    return removed
                session.exec(delete(Job).where(col(Job.run_id).in_(ids)))  # type: ignore[call-overload]
                session.exec(  # type: ignore[call-overload]
                    delete(ApprovalDecision).where(col(ApprovalDecision.run_id).in_(ids))
                )
                session.exec(delete(Run).where(col(Run.id).in_(ids)))  # type: ignore[call-overload]
                session.commit()
                removed += len(ids)

    def _cut_chain(self, before: datetime) -> int:
        """Remove the chain's events older than ``before``; record the cut as an event."""
        with self.session() as session:
            first_kept = session.exec(
                select(func.min(AuditEvent.seq)).where(col(AuditEvent.at) >= before)
            ).one()
            query = select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)
            if first_kept is not None:
                query = query.where(col(AuditEvent.seq) < first_kept)
            last_cut = session.exec(query).first()
            if last_cut is None:
                return 0
            result = session.exec(  # type: ignore[call-overload]
                delete(AuditEvent).where(col(AuditEvent.seq) <= last_cut.seq)
            )
            session.add(
                AuditEvent(
                    kind=chain.CHECKPOINT,
                    detail={
                        "seq": last_cut.seq,
                        "hash": last_cut.hash,
                        "before": before.isoformat(),
                        "removed": int(result.rowcount or 0),
                    },
                )
            )
            session.commit()
        self.seal()  # the checkpoint joins the chain at once
        return int(result.rowcount or 0)

    # --- actions created in Slack ---------------------------------------------------------

    def slack_actions(self) -> list[SlackAction]:
        with self.session() as session:
            return list(session.exec(select(SlackAction).order_by(col(SlackAction.id))))

    def slack_actions_version(self) -> str:
        """Changes whenever a Slack-created action is added, changed or deleted."""
        with self.session() as session:
            count, latest = session.exec(
                select(func.count(), func.max(SlackAction.updated_at))
            ).one()
        return f"{count}:{latest}"

    def save_slack_action(
        self, action_id: str, document: dict[str, Any], by: str, event: dict[str, Any]
    ) -> None:
        """Create or replace a Slack-created action, with its audit event, atomically."""
        with self.session() as session:
            found = session.get(SlackAction, action_id)
            if found is None:
                found = SlackAction(id=action_id, document=document, created_by=by, updated_by=by)
            else:
                found.document = document
                found.updated_by = by
                found.updated_at = utcnow()
            session.add(found)
            session.add(AuditEvent(action_id=action_id, kind="admin", actor=by, detail=event))
            session.commit()

    def delete_slack_action(self, action_id: str, by: str, event: dict[str, Any]) -> bool:
        with self.session() as session:
            found = session.get(SlackAction, action_id)
            if found is None:
                return False
            session.delete(found)
            session.add(AuditEvent(action_id=action_id, kind="admin", actor=by, detail=event))
            session.commit()
        return True

    # --- the audit chain and its sinks ------------------------------------------------

    def seal(self, limit: int = 1000) -> int:
        """Append up to ``limit`` events not sealed yet to the hash chain; how many it did.

        The head row is locked first (a row lock on PostgreSQL, the write lock on SQLite),
        so sealers on several replicas take turns and each continues from the last one.
        """
        table = AuditEvent.__table__  # type: ignore[attr-defined]
        waiting = select(AuditEvent.id).where(col(AuditEvent.seq).is_(None)).limit(1)
        with self.session() as session:  # usually nothing waits: look before locking
            if session.exec(waiting).first() is None:
                return 0
        with self.session() as session:
            connection = session.connection()
            seq, head = connection.execute(
                update(AuditChain)
                .where(col(AuditChain.id) == 1)
                .values(seq=AuditChain.seq)
                .returning(col(AuditChain.seq), col(AuditChain.hash))
            ).one()
            rows = connection.execute(
                select(*(table.c[name] for name in ("id", *chain.FIELDS)))
                .where(table.c.seq.is_(None))
                .order_by(table.c.id)
                .limit(limit)
            ).all()
            if not rows:
                session.rollback()
                return 0
            values = []
            for row in rows:
                seq, prev = seq + 1, head
                head = chain.event_hash(prev, row)
                values.append({"row_id": row.id, "new_seq": seq, "prev": prev, "new_hash": head})
            connection.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values(
                    seq=bindparam("new_seq"),
                    prev_hash=bindparam("prev"),
                    hash=bindparam("new_hash"),
                ),
                values,
            )
            connection.execute(
                update(AuditChain)
                .where(col(AuditChain.id) == 1)
                .values(seq=seq, prev_hash=values[-1]["prev"], hash=head)
            )
            session.commit()
            return len(rows)

    def seal_all(self, batch: int = 1000) -> int:
        """Seal every event written so far."""
        total = 0
        while (sealed := self.seal(batch)) == batch:
            total += sealed
        return total + sealed

    def chain_head(self) -> AuditChain:
        with self.session() as session:
            head = session.get(AuditChain, 1)
            if head is None:
                raise LookupError("audit_chain has no head row: run `python -m bot migrate`")
            return head

    def chain_events(self, after_seq: int, limit: int) -> list[AuditEvent]:
        """Events with seq above ``after_seq``, in chain order."""
        query = (
            select(AuditEvent)
            .where(col(AuditEvent.seq) > after_seq)
            .order_by(col(AuditEvent.seq))
            .limit(limit)
        )
        with self.session() as session:
            return list(session.exec(query))

    def first_seq(self, since: datetime | None = None) -> int | None:
        """The lowest seq still stored (at or after ``since``)."""
        query = select(func.min(AuditEvent.seq))
        if since is not None:
            query = query.where(col(AuditEvent.at) >= since)
        with self.session() as session:
            return session.exec(query).one()

    def checkpoint(self, cut_seq: int) -> AuditEvent | None:
        """The retention checkpoint that recorded a cut after ``cut_seq``, if stored."""
        query = (
            select(AuditEvent)
            .where(AuditEvent.kind == chain.CHECKPOINT, col(AuditEvent.seq) > cut_seq)
            .order_by(col(AuditEvent.seq))
        )
        with self.session() as session:
            for found in session.exec(query):
                if found.detail.get("seq") == cut_seq:
                    return found
        return None

    def open_sink(self, sink: str, job: Job) -> bool:
        """Give a sink its cursor and its one delivery job; True if the job was added.

        The cursor row's lock (PostgreSQL; the write lock on SQLite) makes replicas
        starting together add one job per sink, not one each.
        """
        with self.session() as session:
            if session.get(AuditSinkCursor, sink) is None:
                session.add(AuditSinkCursor(sink=sink))
            try:
                session.commit()  # also ends the read, so the UPDATE below starts afresh
            except IntegrityError:  # another replica added it just now
                session.rollback()
            session.exec(  # type: ignore[call-overload]
                update(AuditSinkCursor)
                .where(col(AuditSinkCursor.sink) == sink)
                .values(updated_at=AuditSinkCursor.updated_at)
            )
            pending = session.exec(
                select(Job.id).where(
                    Job.kind == job.kind,
                    col(Job.done_at).is_(None),
                    col(Job.data)["sink"].as_string() == sink,
                )
            ).first()
            if pending is not None:
                session.rollback()
                return False
            session.add(job)
            session.commit()
            return True

    def sink_position(self, sink: str) -> int:
        with self.session() as session:
            found = session.get(AuditSinkCursor, sink)
            return found.seq if found else 0

    def advance_sink(self, sink: str, seq: int) -> None:
        """Move a sink's cursor forward to ``seq`` (never back: a late duplicate can't rewind)."""
        with self.session() as session:
            session.exec(  # type: ignore[call-overload]
                update(AuditSinkCursor)
                .where(col(AuditSinkCursor.sink) == sink, col(AuditSinkCursor.seq) < seq)
                .values(seq=seq, updated_at=utcnow())
            )
            session.commit()

    def sink_lags(self, sinks: Iterable[str]) -> dict[str, int]:
        """Events each sink has not received yet (seq has no gaps past the retention cut)."""
        names = list(sinks)
        with self.session() as session:
            first, last = session.exec(
                select(func.min(AuditEvent.seq), func.max(AuditEvent.seq))
            ).one()
            cursors = dict(
                session.exec(
                    select(AuditSinkCursor.sink, AuditSinkCursor.seq).where(
                        col(AuditSinkCursor.sink).in_(names)
                    )
                ).all()
            )
        if last is None:
            return dict.fromkeys(names, 0)
        return {name: max(0, last - max(cursors.get(name, 0), first - 1)) for name in names}

    def close(self) -> None:
        self.engine.dispose()
