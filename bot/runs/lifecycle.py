"""What people see of a run: the status message, thread notes, the result, the deadline.

[announce] status message ─▶ [progress] notes ─▶ [report] the threaded result
async runs: accepted ─▶ RUNNING (status message updated) ─▶ [deadline] TIMED_OUT
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.catalog import Action
from bot.jobs import Blueprint, Retry, backoff
from bot.kinds import JobKind, RunStatus
from bot.outcomes import Outcome, seconds_text
from bot.runs.context import Context
from bot.store import Job, Run
from bot.store.models import utcnow

log = logging.getLogger(__name__)

jobs: Blueprint[Context] = Blueprint()


@jobs.handler(JobKind.ANNOUNCE)
async def announce(ctx: Context, job: Job) -> None:
    loaded = await ctx.load(job)
    if loaded is None or loaded.run.message_ts or loaded.action is None:
        return
    try:
        await ctx.notifier.started(loaded.run, loaded.action, loaded.service)
    except Exception as exc:  # Slack down: the job table keeps it until it works
        raise Retry(backoff(job.attempts, 2.0, 120.0), f"posting failed: {exc}") from None


@jobs.handler(JobKind.PROGRESS)
async def progress(ctx: Context, job: Job) -> None:
    loaded = await ctx.load(job)
    if loaded is None:
        return
    await ctx.wait_for(loaded.run, job, JobKind.ANNOUNCE, JobKind.PROGRESS)
    # A keyed note (the retries) is one message, edited as it changes.
    key = job.data.get("key")
    earlier = await ctx.db(ctx.store.note_ts, loaded.run.id, key) if key else None
    posted = await ctx.notifier.progress(loaded.run, job.data.get("text", ""), earlier)
    if key and posted and posted != earlier:
        await ctx.db(ctx.store.set_job_data, job.id, {**job.data, "ts": posted})


@jobs.handler(JobKind.REPORT)
async def report(ctx: Context, job: Job) -> None:
    loaded = await ctx.load(job)
    if loaded is None or loaded.action is None:
        return
    await ctx.wait_for(loaded.run, job, JobKind.ANNOUNCE, JobKind.PROGRESS)
    outcome = Outcome.from_dict(job.data.get("outcome") or {})
    await ctx.notifier.finished(loaded.run, loaded.action, outcome, job.data.get("view_id"))


@jobs.handler(JobKind.DEADLINE)
async def deadline(ctx: Context, job: Job) -> None:
    loaded = await ctx.load(job)
    if loaded is None or loaded.run.final:
        return
    action = loaded.action
    team = loaded.catalog.team(action.owner) if action else None
    owner = team.name if team else "the action's owners"
    waited = seconds_text(action.timeout_after) if action else "the deadline"
    source = "the CI run" if action and action.backend else "the receiver"
    outcome = Outcome(
        False,
        f"No final status from {source} within {waited}; the run is marked as "
        f"timed out. Contact {owner} if the operation may still be in progress.",
        error="timed_out",
        final_status=RunStatus.TIMED_OUT.value,
    )
    await ctx.finish(loaded.run, outcome, RunStatus.TIMED_OUT, job.data.get("view_id"))


def deadline_job(action: Action, view_id: str | None) -> Job:
    """Times an async run out if no final callback comes within `timeout_after`."""
    return Job(
        kind=JobKind.DEADLINE,
        due_at=utcnow() + timedelta(seconds=action.timeout_after),
        data={"view_id": view_id},
    )


async def accepted(
    ctx: Context, run: Run, action: Action, outcome: Outcome, view_id: str | None
) -> None:
    """An async receiver took the run on: RUNNING until it calls back or the deadline."""
    moved = await ctx.db(
        ctx.store.transition,
        run.id,
        RunStatus.RUNNING.value,
        "accepted",
        {"http_status": outcome.status},
        jobs=[deadline_job(action, view_id)],
        allowed_from=[RunStatus.PENDING.value],
    )
    if moved is not None:
        await update_running(
            ctx, moved, action, "Accepted; waiting for the receiver to report back.", []
        )


async def update_running(
    ctx: Context, run: Run, action: Action, message: str, links: list[dict[str, str]]
) -> None:
    redact = ctx.redactor(run.id)
    try:
        await ctx.notifier.running(run, action, redact(message), redact(links))
    except Exception as exc:  # cosmetic: the final report is what must arrive
        log.warning("run %s: could not update the status message: %s", run.id, exc)
