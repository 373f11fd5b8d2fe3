"""Domain objects as the API shows them (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.access import Decision
from bot.api import models
from bot.catalog import Action, Catalog
from bot.store import AuditEvent, Run
from bot.store.models import ApprovalDecision


def summary(catalog: Catalog, action: Action, decision: Decision) -> models.ActionSummary:
    return models.ActionSummary(
        id=action.id,
        name=action.name,
        description=action.description,
        category=action.category,
        scope=action.scope,
        services=[s.id for s in catalog.services_for(action)] if action.scope == "service" else [],
        needs_approval=action.needs_approval,
        agents=action.agents,
        can_run=models.Permission(allowed=decision.allowed, reason=decision.reason or None),
    )


def _attempts(events: Sequence[AuditEvent]) -> list[models.Attempt]:
    found = []
    for event in events:
        if event.kind not in ("webhook_response", "webhook_error") or event.detail.get("test"):
            continue
        detail = event.detail
        found.append(
            models.Attempt(
                attempt=detail.get("attempt") if isinstance(detail.get("attempt"), int) else None,
                status=detail.get("status") if isinstance(detail.get("status"), int) else None,
                error=str(detail["error"]) if detail.get("error") else None,
                duration_ms=detail.get("duration_ms"),
                at=event.at,
            )
        )
    return found


def _links(run: Run, events: Sequence[AuditEvent]) -> list[models.Link]:
    links = [models.Link(text="Slack message", url=run.permalink)] if run.permalink else []
    for event in events:
        for link in event.detail.get("links") or []:
            if isinstance(link, dict) and isinstance(link.get("url"), str):
                links.append(
                    models.Link(text=str(link.get("text") or link["url"]), url=link["url"])
                )
    return links


def run_out(
    run: Run, decisions: Sequence[ApprovalDecision], events: Sequence[AuditEvent]
) -> models.RunOut:
    return models.RunOut(
        id=run.id,
        action=run.action_id,
        status=run.status,
        user=run.user_id,
        service=run.service_id,
        channel=run.channel_id,
        via=(run.origin or {}).get("via"),
        inputs=run.inputs,
        created_at=run.created_at,
        finished_at=run.finished_at,
        result=run.summary,
        approvals=[
            models.Approval(approver=d.approver, approved=d.approved, comment=d.comment, at=d.at)
            for d in decisions
        ],
        attempts=_attempts(events),
        links=_links(run, events),
    )
