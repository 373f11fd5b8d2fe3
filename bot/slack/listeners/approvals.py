"""Approve, deny, withdraw. Every decision is checked on the server.

Who may decide is checked before these listeners run, by the guards they are wired with
(bot.slack.guards); a listener receives the checked run as ``run`` and its action as
``run_action``.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Action
from bot.runtime import Runtime
from bot.slack import guards
from bot.slack.request import SlackRequest
from bot.slack.views import approvals as views
from bot.slack.views import blocks
from bot.slack.views.fallback import text_message
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
    comment = guarded(guards.MENU_APPROVE)
    app.action(menu, matchers=[guards.picked("comment")], middleware=comment)(ask_comment)
    app.action(views.APPROVE_COMMENT, middleware=guarded(guards.APPROVE))(ask_comment)
    app.view(views.APPROVE_MODAL, middleware=guarded(guards.APPROVE_FORM))(approved)
    app.action(menu)(ignore)  # any other choice: a forged value, nothing to do
    app.view(views.DENY_MODAL, middleware=guarded(guards.DENY_FORM))(denied)
    app.action(views.WITHDRAW, middleware=guarded(guards.WITHDRAW))(withdraw)


async def ignore(ack: AsyncAck) -> None:
    await ack()


async def tell(
    slack_request: SlackRequest, client: AsyncWebClient, respond: AsyncRespond, text: str
) -> None:
    """An answer to the clicker alone, on the surface they clicked."""
    if slack_request.response_url:
        await respond(response_type="ephemeral", replace_original=False, **text_message(text))
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


async def ask_comment(
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
        view=views.approve_modal(run_action, runtime.sealer.seal({"run": run.id})),
    )


async def approved(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, run: Run, run_action: Action
) -> None:
    """The approval form: the comment is optional, shown in the thread and audited."""
    comment = _typed(slack_request, "comment").strip()
    user_id = slack_request.user_id
    problem = await runtime.runner.approvals.decide(run, run_action, user_id, True, comment)
    text = f"Not recorded: {problem}." if problem else "Approved. The requester has been told."
    await ack(response_action="update", view=blocks.notice_modal("Approve", text))


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


def _typed(slack_request: SlackRequest, block: str) -> str:
    """What was typed in a one-input modal whose block and element share an id."""
    found: Any = (slack_request.state or {}).get("values")
    for key in (block, block, "value"):
        found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, str) else ""
