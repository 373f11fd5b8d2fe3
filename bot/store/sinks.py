"""Where each audit sink (SIEM) has got to in the chain."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.store.engine import Database
from bot.store.models import AuditEvent, AuditSinkCursor, Job, utcnow


class SinkCursors(Database):
    """One cursor and one delivery job per audit sink."""

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
            session.exec(
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
            session.exec(
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
        if first is None or last is None:
            return dict.fromkeys(names, 0)
        return {name: max(0, last - max(cursors.get(name, 0), first - 1)) for name in names}
