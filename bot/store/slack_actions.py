"""Actions created in Slack: the same document as the YAML, kept in a table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot.store.engine import Database
from bot.store.models import AuditEvent, SlackAction, utcnow


class SlackActionRepository(Database):
    """Slack-created actions, each change with its audit event."""

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
