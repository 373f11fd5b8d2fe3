"""Runs whose action has a CI `backend:`: dispatch, follow, cancel, report.

[deliver] dispatch ─▶ RUNNING ─▶ [ci_follow] every 5 s … 60 s until the CI run completes
                                   ─▶ finish (ci.* in the result)   or  [deadline] TIMED_OUT
Cancel asks the CI system to cancel; the follower then sees the run end as cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot import templates
from bot.backends import config as ci_config
from bot.backends.api import Audit, CiError, RateLimited
from bot.backends.github import Unfollowable
from bot.backends.state import CiState
from bot.catalog import Action, Backend
from bot.jobs import Blueprint, Retry
from bot.kinds import CiProvider, CiStatus, JobKind, RunKind, RunStatus
from bot.mrkdwn import inert
from bot.outcomes import Outcome
from bot.runs.context import Context, Loaded
from bot.runs.expiry import after_success
from bot.runs.lifecycle import deadline_job, update_running
from bot.runs.sending import extra_context
from bot.store import Job, Run
from bot.store.models import utcnow

log = logging.getLogger(__name__)

jobs: Blueprint[Context] = Blueprint()
SYSTEM = {CiProvider.GITHUB: "GitHub Actions", CiProvider.GITLAB: "GitLab"}


def backend_for(action: Action, run: Run) -> Backend | None:
    """A revert dispatches the action's `expires.backend`, if it has one."""
    if run.kind == RunKind.REVERT and action.expires is not None:
        return action.expires.backend
    return action.backend


def auditor(ctx: Context, run: Run) -> Audit:
    async def audit(kind: str, detail: dict[str, Any]) -> None:
        await ctx.record(kind, detail, run_id=run.id)

    return audit


async def _context(
    ctx: Context, loaded: Loaded, action: Action, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    run = loaded.run
    profile = await ctx.profiles(run.user_id)
    user = {"id": run.user_id, "name": profile.get("name") or run.user_name, **profile}
    context = templates.request_context(
        catalog=loaded.catalog,
        action=action,
        user=user,
        inputs=inputs,
        service=loaded.service,
        run_id=run.id,
    )
    for key, value in (await extra_context(ctx, run)).items():
        if key == "run":
            context["run"].update(value)
        else:
            context[key] = value
    return context


async def dispatch(
    ctx: Context,
    loaded: Loaded,
    action: Action,
    backend: Backend,
    secret: Mapping[str, Any],
    view_id: str | None,
) -> None:
    """Start the CI run (once) and hand it to the follower."""
    run = loaded.run
    done = await ctx.db(ctx.store.events, run.id, kind="ci_dispatched")
    if done:  # dispatched before a restart, not yet following: never dispatch twice
        await _follow(ctx, run, action, dict(done[-1].detail), view_id)
        return
    context = await _context(ctx, loaded, action, {**run.inputs, **secret})
    try:
        target = await ci_config.render(backend, context, ctx.settings.template_secrets)
    except templates.TemplateError as exc:
        await ctx.record("error", {"kind": "template", "error": str(exc)}, run_id=run.id)
        outcome = Outcome(
            False, f"Not started: the backend template failed: {inert(str(exc))}", error="template"
        )
        await ctx.finish(run, outcome, RunStatus.FAILURE, view_id)
        return
    since = (utcnow() - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    follow: dict[str, Any] = {"provider": target.provider.value, "project": target.project}
    follow |= {"workflow": target.workflow, "ref": target.ref, "since": since}
    try:
        follow |= await _send(ctx, run, target)
    except RateLimited as exc:  # nothing was sent: try again when the limit resets
        raise Retry(exc.delay, exc.message, counts=False) from None
    except Unfollowable as exc:
        text = f"{action.name}: {inert(exc.message)}."
        await ctx.finish(run, Outcome(False, text, error="ci_unknown"), RunStatus.FAILURE, view_id)
        return
    except CiError as exc:
        system = SYSTEM[target.provider]
        text = f"{action.name} could not be started in {system}: {inert(exc.message)}."
        outcome = Outcome(False, text, status=exc.status, error="ci")
        await ctx.finish(run, outcome, RunStatus.FAILURE, view_id)
        return
    await ctx.record("ci_dispatched", follow, run_id=run.id)
    await _follow(ctx, run, action, follow, view_id)


async def _send(ctx: Context, run: Run, target: ci_config.Target) -> dict[str, Any]:
    assert ctx.ci is not None
    audit = auditor(ctx, run)
    if target.provider == CiProvider.GITLAB:
        state = await ctx.ci.gitlab.dispatch(target, audit)
        return {"ci_run_id": state.run_id, "url": state.url}
    sent = await ctx.ci.github.dispatch(target, run.id, audit)
    return {"ci_run_id": sent.ci_run_id, "url": sent.url}


async def _follow(
    ctx: Context, run: Run, action: Action, follow: dict[str, Any], view_id: str | None
) -> None:
    first = ctx.settings.CI_POLL_INITIAL_SECONDS
    poll = Job(
        kind=JobKind.CI_FOLLOW,
        due_at=utcnow() + timedelta(seconds=first),
        data={**follow, "delay": first, "view_id": view_id},
    )
    moved = await ctx.db(
        ctx.store.transition,
        run.id,
        RunStatus.RUNNING.value,
        "ci_following",
        {"ci_run_id": follow.get("ci_run_id"), "url": follow.get("url")},
        jobs=[poll, deadline_job(action, view_id)],
        allowed_from=[RunStatus.PENDING.value],
    )
    if moved is not None:
        system = SYSTEM[CiProvider(follow["provider"])]
        await update_running(ctx, moved, action, f"Queued in {system}.", _links(follow))
        ctx.wake()


def _links(follow: Mapping[str, Any]) -> list[dict[str, str]]:
    url = follow.get("url")
    if not url:
        return []
    return [{"text": f"CI run {follow.get('ci_run_id') or ''}".strip(), "url": str(url)}]


def _said(state: CiState, provider: CiProvider) -> str:
    system = SYSTEM[provider]
    if state.status == CiStatus.QUEUED:
        return f"Queued in {system}."
    if state.current:
        return f"In progress in {system}: {state.current}."
    return f"In progress in {system}."


@jobs.handler(JobKind.CI_FOLLOW)
async def follow(ctx: Context, job: Job) -> None:
    loaded = await ctx.load(job)
    if loaded is None or loaded.run.final or loaded.action is None or ctx.ci is None:
        return
    run, action, data = loaded.run, loaded.action, dict(job.data)
    delay = float(data.get("delay") or ctx.settings.CI_POLL_INITIAL_SECONDS)
    longer = min(delay * 2, ctx.settings.CI_POLL_MAX_SECONDS)
    try:
        state = await ctx.ci.observe(data, run.id, auditor(ctx, run))
    except RateLimited as exc:
        raise Retry(max(exc.delay, delay), exc.message, data, counts=False) from None
    except CiError as exc:  # the deadline bounds how long we keep trying
        log.warning("run %s: following the CI run failed: %s", run.id, exc.message)
        raise Retry(longer, exc.message, {**data, "delay": longer}, counts=False) from None
    if state is None:
        raise Retry(longer, "the run has not appeared yet", {**data, "delay": longer}, counts=False)
    data |= {"ci_run_id": state.run_id, "url": state.url}
    if state.status == CiStatus.COMPLETED:
        await _finish(ctx, loaded, action, state, data)
        return
    said = _said(state, CiProvider(data["provider"]))
    if said != data.get("said"):
        data["said"], longer = said, ctx.settings.CI_POLL_INITIAL_SECONDS
        await update_running(ctx, run, action, said, _links(data))
    raise Retry(longer, "", {**data, "delay": longer}, counts=False)


async def _finish(
    ctx: Context, loaded: Loaded, action: Action, state: CiState, data: dict[str, Any]
) -> None:
    run = loaded.run
    status = state.run_status
    base = await _context(ctx, loaded, action, run.inputs)  # secret inputs stay redacted
    duration = state.duration
    outcome = Outcome(
        status == RunStatus.SUCCESS,
        "",
        error=None if status == RunStatus.SUCCESS else f"ci_{state.conclusion}",
        duration_ms=duration * 1000 if duration is not None else None,
        links=_result_links(state),
    )
    outcome.message = await _message(ctx, action, run, base, state, outcome, data)
    fields: dict[str, Any] = {}
    after: list[Job] = []
    if outcome.ok and run.kind == RunKind.RUN:
        fields, after = after_success(ctx, action, base)
    if not outcome.ok and run.kind == RunKind.REVERT:
        text = f"The revert of *{action.name}* (run `{run.parent_id}`) failed: {outcome.message}"
        after.append(Job(kind=JobKind.ESCALATE, data={"text": text}))
    await ctx.record("ci_completed", {"ci": state.context()}, run_id=run.id)
    await ctx.finish(run, outcome, status, data.get("view_id"), jobs=after, fields=fields)


def _result_links(state: CiState) -> list[dict[str, str]]:
    failed = [j for j in state.jobs if j.conclusion not in (None, "success", "skipped")]
    return [{"text": f"CI run {state.run_id}", "url": state.url}] + [
        {"text": j.name, "url": j.url} for j in failed if j.url
    ]


async def _message(
    ctx: Context,
    action: Action,
    run: Run,
    base: Mapping[str, Any],
    state: CiState,
    outcome: Outcome,
    data: Mapping[str, Any],
) -> str:
    default = default_message(action, state, CiProvider(data["provider"]))
    if not action.response_template:
        return default
    context = {
        **base,
        "ci": state.context(),
        "response": {"status": state.conclusion, "body": state.context(), "headers": {}},
        "status": "SUCCESS" if outcome.ok else "FAILURE",
    }
    try:
        text = await templates.render(
            action.response_template, context, ctx.settings.template_secrets, slack=True
        )
    except templates.TemplateError as exc:
        await ctx.record(
            "template_error", {"template": "response", "error": str(exc)}, run_id=run.id
        )
        return f"{default} (The response template failed: {inert(str(exc))}.)"
    return text.strip() or default


def default_message(action: Action, state: CiState, provider: CiProvider) -> str:
    """The conclusion, a link to the run, and links to the jobs that failed."""
    words = {"success": "succeeded", "cancelled": "was cancelled", "timed_out": "timed out"}
    said = words.get(state.conclusion or "", f"failed ({state.conclusion or 'unknown'})")
    text = f"{inert(action.name)} {said} in {SYSTEM[provider]}: [run {state.run_id}]({state.url})"
    if state.duration is not None:
        text += f" after {state.duration:.0f} s"
    failed = [j for j in state.jobs if j.conclusion not in (None, "success", "skipped")]
    if failed and state.conclusion not in ("success", "cancelled"):
        text += ".\nFailed jobs: " + ", ".join(f"[{inert(j.name)}]({j.url})" for j in failed)
    return text + ("" if text.endswith(".") else ".")


async def cancel(ctx: Context, run: Run, by: str) -> str | None:
    """Ask the CI system to cancel a followed run. Returns why not, or None."""
    assert ctx.ci is not None
    pending = await ctx.db(ctx.store.pending_jobs, run.id, JobKind.CI_FOLLOW)
    job = pending[0] if pending else None
    if job is None or not job.data.get("ci_run_id"):
        return "the CI run has not been identified yet; try again in a few seconds"
    data, audit = job.data, auditor(ctx, run)
    project, ci_run_id = str(data["project"]), str(data["ci_run_id"])
    try:
        if data["provider"] == CiProvider.GITLAB:
            await ctx.ci.gitlab.cancel(project, ci_run_id, audit)
        else:
            await ctx.ci.github.cancel(project, ci_run_id, audit)
    except CiError as exc:
        return f"{SYSTEM[CiProvider(data['provider'])]} refused: {exc.message}"
    await ctx.record("ci_cancel_requested", {"by": by, "ci_run_id": ci_run_id}, run_id=run.id)
    system = SYSTEM[CiProvider(data["provider"])]
    await ctx.post(run, f"{ctx.notifier.mention(by)} asked {system} to cancel the run.")
    if job.id is not None and not (job.claimed_until and job.claimed_until > utcnow()):
        initial = ctx.settings.CI_POLL_INITIAL_SECONDS
        await ctx.db(ctx.store.reschedule, job.id, utcnow(), None, {**data, "delay": initial})
    ctx.wake()
    return None
