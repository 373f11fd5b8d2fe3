"""The `deliver` job: send a run's webhook, retry it per its policy, and end the run.

A job may run again after the bot stopped mid-way: a request that went out and was never
settled is sent again only when the action's retry policy allows it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from typing import Any, NoReturn

from bot import metrics, redaction
from bot.catalog import Action
from bot.jobs import MAX_ATTEMPTS, Blueprint, Retry
from bot.kinds import DeliveryErrorKind, JobKind, RunKind, RunStatus
from bot.outcomes import Outcome, seconds_text
from bot.runs import ci, locks
from bot.runs.context import Context, Loaded
from bot.runs.expiry import after_success
from bot.runs.lifecycle import accepted
from bot.runs.results import unknown
from bot.runs.sending import Attempted, attempt, hook_for
from bot.store import AuditEvent, Job, Run
from bot.vault import VaultError

log = logging.getLogger(__name__)

jobs: Blueprint[Context] = Blueprint()
RETRY_NOTE = "retry"  # one thread message for all retries, edited as attempts happen


@jobs.handler(JobKind.DELIVER)
async def deliver(ctx: Context, job: Job) -> None:
    loaded = await ctx.load(job)
    if loaded is None or loaded.run.status != RunStatus.PENDING:
        return  # finished, cancelled or already accepted by an async receiver
    run, view_id = loaded.run, job.data.get("view_id")
    try:
        secret = ctx.secrets_of(run)
        if job.data.get("sealed"):  # queued before secrets moved to the run
            secret = ctx.vault.open(job.data["sealed"])
    except VaultError as exc:
        outcome = Outcome(False, f"Not sent: {exc}.", error="vault")
        await ctx.finish(run, outcome, RunStatus.FAILURE, view_id)
        return
    if loaded.action is None:
        outcome = Outcome(False, "This action was removed from the catalog.", error="gone")
        await ctx.finish(run, outcome, RunStatus.FAILURE, view_id)
        return
    if not await locks.gate(ctx, job, loaded, loaded.action):
        return
    with redaction.scoped(run.id, ctx.run_redactor(run.id, secret)):
        backend = ci.backend_for(loaded.action, run)
        try:
            if backend is not None:
                await ci.dispatch(ctx, loaded, loaded.action, backend, secret, view_id)
            else:
                await _deliver_once(ctx, job, loaded, loaded.action, secret)
        except Retry as retry:
            if loaded.action.concurrency is not None:
                await locks.keep_through(ctx, run.id, retry.delay)
            raise
        except Exception as exc:
            if job.attempts < MAX_ATTEMPTS:
                raise  # the generic job retry; unsettled_attempt keeps it from resending
            await _give_up(ctx, job, run, exc)
    if job.data.get("sealed"):  # delivered or final: the secrets have done their job
        await ctx.db(ctx.store.set_job_data, job.id, {"view_id": view_id})


async def _give_up(ctx: Context, job: Job, run: Run, exc: Exception) -> None:
    """The worker is about to give up on this job: end the run, or nobody ever hears."""
    log.exception("run %s: giving up after %d tries", run.id, job.attempts)
    outcome = Outcome(
        False,
        f"The bot gave up after failing {job.attempts} times ({type(exc).__name__}: "
        f"{exc}). Check with the receiver whether the request went out before running "
        "it again.",
        error="internal",
    )
    await ctx.finish(run, outcome, RunStatus.FAILURE, job.data.get("view_id"))


async def _deliver_once(
    ctx: Context, job: Job, loaded: Loaded, action: Action, secret: Mapping[str, Any]
) -> None:
    run, view_id, number = loaded.run, job.data.get("view_id"), job.attempts
    seen: dict[str, Any] = {}
    unsettled = await unsettled_attempt(ctx, run, number)
    sent = unsettled is None or await may_resend(ctx, run, action, unsettled, number)
    if unsettled is not None and not sent:
        outcome, retryable, wait = unknown(unsettled), False, None
    else:
        inputs = {**run.inputs, **secret}
        outcome, retryable, wait = await attempt(
            ctx, loaded.catalog, action, run, loaded.service, number, inputs, seen
        )
    if outcome.ok and action.is_async:
        await accepted(ctx, run, action, outcome, view_id)
        return
    if not outcome.ok and retryable and number < action.retry.attempts:
        await _retry_later(ctx, run, action, (outcome, retryable, wait), number)
    if not outcome.ok and sent and 1 < number <= action.retry.attempts:
        # The last attempt: the retry note must not still promise one.
        await ctx.post(run, f"{_attempt_failed(outcome, number, action)}; giving up.", RETRY_NOTE)
    status = RunStatus.SUCCESS if outcome.ok else RunStatus.FAILURE
    fields: dict[str, Any] = {}
    follow: list[Job] = []
    if outcome.ok and run.kind == RunKind.RUN and "context" in seen:
        fields, follow = after_success(ctx, action, seen["context"])
    if not outcome.ok and run.kind == RunKind.REVERT:
        text = f"The revert of *{action.name}* (run `{run.parent_id}`) failed: {outcome.message}"
        follow.append(Job(kind=JobKind.ESCALATE, data={"text": text}))
    await ctx.finish(run, outcome, status, view_id, jobs=follow, fields=fields)


async def _retry_later(
    ctx: Context, run: Run, action: Action, attempted: Attempted, number: int
) -> NoReturn:
    """Say so in the thread, audit it, and raise Retry for the worker."""
    outcome, _, wait = attempted
    policy = action.retry
    # Retry-After wins; otherwise the policy's delay plus up to 50% jitter.
    delay = (
        wait
        if wait is not None
        else min(policy.max_delay, policy.delay_for(number) * random.uniform(1.0, 1.5))
    )
    reason = _reason(outcome)
    text = f"{_attempt_failed(outcome, number, action)}, retrying in {seconds_text(delay)}."
    await ctx.db(
        ctx.store.add_jobs,
        [Job(kind=JobKind.PROGRESS, run_id=run.id, data={"text": text, "key": RETRY_NOTE})],
    )
    await ctx.record(
        "retry_scheduled",
        {"attempt": number, "delay_s": round(delay, 3), "reason": reason},
        run_id=run.id,
    )
    metrics.RETRIES.labels(action.id).inc()
    ctx.wake()
    raise Retry(delay, reason)


def _reason(outcome: Outcome) -> str:
    return f"HTTP {outcome.status}" if outcome.status else (outcome.error or "error")


def _attempt_failed(outcome: Outcome, number: int, action: Action) -> str:
    """The retry note's first words: "Attempt 3 of 5 failed (HTTP 503)"."""
    return f"Attempt {number} of {action.retry.attempts} failed ({_reason(outcome)})"


async def unsettled_attempt(ctx: Context, run: Run, number: int) -> AuditEvent | None:
    """The last request sent for this run, if nothing decided what came of it.

    The webhook_request event is written before sending; a retry the policy scheduled
    writes retry_scheduled. A request with neither after it went out and then the bot
    stopped or failed (SIGKILL, a lost lease, an error while handling the answer):
    the generic job retry brought us back here, and it must not send it again by itself.
    """
    if number <= 1:  # the first claim: nothing can have been sent yet
        return None
    events = await ctx.db(ctx.store.events, run.id)
    sent = [e for e in events if e.kind == "webhook_request"]
    if not sent:
        return None
    last = sent[-1].detail.get("attempt")
    settled = any(
        e.kind in ("retry_scheduled", "resent") and e.detail.get("attempt") == last for e in events
    )
    if settled:
        return None
    answer = next(
        (
            e
            for e in reversed(events)
            if e.kind in ("webhook_response", "webhook_error") and e.detail.get("attempt") == last
        ),
        None,
    )
    return answer or sent[-1]


async def may_resend(
    ctx: Context, run: Run, action: Action, unsettled: AuditEvent, number: int
) -> bool:
    """Whether the action's retry policy allows sending the unsettled request again.

    Its result is unknown, as after a timeout, so the policy decides as for a timeout;
    the new send counts as an attempt (and keeps the run's webhook-id).
    """
    previous = unsettled.detail.get("attempt")
    hook = hook_for(action, run)
    timeout = DeliveryErrorKind.TIMEOUT
    if not (number <= action.retry.attempts and action.retry.retries(hook.method, error=timeout)):
        return False
    await ctx.record("resent", {"attempt": previous, "as_attempt": number}, run_id=run.id)
    await ctx.post(
        run,
        f"Attempt {previous} of {action.retry.attempts} was interrupted before its result "
        f"was known; sending it again (attempt {number}).",
        key=RETRY_NOTE,
    )
    return True
