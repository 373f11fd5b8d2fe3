"""The audit log: writing and reading events, and retention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select

from bot.store import chain
from bot.store.audit_chain import AuditChainRepository
from bot.store.models import ApprovalDecision, AuditEvent, Job, Run


class AuditLog(AuditChainRepository):
    """Append-only audit events, and retention, which cuts the hash chain it builds on."""

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

    def events(self, run_id: str | None = None, *, kind: str | None = None) -> list[AuditEvent]:
        """Audit events in the order they were written, filtered by run and kind."""
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if run_id is not None:
            query = query.where(AuditEvent.run_id == run_id)
        if kind is not None:
            query = query.where(AuditEvent.kind == kind)
        with self.session() as session:
            return list(session.exec(query))

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
                session.exec(delete(Job).where(col(Job.run_id).in_(ids)))
                session.exec(delete(ApprovalDecision).where(col(ApprovalDecision.run_id).in_(ids)))
                session.exec(delete(Run).where(col(Run.id).in_(ids)))
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
            result = session.exec(delete(AuditEvent).where(col(AuditEvent.seq) <= last_cut.seq))
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
