"""Time-limited actions: after the main webhook succeeds, a revert is due at `expires_at`.

The revert is a job in the database (it survives restarts and runs once across
replicas). When due it becomes a child run (kind `revert`, in the same thread) delivered
like any run: signed, retried, audited. A revert that finally fails is escalated to the
owner team's channel, and the status message offers "Retry revert". "Revoke now" moves
the job to now; "Extend" moves it later, within the action's `max`, after approval when the
action needs approval. A warning job DMs the requester `expires.warn_before` ahead.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bot import templates
from bot.catalog import Action, parse_duration
from bot.jobs import Blueprint, Retry, backoff
from bot.kinds import GrantState, JobKind, RunKind, RunStatus
from bot.outcomes import Outcome, seconds_text
from bot.runs.context import Context
from bot.runs.grants import grant_state
from bot.store import Job, Run
from bot.store.models import utcnow

log = logging.getLogger(__name__)

jobs: Blueprint[Context] = Blueprint()


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


def after_success(
    ctx: Context, action: Action, context: dict[str, Any]
) -> tuple[dict[str, Any], list[Job]]:
    """Fields and jobs to add when a time-limited run succeeds."""
    if action.expires is None:
        return {}, []
    try:
        seconds = duration_of(action, context, ctx.settings.template_secrets)
    except (ExpiryError, templates.TemplateError) as exc:
        log.warning("%s: cannot schedule the revert: %s", action.id, exc)
        text = f"The revert could not be scheduled: {exc}. Undo it by hand."
        return {}, [Job(kind=JobKind.ESCALATE, data={"text": text})]
    due = utcnow() + timedelta(seconds=seconds)
    follow = [Job(kind=JobKind.REVERT, due_at=due), Job(kind=JobKind.EXPIRY_NOTICE)]
    warning = warning_due(action, due)
    if warning is not None and warning > utcnow():
        follow.append(Job(kind=JobKind.EXPIRY_WARNING, due_at=warning))
    return {"expires_at": due}, follow


def warning_due(action: Action, expires_at: datetime) -> datetime | None:
    """When to warn the requester that the grant is about to expire (None: never)."""
    if action.expires is None or action.expires.warn_before is None:
        return None
    return expires_at - timedelta(seconds=action.expires.warn_before)


def extension_problem(run: Run, action: Action, seconds: float) -> str | None:
    """Why this extension is not possible, or None."""
    if action.expires is None or run.expires_at is None:
        return "this run does not expire"
    if run.finished_at is None:
        return "this run has not finished yet"
    limit = run.finished_at + timedelta(seconds=action.expires.max)
    if run.expires_at + timedelta(seconds=seconds) > limit:
        return (
            f"it may last at most {seconds_text(action.expires.max)} in all (until {clock(limit)})"
        )
    return None


class ExpiryFlow:
    """What people do to a time-limited run: revoke it now, extend it, retry its revert."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    extension_problem = staticmethod(extension_problem)

    async def state(self, run: Run) -> GrantState:
        ctx = self.ctx
        pending = await ctx.db(ctx.store.pending_jobs, run.id, JobKind.REVERT)
        reverts = await ctx.db(ctx.store.children, run.id, RunKind.REVERT)
        due = min((j.due_at for j in pending), default=None)
        return grant_state(due, reverts, utcnow())

    async def revoke_now(self, run: Run, by: str) -> str | None:
        ctx = self.ctx
        if not await ctx.db(ctx.store.move_jobs, run.id, JobKind.REVERT, utcnow()):
            state = await self.state(run)
            if state == GrantState.REVERT_FAILED:  # a failed revert: pressing again retries
                return await self.retry_revert(run, by)
            return ALREADY.get(state, "it is being reverted right now")
        await ctx.db(ctx.store.record, "revoke_requested", {"by": by}, run_id=run.id, actor=by)
        await ctx.post(run, f"{ctx.notifier.mention(by)} revoked it early: reverting now.")
        await self.refresh(run)
        return None

    async def retry_revert(self, run: Run, by: str) -> str | None:
        """Send the revert again after it failed: a new revert run in the same thread."""
        ctx = self.ctx
        state = await self.state(run)
        if state != GrantState.REVERT_FAILED:
            return ALREADY.get(state, "it is being reverted right now")
        tries = len(await ctx.db(ctx.store.children, run.id, RunKind.REVERT))
        await ctx.add_jobs(Job(kind=JobKind.REVERT, run_id=run.id, data={"retry": tries}))
        await ctx.db(ctx.store.record, "revert_retried", {"by": by}, run_id=run.id, actor=by)
        await ctx.post(run, f"{ctx.notifier.mention(by)} is retrying the revert.")
        await self.refresh(run)
        return None

    async def extend(self, run: Run, action: Action, seconds: float, by: str) -> str | None:
        """Move the revert later by ``seconds`` (approval, when needed, comes before this)."""
        ctx = self.ctx
        problem = extension_problem(run, action, seconds)
        if problem:
            return problem
        assert run.expires_at is not None
        due = run.expires_at + timedelta(seconds=seconds)
        if not await ctx.db(ctx.store.move_jobs, run.id, JobKind.REVERT, due):
            return ALREADY.get(await self.state(run), "it is being reverted right now")
        run = await ctx.db(ctx.store.update_run, run.id, expires_at=due)
        await self._rewarn(run, action, due)
        detail = {"by": by, "seconds": seconds, "expires_at": due.isoformat()}
        await ctx.db(ctx.store.record, "extended", detail, run_id=run.id, actor=by)
        await self.refresh(run)
        return None

    async def _rewarn(self, run: Run, action: Action, expires_at: datetime) -> None:
        """The warning follows the new expiry; one already sent is sent again, later."""
        ctx = self.ctx
        warning = warning_due(action, expires_at)
        if warning is None or warning <= utcnow():
            return
        if not await ctx.db(ctx.store.move_jobs, run.id, JobKind.EXPIRY_WARNING, warning):
            await ctx.add_jobs(Job(kind=JobKind.EXPIRY_WARNING, run_id=run.id, due_at=warning))

    async def refresh(self, run: Run) -> None:
        """The status message shows the grant as it now stands (cosmetic: never fails)."""
        action = self.ctx.catalog().action(run.action_id)
        current = await self.ctx.db(self.ctx.store.get_run, run.id)
        if action is None or current is None:
            return
        try:
            await self.ctx.notifier.refresh(current, action)
        except Exception as exc:
            log.warning("run %s: status message not refreshed: %s", run.id, exc)


ALREADY = {
    GrantState.REVERTED: "it has already been reverted",
    GrantState.REVERTING: "it is being reverted right now",
    GrantState.ACTIVE: "it has not been reverted yet; use Revoke now",
}


# --- jobs ------------------------------------------------------------------------------


@jobs.handler(JobKind.REVERT)
async def revert(ctx: Context, job: Job) -> None:
    """The revert is due: start it as a child run in the same thread."""
    loaded = await ctx.load(job)
    if loaded is None or loaded.action is None:
        return
    parent = loaded.run
    retry = int(job.data.get("retry") or 0)
    child = Run(
        action_id=parent.action_id,
        user_id=parent.user_id,
        user_name=parent.user_name,
        channel_id=parent.channel_id,
        message_ts=parent.message_ts,
        service_id=parent.service_id,
        inputs=parent.inputs,
        parent_id=parent.id,
        kind=RunKind.REVERT,
        idempotency_key=f"revert:{parent.id}" + (f":{retry}" if retry else ""),
        permalink=parent.permalink,
    )
    detail = {"revert_of": parent.id, "expires_at": str(parent.expires_at), "retry": retry}
    deliver = [Job(kind=JobKind.DELIVER)]
    if await ctx.db(ctx.store.create_run, child, detail, deliver):
        log.info("run %s: reverting as run %s", parent.id, child.id)
        ctx.wake()
        await ExpiryFlow(ctx).refresh(parent)  # "Reverting now…", its buttons gone


@jobs.handler(JobKind.EXPIRY_NOTICE)
async def notice(ctx: Context, job: Job) -> None:
    """`expires at 15:30 UTC`, with Revoke now and Extend."""
    loaded = await ctx.load(job)
    if loaded is None or loaded.action is None or loaded.run.expires_at is None:
        return
    thread = (JobKind.ANNOUNCE, JobKind.PROGRESS, JobKind.REPORT)
    await ctx.wait_for(loaded.run, job, *thread)
    await ctx.notifier.expiry_notice(loaded.run, loaded.action)


@jobs.handler(JobKind.EXPIRY_WARNING)
async def warning(ctx: Context, job: Job) -> None:
    """Shortly before the revert: a DM to the requester offering Extend (once: a job)."""
    loaded = await ctx.load(job)
    if loaded is None or loaded.action is None or loaded.run.expires_at is None:
        return
    run = loaded.run
    if await ExpiryFlow(ctx).state(run) != GrantState.ACTIVE:
        return  # revoked or reverted meanwhile: nothing to warn of
    posted = await ctx.notifier.expiry_warning(run, loaded.action)
    await ctx.db(ctx.store.set_job_data, job.id, {**job.data, **posted})


@jobs.handler(JobKind.ESCALATE)
async def escalate(ctx: Context, job: Job) -> None:
    """A revert finally failed (or could not be scheduled): tell the owner team."""
    loaded = await ctx.load(job)
    if loaded is None or loaded.action is None:
        return
    try:
        await ctx.notifier.escalate(loaded.run, loaded.action, job.data.get("text", ""))
    except Exception as exc:
        raise Retry(backoff(job.attempts, 5.0, 600.0), f"escalation failed: {exc}") from None


@jobs.handler(JobKind.EXTEND_APPLY)
async def apply_extension(ctx: Context, job: Job) -> None:
    """An approved extension (a child run of kind `extend`) takes effect."""
    loaded = await ctx.load(job)
    if loaded is None or loaded.action is None or loaded.run.status != RunStatus.PENDING:
        return
    request = loaded.run
    parent = await ctx.db(ctx.store.get_run, request.parent_id or "")
    seconds = float(request.inputs.get("seconds") or 0)
    problem = (
        "the run is gone"
        if parent is None
        else await ExpiryFlow(ctx).extend(parent, loaded.action, seconds, request.user_id)
    )
    outcome = Outcome(
        problem is None,
        problem or f"Extended by {seconds_text(seconds)}.",
        error="extend" if problem else None,
    )
    status = RunStatus.SUCCESS if problem is None else RunStatus.FAILURE
    await ctx.finish(request, outcome, status)
