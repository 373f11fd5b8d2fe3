"""Who may press which button: Bolt listener middleware and matchers on bot.access.

A guarded listener runs only for someone the access policy allows. Anyone else gets
the refusal on the surface they used (the form, their ephemeral reply, or a notice modal
on the Home tab) and the refusal is audited. Listeners never check access themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import ALLOWED, Decision, Principal, can_approve, can_control, is_admin
from bot.catalog import Action, Catalog
from bot.kinds import RunKind
from bot.policy import dynamic_approvers
from bot.runtime import Runtime
from bot.slack.request import SlackRequest
from bot.slack.views import blocks
from bot.slack.views.fallback import text_message
from bot.store import Run

Middleware = Callable[..., Awaitable[BoltResponse | None]]

NOT_ADMIN = (
    "Sorry, `/actions-admin` is only for the bot's admins. Admins are listed under `admins` "
    "in the actions config; use `/actions` to browse and run actions."
)


async def say_no(
    req: SlackRequest,
    ack: AsyncAck,
    respond: AsyncRespond | None,
    client: AsyncWebClient,
    text: str | None,
    title: str = "Actions",
) -> BoltResponse:
    """Refuse on the surface the request came from; the returned ack ends the request."""
    if req.kind == "view_submission":
        return await ack(response_action="update", view=blocks.notice_modal(title, text or ""))
    response = await ack()
    if text and req.response_url and respond is not None:
        await respond(response_type="ephemeral", replace_original=False, **text_message(text))
    elif text and req.trigger_id:
        await client.views_open(trigger_id=req.trigger_id, view=blocks.notice_modal(title, text))
    return response


def admin_only(step: str, *, quiet: bool = False) -> Middleware:
    """Listener middleware: the bot's admins pass; anyone else is told NOT_ADMIN.

    ``quiet``: the refusal is audited but not answered (a click with nowhere to answer).
    """

    async def admins_only(
        runtime: Runtime,
        slack_request: SlackRequest,
        ack: AsyncAck,
        respond: AsyncRespond | None,
        client: AsyncWebClient,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        catalog = runtime.catalog()
        user_id = slack_request.user_id
        if is_admin(catalog, await runtime.directory.principal(user_id, catalog)):
            await next()
            return None
        await runtime.runner.refuse(
            "/actions-admin", user_id, Decision(False, "not an admin"), step
        )
        text = None if quiet else NOT_ADMIN
        return await say_no(slack_request, ack, respond, client, text, "Not allowed")

    return admins_only


Decide = Callable[[Catalog, Action | None, Principal, Run], Decision]
RunId = Callable[[Runtime, SlackRequest], str]


@dataclass(frozen=True)
class RunRule:
    """Who may act on the run a button or form names, and how a refusal reads."""

    step: str  # the audit log's name for the attempt
    refusal: str  # "You can't approve this", followed by the reason
    decide: Decide
    run_id: RunId
    missing: str | None = None  # what to say when the run is gone (None: nothing)
    title: str = "Actions"  # of the notice modal that answers a refused form
    needs_action: bool = True  # False: the run's action may have left the catalog


def run_guard(rule: RunRule) -> Middleware:
    """Listener middleware: load the run the request names and apply ``rule`` to the user.

    The run and its action reach the listener as its ``run`` and ``run_action`` arguments.
    """

    async def guard(
        runtime: Runtime,
        slack_request: SlackRequest,
        context: AsyncBoltContext,
        ack: AsyncAck,
        respond: AsyncRespond | None,
        client: AsyncWebClient,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        say = (slack_request, ack, respond, client)
        run = await asyncio.to_thread(runtime.store.get_run, rule.run_id(runtime, slack_request))
        catalog = runtime.catalog()
        action = catalog.action(run.action_id) if run else None
        if run is None or (action is None and rule.needs_action):
            return await say_no(*say, rule.missing, rule.title)
        user_id = slack_request.user_id
        decision = rule.decide(
            catalog, action, await runtime.directory.principal(user_id, catalog), run
        )
        if not decision:
            await runtime.runner.refuse(run.action_id, user_id, decision, rule.step)
            return await say_no(*say, f"{rule.refusal}: {decision.reason}.", rule.title)
        context["run"], context["run_action"] = run, action
        await next()
        return None

    return guard


def picked(choice: str) -> Callable[..., Awaitable[bool]]:
    """A matcher: the overflow or select option picked starts with ``choice:``."""

    async def matches(slack_request: SlackRequest) -> bool:
        return slack_request.value.partition(":")[0] == choice

    return matches


# Where the run's id is: a button's value, a menu option's "verb:id", a sealed form.


def clicked(runtime: Runtime, req: SlackRequest) -> str:
    return req.value


def from_menu(runtime: Runtime, req: SlackRequest) -> str:
    return req.value.partition(":")[2]


def sealed(runtime: Runtime, req: SlackRequest) -> str:
    return str((runtime.sealer.open(req.metadata) or {}).get("run", ""))


# The rules, built on bot.access.


def approver(catalog: Catalog, action: Action | None, who: Principal, run: Run) -> Decision:
    assert action is not None  # guaranteed by needs_action
    return can_approve(catalog, action, who, run.user_id, dynamic_approvers(run.approval_plan))


def requester_or_admin(reason: str) -> Decide:
    def decide(catalog: Catalog, action: Action | None, who: Principal, run: Run) -> Decision:
        return (
            ALLOWED
            if who.user_id == run.user_id or is_admin(catalog, who)
            else Decision(False, reason)
        )

    return decide


def controller(verb: str) -> Decide:
    """Revoke now, Extend, Retry revert: the requester, an approver or an admin."""

    def decide(catalog: Catalog, action: Action | None, who: Principal, run: Run) -> Decision:
        assert action is not None
        if can_control(catalog, action, who, run.user_id, dynamic_approvers(run.approval_plan)):
            return ALLOWED
        return Decision(False, f"only the requester, an approver or an admin can {verb} it")

    return decide


def viewer(catalog: Catalog, action: Action | None, who: Principal, run: Run) -> Decision:
    """A run's details: its requester, the action's approvers, or an admin."""
    if who.user_id == run.user_id or is_admin(catalog, who):
        return ALLOWED
    if action is not None and action.approval and can_approve(catalog, action, who, ""):
        return ALLOWED
    return Decision(
        False, "only the person who ran it, the action's approvers or an admin can see them"
    )


def canceller(catalog: Catalog, action: Action | None, who: Principal, run: Run) -> Decision:
    """The person who started a run, or an admin; a revert only an admin."""
    mine = requester_or_admin("only the person who started a run, or an admin, can cancel it")
    decision = mine(catalog, action, who, run)
    if decision and run.kind == RunKind.REVERT and not is_admin(catalog, who):
        return Decision(False, "a revert undoes what the run granted; only an admin can stop it")
    return decision


def _approving(verb: str, run_id: RunId, title: str = "Actions") -> RunRule:
    return RunRule(
        step="approve",
        refusal=f"You can't {verb} this",
        decide=approver,
        run_id=run_id,
        missing="That request no longer exists.",
        title=title,
    )


APPROVE = _approving("approve", clicked)
DENY = _approving("deny", clicked)
MENU_APPROVE = _approving("approve", from_menu)
MENU_DENY = _approving("deny", from_menu)
DENY_FORM = _approving("deny", sealed, title="Deny")
APPROVE_FORM = _approving("approve", sealed, title="Approve")
WITHDRAW = RunRule(
    step="withdraw",
    refusal="You can't withdraw this",
    decide=requester_or_admin("only the requester can withdraw a request"),
    run_id=clicked,
)
REVOKE = RunRule("revoke", "You can't revoke this", controller("revoke"), clicked)
EXTEND = RunRule("extend", "You can't extend this", controller("extend"), clicked)
RETRY_REVERT = RunRule(
    "retry_revert", "You can't retry this revert", controller("retry the revert of"), clicked
)
CANCEL = RunRule(
    step="cancel",
    refusal="You can't cancel this run",
    decide=canceller,
    run_id=clicked,
    missing="That run no longer exists.",
    needs_action=False,
)
DETAILS = RunRule(
    step="details",
    refusal="You can't see this run's details",
    decide=viewer,
    run_id=clicked,
    missing="That run no longer exists.",
    title="Run details",
    needs_action=False,
)
