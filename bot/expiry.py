"""Time-limited actions: after the main webhook succeeds, a revert is due at `expires_at`.

The revert is a job in the database (it survives restarts and runs once across
replicas). When due it becomes a child run (kind `revert`, in the same thread) delivered
like any run: signed, retried, audited. A revert that finally fails is escalated to the
owner team's channel. "Revoke now" moves the job to now; "Extend" moves it later, within
the action's `max`, after approval when the action needs approval.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import templates
from bot.catalog import Action, parse_duration
from bot.jobs import Retry, backoff
from bot.outcomes import Outcome, seconds_text
from bot.store import Job, Run, RunStatus
from bot.store.models import utcnow

if TYPE_CHECKING:
    from bot.runs import Runner

log = logging.getLogger(__name__)

REVERT = "revert"  # the revert is due: start the child run
NOTICE = "expiry_notice"  # "expires at 15:30 UTC" with Revoke now / Extend
ESCALATE = "escalate"  # a revert finally failed: tell the owner team
APPLY = "extend_apply"  # an approved extension takes effect


class ExpiryError(ValueError):
    """A duration that cannot be used; the message says why."""


def duration_of(action: Action, context: dict[str, Any], secrets: dict[str, str]) -> float:
    """Seconds until the revert, from `expires.after` (rendered), within `expires.max`."""
    assert action.expires is not None
    text = templates.render_sync(action.expires.after, context, secrets).strip()
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise ExpiryError(f"the expiry {text!r} is not a duration such as 30m or 2h") from exc
    if seconds > action.expires.max:
        raise ExpiryError(f"at most {seconds_text(action.expires.max)}")
    return seconds


def clock(moment: datetime) -> str:
    """`15:30 UTC`, or with the date when it is not today."""
    today = utcnow().date()
    return f"{moment:%H:%M} UTC" if moment.date() == today else f"{moment:%Y-%m-%d %H:%M} UTC"


class ExpiryFlow:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.store = runner.store

    @property
    def handlers(self) -> dict[str, Any]:
        return {
            REVERT: self._revert,
            NOTICE: self._notice,
            ESCALATE: self._escalate,
            APPLY: self._apply,
        }

    def after_success(
        self, action: Action, context: dict[str, Any]
    ) -> tuple[dict[str, Any], list[Job]]:
        """Fields and jobs to add when a time-limited run succeeds."""
        if action.expires is None:
            return {}, []
        try:
            seconds = duration_of(action, context, self.runner.settings.template_secrets)
        except (ExpiryError, templates.TemplateError) as exc:
            log.warning("%s: cannot schedule the revert: %s", action.id, exc)
            return {}, [
                Job(
                    kind=ESCALATE,
                    data={"text": f"The revert could not be scheduled: {exc}. Undo it by hand."},
                )
            ]
        due = utcnow() + timedelta(seconds=seconds)
        return {"expires_at": due}, [Job(kind=REVERT, due_at=due), Job(kind=NOTICE)]

    async def revoke_now(self, run: Run, by: str) -> str | None:
        moved = await asyncio.to_thread(self.store.move_jobs, run.id, REVERT, utcnow())
        if not moved:
            return "it has already been reverted"
        await asyncio.to_thread(
            self.store.record, "revoke_requested", {"by": by}, run_id=run.id, actor=by
        )
        await self._say(run, f"<@{by}> revoked it early: reverting now.")
        self.runner.wake()
        return None

    def extension_problem(self, run: Run, action: Action, seconds: float) -> str | None:
        """Why this extension is not possible, or None."""
        if action.expires is None or run.expires_at is None:
            return "this run does not expire"
        if run.finished_at is None:
            return "this run has not finished yet"
        limit = run.finished_at + timedelta(seconds=action.expires.max)
        if run.expires_at + timedelta(seconds=seconds) > limit:
            return (
                f"it may last at most {seconds_text(action.expires.max)} in all "
                f"(until {clock(limit)})"
            )
        return None

    async def extend(self, run: Run, action: Action, seconds: float, by: str) -> str | None:
        """Move the revert later by ``seconds`` (approval, when needed, comes before this)."""
        problem = self.extension_problem(run, action, seconds)
        if problem:
            return problem
        assert run.expires_at is not None
        due = run.expires_at + timedelta(seconds=seconds)
        if not await asyncio.to_thread(self.store.move_jobs, run.id, REVERT, due):
            return "it has already been reverted"
        await asyncio.to_thread(self.store.update_run, run.id, expires_at=due)
        await asyncio.to_thread(
            self.store.record,
            "extended",
            {"by": by, "seconds": seconds, "expires_at": due.isoformat()},
            run_id=run.id,
            actor=by,
        )
        await self._say(
            run, f"<@{by}> extended it by {seconds_text(seconds)}: it now expires at {clock(due)}."
        )
        return None

    async def _say(self, run: Run, text: str) -> None:
        await asyncio.to_thread(
            self.store.add_jobs, [Job(kind="progress", run_id=run.id, data={"text": text})]
        )
        self.runner.wake()

    # --- jobs ------------------------------------------------------------------------

    async def _revert(self, job: Job) -> None:
        loaded = await self.runner.load(job)
        if loaded is None or loaded[2] is None:
            return
        parent, _, _action, _ = loaded
        child = Run(
            action_id=parent.action_id,
            user_id=parent.user_id,
            user_name=parent.user_name,
            channel_id=parent.channel_id,
            message_ts=parent.message_ts,
            service_id=parent.service_id,
            inputs=parent.inputs,
            parent_id=parent.id,
            kind="revert",
            idempotency_key=f"revert:{parent.id}",
            permalink=parent.permalink,
        )
        detail = {"revert_of": parent.id, "expires_at": str(parent.expires_at)}
        created = await asyncio.to_thread(
            self.store.create_run, child, detail, [Job(kind="deliver")]
        )
        if created:
            log.info("run %s: reverting as run %s", parent.id, child.id)
            self.runner.wake()

    async def _notice(self, job: Job) -> None:
        loaded = await self.runner.load(job)
        if loaded is None or loaded[2] is None or loaded[0].expires_at is None:
            return
        run, _, action, _ = loaded
        await self.runner.wait_for(run, job, "announce", "progress", "report")
        await self.runner.notifier.expiry_notice(run, action)

    async def _escalate(self, job: Job) -> None:
        loaded = await self.runner.load(job)
        if loaded is None or loaded[2] is None:
            return
        run, _, action, _ = loaded
        try:
            await self.runner.notifier.escalate(run, action, job.data.get("text", ""))
        except Exception as exc:
            raise Retry(backoff(job.attempts, 5.0, 600.0), f"escalation failed: {exc}") from None

    async def _apply(self, job: Job) -> None:
        """An approved extension (a child run of kind `extend`) takes effect."""
        loaded = await self.runner.load(job)
        if loaded is None or loaded[2] is None or loaded[0].status != RunStatus.PENDING:
            return
        request, _, action, _ = loaded
        parent = await asyncio.to_thread(self.store.get_run, request.parent_id or "")
        seconds = float(request.inputs.get("seconds") or 0)
        problem = (
            "the run is gone"
            if parent is None
            else await self.extend(parent, action, seconds, request.user_id)
        )
        outcome = Outcome(
            problem is None,
            problem or f"Extended by {seconds_text(seconds)}.",
            error="extend" if problem else None,
        )
        await self.runner.finish(
            request, outcome, RunStatus.SUCCESS if problem is None else RunStatus.FAILURE
        )
