"""Sealing audit events into the hash chain, and reading the chain back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlmodel import col, select

from bot.store import chain
from bot.store.engine import Database
from bot.store.models import AuditChain, AuditEvent


class AuditChainRepository(Database):
    """The hash chain over audit events (see `bot.store.chain`)."""

    def seal(self, limit: int = 1000) -> int:
        """Append up to ``limit`` events not sealed yet to the hash chain; how many it did.

        The head row is locked first (a row lock on PostgreSQL, the write lock on SQLite),
        so sealers on several replicas take turns and each continues from the last one.
        """
        # SQLModel sets __table__ at class creation; its stubs do not declare it.
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
