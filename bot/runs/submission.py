"""Starting and stopping runs: an admitted submission stored with its jobs, an admin's
test send, a cancellation, and the audit of a refusal.

Who may run what is decided before this, by the one admission (bot/admission.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bot import redaction, templates, tracing
from bot.access import Decision
from bot.catalog import Action, Catalog, Service
from bot.kinds import JobKind, RunKind, RunStatus
from bot.outcomes import Outcome
from bot.policy import CONDITION_FALSE, Plan
from bot.redaction import REDACTED, redact_headers
from bot.runs import ci
from bot.runs.approvals import jobs_for
from bot.runs.context import Context
from bot.runs.results import render_result
from bot.runs.sending import send
from bot.store import Job, Run
from bot.store.models import utcnow
from bot.webhooks import delivery, render

log = logging.getLogger(__name__)

# (run, response, error, the result as the thread would say it: None for an async action)
TestResult = tuple[Run, delivery.Response | None, str | None, Outcome | None]


@dataclass
class Submission:
    action: Action
    user_id: str
    user_name: str
    channel_id: str | None
    inputs: dict[str, Any]
    service: Service | None = None
    idempotency_key: str | None = None
    view_id: str | None = None  # the modal to update with the outcome
    parent_id: str | None = None  # "Run again" of this run; the run an extension extends
    kind: RunKind = RunKind.RUN  # or EXTEND
    thread_of: Run | None = None  # an extension is discussed in its run's thread
    needs_approval: bool | None = None  # None: as the plan, else the action, says
    origin: dict[str, Any] | None = None  # not asked in Slack: API or MCP, token, agent
    plan: Plan | None = None  # the approval resolved at admission; None: the action's own
    thread_ts: str | None = None  # started from a message: reply in its thread

    @property
    def approval(self) -> bool:
        """Whether this run waits for approvers."""
        if self.needs_approval is not None:
            return self.needs_approval
        return self.plan.waits if self.plan is not None else self.action.needs_approval


def _via(origin: dict[str, Any] | None) -> dict[str, Any]:
    """How the run was asked for, for its `requested` event (no request fingerprint)."""
    if not origin:
        return {}
    return {k: origin[k] for k in ("via", "token", "agent") if origin.get(k)}


def secret_inputs(action: Action, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        i.identifier: inputs[i.identifier]
        for i in action.inputs
        if i.type == "secret" and inputs.get(i.identifier)
    }


def _run_of(
    ctx: Context, submission: Submission, stored: dict[str, Any], sealed: str | None
) -> Run:
    action = submission.action
    run = Run(
        action_id=action.id,
        user_id=submission.user_id,
        user_name=submission.user_name,
        channel_id=submission.channel_id,
        service_id=submission.service.id if submission.service else None,
        inputs=ctx.redact(stored),
        idempotency_key=submission.idempotency_key,
        parent_id=submission.parent_id,
        kind=submission.kind,
        sealed=sealed,
        origin=submission.origin,
        thread_ts=submission.thread_ts,
    )
    if submission.thread_of is not None:
        thread = submission.thread_of
        run.channel_id, run.message_ts = thread.channel_id, thread.message_ts
        run.permalink = thread.permalink
    if submission.plan is not None:
        run.approval_plan = submission.plan.to_json()
    if submission.approval:
        run.status = RunStatus.PENDING_APPROVAL
    return run


@tracing.traced("run admission", lambda run: {"run.id": run.id} if run else {})
async def submit(ctx: Context, submission: Submission) -> Run | None:
    """Store the run with its jobs in one transaction. None for a duplicate submission."""
    action = submission.action
    secret = secret_inputs(action, submission.inputs)
    # Secret inputs are stored only encrypted, on the run, until it is final. Here they
    # are redacted by field: matching their values would also blank out other inputs.
    stored = {**submission.inputs, **dict.fromkeys(secret, REDACTED)}
    run = _run_of(ctx, submission, stored, ctx.vault.seal(secret) if secret else None)
    detail = ctx.redact(
        {
            "action": action.id,
            "service": run.service_id,
            "channel": run.channel_id,
            "inputs": stored,
            "parent_id": submission.parent_id,
            **_via(submission.origin),
        }
    )
    extending = submission.kind == RunKind.EXTEND
    work = Job(
        kind=JobKind.EXTEND_APPLY if extending else JobKind.DELIVER,
        data={"view_id": submission.view_id},
    )
    jobs = [Job(kind=JobKind.ANNOUNCE)]
    plan = submission.plan
    if submission.approval:
        jobs += jobs_for(action, work)
    elif plan is not None and plan.auto is not None:  # still posted, marked auto-approved
        jobs += [Job(kind=JobKind.APPROVAL_REQUEST), work]
    else:
        jobs.append(work)
    if not await ctx.db(ctx.store.create_run, run, detail, jobs, _plan_events(run, plan)):
        log.info("duplicate submission %s ignored", submission.idempotency_key)
        return None
    log.info("run %s of %s submitted by %s", run.id, action.id, run.user_id)
    ctx.wake()
    return run


def _plan_events(run: Run, plan: Plan | None) -> list[tuple[str, str, dict[str, Any]]]:
    """What the approval plan decided without a person, for the audit log."""
    if plan is None:
        return []
    if plan.skipped:
        return [("approval_skipped", run.user_id, {"reason": CONDITION_FALSE})]
    found: list[tuple[str, str, dict[str, Any]]] = []
    if plan.needed:
        detail = {"approvers": plan.approvers, "failed": plan.failed}
        found.append(("approval_planned", run.user_id, detail))
    if plan.auto is not None:
        found.append(("auto_approved", "bot", {"by": "bot", "rule": plan.auto}))
    return found


async def send_test(
    ctx: Context,
    catalog: Catalog,
    action: Action,
    *,
    user: Mapping[str, Any],
    inputs: Mapping[str, Any],
    service: Service | None,
) -> TestResult:
    """An admin's test: one real send, audited as a test run, posted nowhere.

    Returns (run, response, error, outcome); the response is already redacted, and the
    outcome's message is the response template rendered as a real run renders it.
    """
    secret = secret_inputs(action, inputs)
    run = Run(
        action_id=action.id,
        user_id=str(user["id"]),
        user_name=user.get("name") or "",
        service_id=service.id if service else None,
        inputs=ctx.redact({**inputs, **dict.fromkeys(secret, REDACTED)}),
        is_test=True,
    )
    await ctx.db(ctx.store.create_run, run, {"test": True})
    with redaction.scoped(run.id, ctx.run_redactor(run.id, secret)) as redact:
        try:
            rendered = await render.render(
                ctx.settings,
                catalog,
                action,
                run_id=run.id,
                user=user,
                inputs=inputs,
                service=service,
            )
        except render.RenderError as exc:
            await _finish_test(ctx, run, False, str(exc))
            return run, None, str(exc), None
        timeout = action.webhook.timeout if action.webhook else 10.0  # render refuses a backend
        sent = await send(ctx, run, rendered, timeout, 1, test=True)
        if isinstance(sent, delivery.DeliveryError):
            await _finish_test(ctx, run, False, sent.message)
            return run, None, redact(sent.message), None
        ok = 200 <= sent.status < 300
        await _finish_test(ctx, run, ok, f"test: HTTP {sent.status}")
        sent.headers = redact(redact_headers(sent.headers))
        sent.text = redact(sent.text)
        outcome = None
        if not (ok and action.is_async):  # an async result comes later, by callback
            outcome = Outcome(ok, "", status=sent.status, duration_ms=sent.duration_ms)
            body = templates.parse_body(sent.text)
            outcome.message = await render_result(
                ctx, action, rendered.shown_context, outcome, body, sent.headers, run
            )
        return run, sent, None, outcome


async def _finish_test(ctx: Context, run: Run, ok: bool, summary: str) -> None:
    status = RunStatus.SUCCESS if ok else RunStatus.FAILURE
    redacted = ctx.redactor(run.id)(summary)
    await ctx.db(ctx.store.finish_run, run.id, status.value, redacted, {"test": True})


async def cancel(ctx: Context, run_id: str, by: str) -> str | None:
    """Cancel a queued or retrying run. Returns why not, or None when cancelled."""
    pending = await ctx.db(ctx.store.pending_jobs, run_id, JobKind.DELIVER)
    now = utcnow()
    if any(j.claimed_until and j.claimed_until > now for j in pending):
        return "it is being sent right now"
    current = await ctx.db(ctx.store.get_run, run_id)
    action = ctx.catalog().action(current.action_id) if current else None
    following = current is not None and action is not None and current.status == RunStatus.RUNNING
    if following and ctx.ci is not None:
        assert current is not None and action is not None
        if ci.backend_for(action, current) is not None:
            return await ci.cancel(ctx, current, by)
    who = ctx.notifier.mention(by)
    outcome = Outcome(
        False,
        f"Cancelled by {who} before it was sent.",
        error="cancelled",
        final_status=RunStatus.CANCELLED.value,
    )
    report = Job(kind=JobKind.REPORT, data={"outcome": asdict(outcome)})
    run = await ctx.db(
        ctx.store.transition,
        run_id,
        RunStatus.CANCELLED.value,
        "cancelled",
        {"by": by},
        jobs=[report, *_escalation(current, who)],
        allowed_from=[RunStatus.PENDING.value],
        actor=by,
        close=[JobKind.DELIVER],
        finished_at=utcnow(),
        summary="cancelled",
    )
    if run is None:
        return "it has already been sent or has finished"
    ctx.wake()
    return None


def _escalation(run: Run | None, who: str) -> list[Job]:
    """A cancelled revert leaves in place what it should undo: the owners must know."""
    if run is None or run.kind != RunKind.REVERT:
        return []
    text = f"The revert (run `{run.parent_id}`) was cancelled by {who}: undo it by hand."
    return [Job(kind=JobKind.ESCALATE, data={"text": text})]


async def refuse(ctx: Context, action_id: str, user_id: str, decision: Decision, step: str) -> None:
    """Audit a refused attempt to run an action (click, submit, crafted payload)."""
    log.info("refused %s for %s at %s: %s", action_id, user_id, step, decision.reason)
    detail = {"step": step, "reason": decision.reason}
    await ctx.record("refused", detail, action_id=action_id, actor=user_id)
