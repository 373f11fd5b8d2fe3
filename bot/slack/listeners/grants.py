"""Time-limited runs: Revoke now, Extend (a select of durations), Retry revert.

Who may press them is checked by the guards they are wired with (bot.slack.guards); a
listener receives the checked run as ``run`` and its action as ``run_action``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.admission import Refused, Request, Via
from bot.catalog import Action
from bot.kinds import RunKind
from bot.runs import Submission
from bot.runs.grants import extension_choices
from bot.runtime import Runtime
from bot.slack import guards
from bot.slack.listeners.approvals import tell
from bot.slack.listeners.cards import publish_home
from bot.slack.request import SlackRequest
from bot.slack.views import blocks, grants
from bot.store import Run


def register(app: AsyncApp) -> None:
    def guarded(rule: guards.RunRule) -> list[guards.Middleware]:
        return [guards.run_guard(rule)]

    app.action(grants.REVOKE, middleware=guarded(guards.REVOKE))(revoke)
    app.action(grants.EXTEND, middleware=guarded(guards.EXTEND))(extend)
    app.action(grants.RETRY_REVERT, middleware=guarded(guards.RETRY_REVERT))(retry_revert)
    app.view(grants.EXTEND_MODAL)(extended)


async def _after(runtime: Runtime, slack_request: SlackRequest, user_id: str) -> None:
    """A button on the Home tab redraws the Home tab: the grant's new state, its buttons."""
    if slack_request.container == "view" and slack_request.view.get("type") == "home":
        await publish_home(runtime, slack_request.user_id)
    elif user_id in runtime.home_users:
        await publish_home(runtime, user_id)


async def revoke(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    problem = await runtime.runner.expiry.revoke_now(run, slack_request.user_id)
    if problem:
        await tell(slack_request, client, respond, f"Can't revoke: {problem}.")
    await _after(runtime, slack_request, run.user_id)


async def retry_revert(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    problem = await runtime.runner.expiry.retry_revert(run, slack_request.user_id)
    if problem:
        await tell(slack_request, client, respond, f"Can't retry the revert: {problem}.")
    await _after(runtime, slack_request, run.user_id)


async def extend(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    run_action: Action,
    client: AsyncWebClient,
) -> None:
    await ack()
    home = slack_request.view.get("type") == "home"
    meta = runtime.sealer.seal({"run": run.id, "home": home})
    view = grants.extend_modal(
        run_action, run, meta, run_action.needs_approval, extension_choices(run, run_action)
    )
    await client.views_open(trigger_id=slack_request.trigger_id, view=view)


async def extended(ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest) -> None:
    """The extension form: admitted like a run (Via.EXTEND), then applied or sent to approval."""
    meta = runtime.sealer.open(slack_request.metadata) or {}
    run = await asyncio.to_thread(runtime.store.get_run, str(meta.get("run", "")))
    action = runtime.catalog().action(run.action_id) if run else None
    if run is None or action is None:
        note = "That run no longer exists."
        await ack(response_action="update", view=blocks.notice_modal("Extend", note))
        return
    user_id = slack_request.user_id
    verdict = await runtime.admission.admit(
        Request(
            action_id=action.id,
            user_id=user_id,
            via=Via.EXTEND,
            channel_id=run.channel_id,
            parent_id=run.id,
        )
    )
    if isinstance(verdict, Refused):
        await runtime.runner.refuse(action.id, user_id, verdict.decision, "extend")
        note = f"You can't extend this run: {verdict.reason}."
        await ack(response_action="update", view=blocks.notice_modal("Extend", note))
        return
    seconds = picked_seconds(slack_request, run, action)
    if seconds is None:  # a forged or stale choice: only what the form offered counts
        error = "Pick one of the durations offered; the run may have changed meanwhile."
        await ack(response_action="errors", errors={grants.DURATION: error})
        return
    await _extend(ack, runtime, slack_request, run, action, seconds)
    if meta.get("home") or run.user_id in runtime.home_users:
        await publish_home(runtime, run.user_id)


def picked_seconds(slack_request: SlackRequest, run: Run, action: Action) -> float | None:
    """The chosen extension, if it is one of the choices the run still has."""
    found: Any = (slack_request.state or {}).get("values")
    for key in (grants.DURATION, grants.DURATION, "selected_option", "value"):
        found = found.get(key) if isinstance(found, dict) else None
    try:
        seconds = float(found) if isinstance(found, str) else math.nan
    except ValueError:
        return None
    offered = {s for _, s in extension_choices(run, action)}
    return seconds if seconds in offered else None


async def _extend(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    action: Action,
    seconds: float,
) -> None:
    """Extend now, or ask the approvers when the action needs approval."""
    flow = runtime.runner.expiry
    user_id = slack_request.user_id
    if not action.needs_approval:
        problem = await flow.extend(run, action, seconds, user_id)
        note = (
            f"Not extended: {problem}."
            if problem
            else "Extended. The run's message shows the new expiry."
        )
        await ack(response_action="update", view=blocks.notice_modal("Extend", note))
        return
    await runtime.runner.submit(
        Submission(
            action=action,
            user_id=user_id,
            user_name=slack_request.user_name,
            channel_id=run.channel_id,
            inputs={"seconds": seconds},
            kind=RunKind.EXTEND,
            parent_id=run.id,
            thread_of=run,
            idempotency_key=f"extend:{slack_request.view_id}",
        )
    )
    note = "Asked the approvers; the thread will say when it is decided."
    await ack(response_action="update", view=blocks.notice_modal("Extend", note))
