"""Approvals: a run waits in PENDING_APPROVAL until enough eligible approvers agree.

Jobs: `approval_request` posts the request (approval channel, or a DM to each approver),
`approval_update` redraws it after each decision, `approval_expiry` ends an undecided
request. Decisions are rows with a unique (run, approver) pair, and the move out of
PENDING_APPROVAL is a conditional update: of two replicas deciding at once, one wins, and
the webhook is queued once.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.access import Principal, can_approve
from bot.catalog import Action
from bot.jobs import Blueprint, Retry, backoff
from bot.kinds import JobKind, RunStatus
from bot.mrkdwn import inert
from bot.outcomes import Outcome, seconds_text
from bot.policy import dynamic_approvers
from bot.runs.context import Context
from bot.runs.preview import preview
from bot.store import Job, Run
from bot.store.models import ApprovalDecision, utcnow

log = logging.getLogger(__name__)

jobs: Blueprint[Context] = Blueprint()

PARKED = datetime(9999, 1, 1, tzinfo=UTC)  # not due until an approval releases it
WORK = (JobKind.DELIVER, JobKind.EXTEND_APPLY)  # what an approval releases


def approval_context(decisions: list[ApprovalDecision]) -> dict[str, Any]:
    """`approval.approvers` and `approval.comment` for templates."""
    yes = [d for d in decisions if d.approved]
    return {
        "approvers": [d.approver for d in yes],
        "comment": next((d.comment for d in reversed(yes) if d.comment), ""),
    }


def jobs_for(action: Action, work: Job) -> list[Job]:
    """The jobs a run needing approval starts with.

    ``work`` (the delivery, or an extension) is parked far in the future and released
    by the approval that completes the count, in the same transaction.
    """
    assert action.approval is not None
    due = utcnow() + timedelta(seconds=action.approval.expires_after)
    work.due_at = PARKED
    return [Job(kind=JobKind.APPROVAL_REQUEST), Job(kind=JobKind.APPROVAL_EXPIRY, due_at=due), work]


class ApprovalFlow:
    """Approvers' decisions and the requester's withdrawal."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    jobs_for = staticmethod(jobs_for)

    async def decide(
        self, run: Run, action: Action, approver: str, approved: bool, comment: str = ""
    ) -> str | None:
        """Record a decision (eligibility checked by the caller). Returns why not, or None."""
        ctx = self.ctx
        if run.status != RunStatus.PENDING_APPROVAL:
            return f"this request is already {run.status.lower().replace('_', ' ')}"
        if not await ctx.db(ctx.store.decide, run.id, approver, approved, comment):
            return "you have already decided on this request"
        decisions = await ctx.db(ctx.store.decisions, run.id)
        assert action.approval is not None
        who = ctx.notifier.mention(approver)
        if not approved:
            text = f"Denied by {who}" + (f": {inert(comment)}" if comment else ".")
            await close(ctx, run, RunStatus.DENIED, text, "denied")
            return None
        yes = [d for d in decisions if d.approved]
        need = action.approval.count
        if len(yes) < need:
            said = f": {inert(comment)}" if comment else ""
            await ctx.post(
                run,
                f"Approved by {who}{said} ({len(yes)} of {need}); "
                f"waiting for {need - len(yes)} more.",
            )
            await redraw(ctx, run)
            return None
        await self._release(run, yes)
        return None

    async def _release(self, run: Run, yes: list[ApprovalDecision]) -> None:
        """The count is complete: the parked work is due now."""
        ctx = self.ctx
        now = utcnow()
        moved = await ctx.db(
            ctx.store.transition,
            run.id,
            RunStatus.PENDING.value,
            "approval_granted",
            {"approvers": [d.approver for d in yes]},
            allowed_from=[RunStatus.PENDING_APPROVAL.value],
            close=[JobKind.APPROVAL_EXPIRY],
            due=dict.fromkeys(WORK, now),
        )
        if moved is not None:  # else another replica moved it first: nothing to do
            names = ", ".join(ctx.notifier.mention(d.approver) for d in yes)
            said = "".join(
                f"\n> {ctx.notifier.mention(d.approver)}: {inert(d.comment)}"
                for d in yes
                if d.comment
            )
            await ctx.post(run, f"Approved by {names}. Running it now.{said}")
            await redraw(ctx, run)

    async def withdraw(self, run: Run, by: str) -> str | None:
        if run.status != RunStatus.PENDING_APPROVAL:
            return f"it is already {run.status.lower().replace('_', ' ')}"
        text = f"Withdrawn by {self.ctx.notifier.mention(by)}."
        closed = await close(self.ctx, run, RunStatus.WITHDRAWN, text, "withdrawn")
        return None if closed else "it has just been decided"


async def close(ctx: Context, run: Run, status: RunStatus, text: str, error: str) -> bool:
    """End a request that will not run (denied, withdrawn, expired)."""
    outcome = Outcome(False, text, error=error, final_status=status.value)
    report = Job(kind=JobKind.REPORT, data={"outcome": asdict(outcome)})
    moved = await ctx.db(
        ctx.store.transition,
        run.id,
        status.value,
        error,
        {"text": text},
        jobs=[report, Job(kind=JobKind.APPROVAL_UPDATE)],
        allowed_from=[RunStatus.PENDING_APPROVAL.value],
        close=[JobKind.APPROVAL_EXPIRY, *WORK],
        summary=text,
        finished_at=utcnow(),
    )
    ctx.wake()
    return moved is not None


async def redraw(ctx: Context, run: Run) -> None:
    await ctx.add_jobs(Job(kind=JobKind.APPROVAL_UPDATE, run_id=run.id))


# --- jobs ------------------------------------------------------------------------------


@jobs.handler(JobKind.APPROVAL_REQUEST)
async def request(ctx: Context, job: Job) -> None:
    loaded = await ctx.load(job)
    if loaded is None or loaded.action is None or loaded.run.approval_refs:
        return
    run = loaded.run
    await ctx.wait_for(run, job, JobKind.ANNOUNCE)  # the thread note needs the message
    shown = await preview(ctx, loaded)  # approvers see what they approve
    try:
        refs = await ctx.notifier.request_approval(run, loaded.action, loaded.service, shown)
    except Exception as exc:
        raise Retry(backoff(job.attempts, 2.0, 120.0), f"posting failed: {exc}") from None
    await ctx.db(ctx.store.update_run, run.id, approval_refs=refs)


@jobs.handler(JobKind.APPROVAL_UPDATE)
async def update(ctx: Context, job: Job) -> None:
    loaded = await ctx.load(job)
    if loaded is None or loaded.action is None:
        return
    run = loaded.run
    if not run.approval_refs:
        pending = await ctx.db(ctx.store.pending_jobs, run.id, JobKind.APPROVAL_REQUEST)
        if pending:
            raise Retry(0.2, "waiting for the request to be posted", counts=False)
    decisions = await ctx.db(ctx.store.decisions, run.id)
    shown = await preview(ctx, loaded)
    await ctx.notifier.update_approval(run, loaded.action, decisions, shown)


@jobs.handler(JobKind.APPROVAL_EXPIRY)
async def expire(ctx: Context, job: Job) -> None:
    loaded = await ctx.load(job)
    if loaded is None or loaded.run.status != RunStatus.PENDING_APPROVAL:
        return
    action = loaded.action
    waited = action.approval.expires_after if action and action.approval else 0
    text = f"No decision within {seconds_text(waited)}: the request expired."
    await close(ctx, loaded.run, RunStatus.EXPIRED, text, "expired")


async def awaiting(ctx: Context, who: Principal) -> list[Run]:
    """Requests ``who`` may decide and has not decided yet."""
    catalog = ctx.catalog()
    found = []
    for run in await ctx.db(ctx.store.awaiting_approval):
        action = catalog.action(run.action_id)
        resolved = dynamic_approvers(run.approval_plan)
        if action is None or not can_approve(catalog, action, who, run.user_id, resolved):
            continue
        decided = await ctx.db(ctx.store.decisions, run.id)
        if all(d.approver != who.user_id for d in decided):
            found.append(run)
    return found
