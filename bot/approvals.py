"""Approvals: a run waits in PENDING_APPROVAL until enough eligible approvers agree.

Jobs: `approval_request` posts the request (approval channel, or a DM to each approver),
`approval_update` redraws it after each decision, `approval_expiry` ends an undecided
request. Decisions are rows with a unique (run, approver) pair, and the move out of
PENDING_APPROVAL is a conditional update: of two replicas deciding at once, one wins, and
the webhook is queued once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.catalog import Action
from bot.jobs import Retry, backoff
from bot.mrkdwn import inert
from bot.outcomes import Outcome, seconds_text
from bot.store import Job, Run, RunStatus
from bot.store.models import ApprovalDecision, utcnow

if TYPE_CHECKING:
    from bot.runs import Runner

log = logging.getLogger(__name__)

PARKED = datetime(9999, 1, 1, tzinfo=UTC)  # not due until an approval releases it
REQUEST = "approval_request"
UPDATE = "approval_update"
EXPIRY = "approval_expiry"


def approval_context(decisions: list[ApprovalDecision]) -> dict[str, Any]:
    """`approval.approvers` and `approval.comment` for templates."""
    yes = [d for d in decisions if d.approved]
    return {
        "approvers": [d.approver for d in yes],
        "comment": next((d.comment for d in reversed(yes) if d.comment), ""),
    }


class ApprovalFlow:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.store = runner.store

    @property
    def handlers(self) -> dict[str, Any]:
        return {REQUEST: self._request, UPDATE: self._update, EXPIRY: self._expire}

    def jobs_for(self, action: Action, work: Job) -> list[Job]:
        """The jobs a run needing approval starts with.

        ``work`` (the delivery, or an extension) is parked far in the future and released
        by the approval that completes the count, in the same transaction.
        """
        assert action.approval is not None
        due = utcnow() + timedelta(seconds=action.approval.expires_after)
        work.due_at = PARKED
        return [Job(kind=REQUEST), Job(kind=EXPIRY, due_at=due), work]

    async def decide(
        self, run: Run, action: Action, approver: str, approved: bool, comment: str = ""
    ) -> str | None:
        """Record a decision (eligibility checked by the caller). Returns why not, or None."""
        if run.status != RunStatus.PENDING_APPROVAL:
            return f"this request is already {run.status.lower().replace('_', ' ')}"
        fresh = await asyncio.to_thread(self.store.decide, run.id, approver, approved, comment)
        if not fresh:
            return "you have already decided on this request"
        decisions = await asyncio.to_thread(self.store.decisions, run.id)
        assert action.approval is not None
        if not approved:
            await self._close(
                run,
                RunStatus.DENIED,
                f"Denied by <@{approver}>" + (f": {inert(comment)}" if comment else "."),
                "denied",
            )
            return None
        yes = [d for d in decisions if d.approved]
        need = action.approval.count
        if len(yes) < need:
            await self._post(
                run,
                f"Approved by <@{approver}> ({len(yes)} of {need}); "
                f"waiting for {need - len(yes)} more.",
            )
            await self._redraw(run)
            return None
        names = ", ".join(f"<@{d.approver}>" for d in yes)
        now = utcnow()
        moved = await asyncio.to_thread(
            self.store.transition,
            run.id,
            RunStatus.PENDING.value,
            "approval_granted",
            {"approvers": [d.approver for d in yes]},
            allowed_from=[RunStatus.PENDING_APPROVAL.value],
            close=[EXPIRY],
            due={"deliver": now, "extend_apply": now},
        )
        if moved is not None:  # else another replica moved it first: nothing to do
            await self._post(run, f"Approved by {names}. Running it now.")
            await self._redraw(run)
            self.runner.wake()
        return None

    async def withdraw(self, run: Run, by: str) -> str | None:
        if run.status != RunStatus.PENDING_APPROVAL:
            return f"it is already {run.status.lower().replace('_', ' ')}"
        closed = await self._close(run, RunStatus.WITHDRAWN, f"Withdrawn by <@{by}>.", "withdrawn")
        return None if closed else "it has just been decided"

    async def _close(self, run: Run, status: RunStatus, text: str, error: str) -> bool:
        outcome = Outcome(False, text, error=error, final_status=status.value)
        report = Job(kind="report", data={"outcome": asdict(outcome)})
        moved = await asyncio.to_thread(
            self.store.transition,
            run.id,
            status.value,
            error,
            {"text": text},
            jobs=[report, Job(kind=UPDATE)],
            allowed_from=[RunStatus.PENDING_APPROVAL.value],
            close=[EXPIRY, "deliver", "extend_apply"],
            summary=text,
            finished_at=utcnow(),
        )
        self.runner.wake()
        return moved is not None

    async def _post(self, run: Run, text: str) -> None:
        await asyncio.to_thread(
            self.store.add_jobs, [Job(kind="progress", run_id=run.id, data={"text": text})]
        )
        self.runner.wake()

    async def _redraw(self, run: Run) -> None:
        await asyncio.to_thread(self.store.add_jobs, [Job(kind=UPDATE, run_id=run.id)])
        self.runner.wake()

    # --- jobs ------------------------------------------------------------------------

    async def _request(self, job: Job) -> None:
        loaded = await self.runner.load(job)
        if loaded is None or loaded[2] is None or loaded[0].approval_refs:
            return
        run, _, action, service = loaded
        await self.runner.wait_for(run, job, "announce")  # the thread note needs the message
        try:
            refs = await self.runner.notifier.request_approval(run, action, service)
        except Exception as exc:
            raise Retry(backoff(job.attempts, 2.0, 120.0), f"posting failed: {exc}") from None
        await asyncio.to_thread(self.store.update_run, run.id, approval_refs=refs)

    async def _update(self, job: Job) -> None:
        loaded = await self.runner.load(job)
        if loaded is None or loaded[2] is None:
            return
        run, _, action, _ = loaded
        if not run.approval_refs and await asyncio.to_thread(
            self.store.pending_jobs, run.id, REQUEST
        ):
            raise Retry(0.2, "waiting for the request to be posted", counts=False)
        decisions = await asyncio.to_thread(self.store.decisions, run.id)
        await self.runner.notifier.update_approval(run, action, decisions)

    async def _expire(self, job: Job) -> None:
        loaded = await self.runner.load(job)
        if loaded is None or loaded[0].status != RunStatus.PENDING_APPROVAL:
            return
        run, _, action, _ = loaded
        waited = action.approval.expires_after if action and action.approval else 0
        await self._close(
            run,
            RunStatus.EXPIRED,
            f"No decision within {seconds_text(waited)}: the request expired.",
            "expired",
        )
