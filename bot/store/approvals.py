"""Approvers' decisions on runs that wait for approval."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.store.engine import Database
from bot.store.models import ApprovalDecision, AuditEvent, Run


class ApprovalRepository(Database):
    """Approval decisions, one per approver and run."""

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
