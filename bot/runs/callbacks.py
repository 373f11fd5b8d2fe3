"""An async receiver's status updates: `running`, then `success` or `failure`.

The result is typed (`CallbackResult`); the HTTP layer (bot/web.py) chooses the status code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from bot import redaction, templates
from bot.catalog import Action
from bot.kinds import JobKind, RunStatus
from bot.mrkdwn import inert
from bot.outcomes import Outcome
from bot.runs.context import Context
from bot.runs.expiry import after_success
from bot.runs.lifecycle import deadline_job, update_running
from bot.runs.results import render_result
from bot.store import Run
from bot.vault import VaultError

log = logging.getLogger(__name__)

CALLBACK_STATUSES = {"running", "success", "failure"}
LATE_EXCERPT = 200  # characters of a late callback kept in the audit log


class CallbackResult(StrEnum):
    RUNNING = "running"  # noted; the run goes on
    APPLIED = "applied"  # the run is final now
    UNKNOWN_RUN = "unknown_run"
    FINISHED = "finished"  # the run was already final: nothing changed
    INVALID = "invalid"  # the update is not one we understand
    ACTION_GONE = "action_gone"


Reply = tuple[CallbackResult, str]  # what happened, and a message for the receiver


async def callback(ctx: Context, run_id: str, update: Mapping[str, Any], size: int = 0) -> Reply:
    """Apply a receiver's status update.

    A receiver may echo a secret input: what it sends is redacted with the run's secret
    inputs, opened from the database (so any replica, after any restart, can).
    """
    run = await ctx.db(ctx.store.get_run, run_id)
    if run is None:
        return CallbackResult.UNKNOWN_RUN, "unknown run"
    if run.final:
        await _late_callback(ctx, run, update, size)
        return CallbackResult.FINISHED, f"run is already {run.status}"
    try:
        secret = ctx.secrets_of(run)
    except VaultError as exc:
        log.warning("run %s: callback redacted without its secret inputs: %s", run_id, exc)
        secret = {}
    with redaction.scoped(run.id, ctx.run_redactor(run.id, secret)):
        return await _apply(ctx, run, update)


def _links(update: Mapping[str, Any]) -> list[dict[str, str]] | None:
    """The update's links, web ones only; None when they are not a list of {text, url}."""
    links = update.get("links") or []
    if not isinstance(links, list) or not all(
        isinstance(link, dict) and isinstance(link.get("url"), str) for link in links
    ):
        return None
    return [
        {"text": str(link.get("text") or link["url"]), "url": link["url"]}
        for link in links
        if link["url"].startswith(("http://", "https://"))
    ]


async def _apply(ctx: Context, run: Run, update: Mapping[str, Any]) -> Reply:
    status = update.get("status")
    if not isinstance(status, str) or status not in CALLBACK_STATUSES:
        return CallbackResult.INVALID, "status must be one of running, success, failure"
    message = update.get("message")
    links = _links(update)
    if not isinstance(message, str | None) or links is None:
        return CallbackResult.INVALID, "message must be a string and links a list of {text, url}"
    shown = inert(message) if message else None  # receiver text: never a mention or link
    await ctx.record("callback", dict(update), run_id=run.id)
    log.info("run %s: callback %s: %s", run.id, status, message or "")
    action = ctx.catalog().action(run.action_id)
    if action is None:
        return CallbackResult.ACTION_GONE, "the action no longer exists"
    if status == "running":
        await _running(ctx, run, action, shown, links)
        return CallbackResult.RUNNING, "ok"
    return await _final(ctx, run, action, update, shown, links)


async def _running(
    ctx: Context, run: Run, action: Action, shown: str | None, links: list[dict[str, str]]
) -> None:
    if run.status == RunStatus.PENDING:  # the callback beat the 2xx: fine
        # The deadline starts now; the 2xx, when it comes, finds the run RUNNING.
        sending = await ctx.db(ctx.store.pending_jobs, run.id, JobKind.DELIVER)
        view_id = sending[0].data.get("view_id") if sending else None
        await ctx.db(
            ctx.store.transition,
            run.id,
            RunStatus.RUNNING.value,
            "accepted",
            {"via": "callback"},
            jobs=[deadline_job(action, view_id)],
            allowed_from=[RunStatus.PENDING.value],
        )
    await update_running(ctx, run, action, shown or "Running…", links)


async def _final(
    ctx: Context,
    run: Run,
    action: Action,
    update: Mapping[str, Any],
    shown: str | None,
    links: list[dict[str, str]],
) -> Reply:
    ok = update.get("status") == "success"
    catalog = ctx.catalog()
    base = templates.request_context(
        catalog=catalog,
        action=action,
        user={"id": run.user_id, "name": run.user_name},
        inputs=run.inputs,
        service=catalog.service(run.service_id) if run.service_id else None,
        run_id=run.id,
    )
    log_text = update.get("log")
    outcome = Outcome(
        ok,
        "",
        status=200 if ok else 500,
        error=None if ok else "failure",
        links=links,
        log=log_text if isinstance(log_text, str) else None,
    )
    if action.response_template:
        data = update.get("data") or {}
        outcome.message = await render_result(ctx, action, base, outcome, data, {}, run)
    else:
        outcome.message = shown or (f"{action.name} succeeded." if ok else f"{action.name} failed.")
    if shown and action.response_template and shown not in outcome.message:
        outcome.message = f"{outcome.message}\n{shown}"
    fields, jobs = after_success(ctx, action, base) if ok else ({}, [])
    status = RunStatus.SUCCESS if ok else RunStatus.FAILURE
    if await ctx.finish(run, outcome, status, jobs=jobs, fields=fields) is None:
        return CallbackResult.FINISHED, "run already finished"
    return CallbackResult.APPLIED, "ok"


async def _late_callback(ctx: Context, run: Run, update: Mapping[str, Any], size: int) -> None:
    """Audit a callback to a finished run by a short summary only: it changes nothing."""
    status = update.get("status")
    text = ctx.redactor(run.id)(json.dumps(update))
    summary = {
        "status": status if isinstance(status, str) and status in CALLBACK_STATUSES else None,
        "run_status": run.status,
        "bytes": size,
        "excerpt": text[:LATE_EXCERPT],  # redacted whole first: a cut can't split a secret
    }
    await ctx.record("late_callback", summary, run_id=run.id)
