"""Concurrency locks: slots of a key taken by a conditional write, held as leases.

A run asks for a slot with `take_lock`. The unique (key, slot) pair makes two replicas
taking one slot impossible on SQLite and PostgreSQL alike: the second write fails and
that run waits. Waiting runs get a free slot in the order they were created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.kinds import FINAL, JobKind, RunStatus
from bot.store.engine import Database
from bot.store.models import Job, Run, RunLock, utcnow


@dataclass(frozen=True)
class Holder:
    """A run holding a slot of a key, as people are told about it."""

    run_id: str
    user_id: str
    user_name: str
    permalink: str | None
    label: str


@dataclass(frozen=True)
class UserLock:
    """One of a user's runs holding or waiting for a key, as their Home tab lists it."""

    run_id: str
    action_id: str
    label: str
    holding: bool
    since: datetime  # waiting: since it joined the queue; holding: since it took its slot


def _live(now: datetime) -> ColumnElement[bool]:
    """A holder still counts: its run is not final, and its lease holds (an async run
    accepted by its receiver holds until it ends; its deadline ends it)."""
    return and_(
        col(Run.status).not_in([s.value for s in FINAL]),
        or_(
            col(Run.status) != RunStatus.PENDING,
            col(RunLock.expires_at).is_(None),
            col(RunLock.expires_at) >= now,
        ),
    )


class LockRepository(Database):
    def take_lock(
        self, run_id: str, key: str, label: str, limit: int, queued_at: datetime, lease: float
    ) -> list[Holder] | None:
        """Take (or keep) a slot of ``key`` for the run: None when it holds one now;
        otherwise the runs holding the key, and the run keeps its place in the queue."""
        now = utcnow()
        with self.session() as session:
            mine = session.get(RunLock, run_id)
            if mine is None:
                mine = RunLock(run_id=run_id, key=key, label=label, queued_at=queued_at)
                session.add(mine)
                session.commit()
            if mine.slot is not None:
                mine.expires_at = now + timedelta(seconds=lease)
                session.add(mine)
                session.commit()
                return None
            self._drop_stale(session, key, now)
            holders = self._holders(session, key, now)
            free = sorted(set(range(limit)) - {slot for slot, _ in holders})
            ahead = self._ahead(session, mine)
            if ahead >= len(free):
                return [h for _, h in holders]
            # The n-th in the queue takes the n-th free slot: the runs ahead take the others.
            taken = update(RunLock).where(
                col(RunLock.run_id) == run_id, col(RunLock.slot).is_(None)
            )
            # queued_at has ordered the queue; a holder keeps when it took its slot instead.
            values = {
                "slot": free[ahead],
                "expires_at": now + timedelta(seconds=lease),
                "queued_at": now,
            }
            try:
                session.exec(taken.values(**values))
                session.commit()
            except IntegrityError:  # another replica took that slot first: wait our turn
                session.rollback()
                return [h for _, h in self._holders(session, key, now)]
        return None

    def lock_holders(self, key: str) -> list[Holder]:
        with self.session() as session:
            return [h for _, h in self._holders(session, key, utcnow())]

    def locks_of(self, user_id: str, limit: int = 10) -> list[UserLock]:
        """The user's unfinished runs holding or waiting for a key, the longest first."""
        query = (
            select(RunLock, Run)
            .join(Run, col(Run.id) == col(RunLock.run_id))
            .where(Run.user_id == user_id, col(Run.status).not_in([s.value for s in FINAL]))
            .order_by(col(RunLock.queued_at), col(RunLock.run_id))
            .limit(limit)
        )
        with self.session() as session:
            return [
                UserLock(run.id, run.action_id, lock.label, lock.slot is not None, lock.queued_at)
                for lock, run in session.exec(query)
            ]

    def hold_lock(self, run_id: str, until: datetime) -> None:
        """Keep a holder's lease until ``until`` (a delivery waiting to retry)."""
        with self.session() as session:
            query = update(RunLock).where(
                col(RunLock.run_id) == run_id, col(RunLock.slot).isnot(None)
            )
            session.exec(query.values(expires_at=until))
            session.commit()

    @staticmethod
    def _holders(session: Session, key: str, now: datetime) -> list[tuple[int, Holder]]:
        query = (
            select(RunLock, Run)
            .join(Run, col(Run.id) == col(RunLock.run_id))
            .where(RunLock.key == key, col(RunLock.slot).isnot(None), _live(now))
            .order_by(col(RunLock.slot))
        )
        return [
            (
                int(lock.slot or 0),
                Holder(run.id, run.user_id, run.user_name, run.permalink, lock.label),
            )
            for lock, run in session.exec(query)
        ]

    @staticmethod
    def _drop_stale(session: Session, key: str, now: datetime) -> None:
        """Free the slots of holders whose lease ran out before they were sent (a crashed
        replica). Runs that end free their slot themselves, in the same transaction."""
        expired = col(RunLock.expires_at) < now
        stale = (
            select(RunLock.run_id)
            .join(Run, col(Run.id) == col(RunLock.run_id))
            .where(RunLock.key == key, col(RunLock.slot).isnot(None), expired)
            .where(Run.status == RunStatus.PENDING)
        )
        ids = list(session.exec(stale))
        if ids:  # the lease is checked again: a holder may have renewed it meanwhile
            query = delete(RunLock).where(col(RunLock.run_id).in_(ids), expired)
            session.exec(query)
            session.commit()

    @staticmethod
    def _ahead(session: Session, mine: RunLock) -> int:
        """Runs waiting for the key that came first."""
        earlier = or_(
            col(RunLock.queued_at) < mine.queued_at,
            and_(col(RunLock.queued_at) == mine.queued_at, col(RunLock.run_id) < mine.run_id),
        )
        query = (
            select(func.count())
            .select_from(RunLock)
            .join(Run, col(Run.id) == col(RunLock.run_id))
            .where(RunLock.key == mine.key, col(RunLock.slot).is_(None), earlier)
            .where(col(Run.status).not_in([s.value for s in FINAL]))
        )
        return int(session.exec(query).one())


def release(session: Session, run_id: str) -> None:
    """A run ended: free its slot (or its place in the queue) and wake the runs waiting
    for the key, in the transaction that ends it."""
    lock = session.get(RunLock, run_id)
    if lock is None:
        return
    waiting = select(RunLock.run_id).where(
        col(RunLock.key) == lock.key, col(RunLock.slot).is_(None)
    )
    session.exec(
        update(Job)
        .where(
            col(Job.run_id).in_(waiting),
            col(Job.kind) == JobKind.DELIVER,
            col(Job.done_at).is_(None),
        )
        .where(col(Job.claimed_until).is_(None))
        .values(due_at=utcnow())
    )
    session.exec(delete(RunLock).where(col(RunLock.run_id) == run_id))


def renew(session: Session, job_ids: list[int], owner: str, lease: float) -> None:
    """Holders whose jobs a live worker is running keep their lease."""
    runs = select(Job.run_id).where(col(Job.id).in_(job_ids), Job.claimed_by == owner)
    session.exec(
        update(RunLock)
        .where(col(RunLock.run_id).in_(runs), col(RunLock.slot).isnot(None))
        .values(expires_at=utcnow() + timedelta(seconds=lease))
    )
