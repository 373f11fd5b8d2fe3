"""Approve, deny, withdraw; revoke now and extend. Every decision is checked on the server.

Who may decide is checked before these listeners run, by the guards they are wired with
(bot.slack.guards); a listener receives the checked run as ``run`` and its action as
``run_action``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.admission import Refused, Request, Via
from bot.catalog import Action, parse_duration
from bot.kinds import RunKind
from bot.runs import Submission
from bot.runtime import Runtime
from bot.slack import guards
from bot.slack.request import SlackRequest
from bot.slack.views import approvals as views
from bot.slack.views import blocks
from bot.store import Run


def register(app: AsyncApp) -> None:
    def guarded(rule: guards.RunRule) -> list[guards.Middleware]:
        return [guards.run_guard(rule)]

    app.action(views.APPROVE, middleware=guarded(guards.APPROVE))(approve)
    app.action(views.DENY, middleware=guarded(guards.DENY))(ask_reason)
    menu = "approval_menu"
    app.action(menu, matchers=[guards.picked("approve")], middleware=guarded(guards.MENU_APPROVE))(
        approve
    )
    app.action(menu, matchers=[guards.picked("deny")], middleware=guarded(guards.MENU_DENY))(
        ask_reason
    )
    app.action(menu)(ignore)  # any other choice: a forged value, nothing to do
    app.view(views.DENY_MODAL, middleware=guarded(guards.DENY_FORM))(denied)
    app.action(views.WITHDRAW, middleware=guarded(guards.WITHDRAW))(withdraw)
    app.action(views.REVOKE, middleware=guarded(guards.REVOKE))(revoke)
    app.action(views.EXTEND, middleware=guarded(guards.EXTEND))(extend)
    app.view(views.EXTEND_MODAL)(extended)


async def ignore(ack: AsyncAck) -> None:
    await ack()


async def tell(
    slack_request: SlackRequest, client: AsyncWebClient, respond: AsyncRespond, text: str
) -> None:
    """An answer to the clicker alone, on the surface they clicked."""
    if slack_request.response_url:
        await respond(response_type="ephemeral", replace_original=False, text=text)
    else:
        await client.views_open(
            trigger_id=slack_request.trigger_id, view=blocks.notice_modal("Actions", text)
        )


async def approve(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    run_action: Action,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    problem = await runtime.runner.approvals.decide(run, run_action, slack_request.user_id, True)
    if problem:
        await tell(slack_request, client, respond, f"Not recorded: {problem}.")


async def ask_reason(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    run_action: Action,
    client: AsyncWebClient,
) -> None:
    await ack()
    await client.views_open(
        trigger_id=slack_request.trigger_id,
        view=views.deny_modal(run_action, runtime.sealer.seal({"run": run.id})),
    )


async def denied(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, run: Run, run_action: Action
) -> None:
    reason = _typed(slack_request, "reason")
    if not reason.strip():
        await ack(response_action="errors", errors={"reason": "Say why, for the requester."})
        return
    user_id = slack_request.user_id
    problem = await runtime.runner.approvals.decide(run, run_action, user_id, False, reason.strip())
    text = f"Not recorded: {problem}." if problem else "Denied. The requester has been told."
    await ack(response_action="update", view=blocks.notice_modal("Deny", text))


async def withdraw(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    problem = await runtime.runner.approvals.withdraw(run, slack_request.user_id)
    if problem:
        await tell(slack_request, client, respond, f"Can't withdraw: {problem}.")


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


async def extend(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    run_action: Action,
    client: AsyncWebClient,
) -> None:
    await ack()
    meta = runtime.sealer.seal({"run": run.id})
    await client.views_open(
        trigger_id=slack_request.trigger_id,
        view=views.extend_modal(run_action, run, meta, run_action.needs_approval),
    )


async def extended(ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest) -> None:
    """The extension form: admitted like a run (Via.EXTEND), then applied or sent to approval."""
    meta = runtime.sealer.open(slack_request.metadata) or {}
    run = await _run(runtime, str(meta.get("run", "")))
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
    try:
        seconds = parse_duration(_typed(slack_request, "duration"))
    except ValueError as exc:
        await ack(response_action="errors", errors={"duration": str(exc)})
        return
    await _extend(ack, runtime, slack_request, run, action, seconds)


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
    problem = flow.extension_problem(run, action, seconds)
    if problem:
        await ack(response_action="errors", errors={"duration": f"Too long: {problem}."})
        return
    user_id = slack_request.user_id
    if not action.needs_approval:
        problem = await flow.extend(run, action, seconds, user_id)
        note = f"Not extended: {problem}." if problem else "Extended. The thread says so."
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


async def _run(runtime: Runtime, run_id: str) -> Run | None:
    return await asyncio.to_thread(runtime.store.get_run, run_id)


def _typed(slack_request: SlackRequest, block: str) -> str:
    """What was typed in a one-input modal whose block and element share an id."""
    found: Any = (slack_request.state or {}).get("values")
    for key in (block, block, "value"):
        found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, str) else ""
