"""An action's form: opening it, redrawing it, options, submitting; cancel and run again."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import inputs, options, templates
from bot.admission import SERVICE, Refusal, Refused, Request, Via
from bot.catalog import Action, Catalog, Option, Service, Team
from bot.mrkdwn import escape
from bot.runs import Submission
from bot.runtime import Runtime
from bot.slack import guards
from bot.slack.request import SlackRequest
from bot.slack.views import admin as admin_views
from bot.slack.views import approvals, blocks, forms
from bot.slack.views.fallback import text_message
from bot.store import Run

log = logging.getLogger(__name__)

OPTIONS_ERROR = "__options_error__"
TEST_ONLY = "This was a test form: nothing was sent. Start again with `/actions-admin test`."
STALE = "This form is out of date: the action changed or no longer exists."


async def form_user(
    runtime: Runtime, slack_request: SlackRequest, action: Action | None = None
) -> dict[str, Any]:
    """The user as form templates see them.

    The profile (users.info, cached) is fetched only when the form's Liquid can use it:
    a plain form answers Slack without waiting on another Slack call.
    """
    profile: dict[str, Any] = {}
    if (
        action is None
        or forms.templated(action)
        or any(i.values_from is not None for i in action.inputs)
    ):
        profile = await runtime.directory.profile(slack_request.user_id)
    return {
        "id": slack_request.user_id,
        "name": profile.get("name") or slack_request.user_name or None,
        "email": profile.get("email"),
    }


def form_fields(
    catalog: Catalog,
    action: Action,
    values: dict[str, Any],
    user: dict[str, Any],
    service: Service | None,
) -> list[inputs.Field] | str:
    try:
        return inputs.resolve(catalog, action, values=values, user=user, service=service)
    except templates.TemplateError as exc:
        log.warning("form of %s failed to render: %s", action.id, exc)
        return f"This form could not be drawn: {exc}. Contact the action's owners."


async def open_form(
    runtime: Runtime,
    client: AsyncWebClient,
    slack_request: SlackRequest,
    action_id: str,
    *,
    service_id: str | None,
    channel: str | None,
    parent: str | None = None,
    values: dict[str, Any] | None = None,
    thread: str | None = None,
    replace: str | None = None,
) -> bool:
    """Open an action's modal, or say why not (False). Within the trigger's 3 seconds.

    ``thread``: the run replies in that message's thread. ``replace``: the modal to turn
    into the form (the message shortcut's list), instead of opening a new one.
    """
    catalog = runtime.catalog()
    user_id = slack_request.user_id
    trigger = slack_request.trigger_id
    if replace:
        client = _Shown(client, replace)  # type: ignore[assignment]
    action = catalog.action(action_id)
    service = catalog.service(service_id) if service_id else None
    if action is None or (service_id and service is None):
        text = "This action no longer exists. Type `/actions` to see the current list."
        await client.views_open(trigger_id=trigger, view=blocks.notice_modal("Not found", text))
        return False
    owner = catalog.owner_of(action)
    decision = await runtime.admission.may_open(action, user_id, service=service, channel=channel)
    if not decision:
        await client.views_open(
            trigger_id=trigger, view=blocks.refusal_modal(action, owner, decision)
        )
        await runtime.runner.refuse(action.id, user_id, decision, "open_form")
        return False
    user = await form_user(runtime, slack_request, action)
    fields = form_fields(catalog, action, values or {}, user, service)
    if isinstance(fields, str):
        await client.views_open(trigger_id=trigger, view=blocks.notice_modal("Cannot run", fields))
        return False
    if values:  # a re-run: show what was sent last time (secrets excepted)
        _prefill(fields, values)
    seal = {
        "action": action.id,
        "channel": channel,
        "service": service_id,
        "parent": parent,
        "fixed": bool(service_id and not parent and not thread),
        "thread": thread,
    }
    view = _run_view(runtime, catalog, action, owner, fields, service, seal)
    await client.views_open(trigger_id=trigger, view=view)
    return True


def _prefill(fields: list[inputs.Field], values: dict[str, Any]) -> None:
    for field in fields:
        if field.input.type != "secret" and values.get(field.identifier) not in (None, ""):
            field.initial = values[field.identifier]


def _run_view(
    runtime: Runtime,
    catalog: Catalog,
    action: Action,
    owner: Team,
    fields: list[inputs.Field],
    service: Service | None,
    seal: dict[str, Any],
) -> dict[str, Any]:
    """The run modal, carrying ``seal`` (where the run goes) sealed in its metadata."""
    return forms.run_modal(
        action,
        owner,
        fields,
        channel_id=seal["channel"],
        metadata=runtime.sealer.seal(seal),
        services=catalog.services_for(action),
        service=service,
        service_fixed=bool(seal["fixed"]),
        approvers=approvers_of(catalog, action),
        schedulable=not (
            seal["parent"] or seal["thread"] or any(i.type == "secret" for i in action.inputs)
        ),
    )


def approvers_of(catalog: Catalog, action: Action) -> str:
    """Who approves an action, for its form; empty when it needs no approval."""
    return approvals.approvers_text(catalog, action) if action.needs_approval else ""


class _Shown:
    """A client whose views_open updates a modal already open (a click inside it)."""

    def __init__(self, client: AsyncWebClient, view_id: str) -> None:
        self.client = client
        self.view_id = view_id

    async def views_open(self, *, trigger_id: str | None, view: dict[str, Any]) -> Any:
        return await self.client.views_update(view_id=self.view_id, view=view)


def form_context(
    runtime: Runtime, slack_request: SlackRequest
) -> tuple[dict[str, Any], Action, Service | None] | None:
    """The sealed metadata of a run form, its action, and its service (fixed or chosen)."""
    meta = runtime.sealer.open(slack_request.metadata)
    catalog = runtime.catalog()
    action = catalog.action(meta["action"]) if meta else None
    if meta is None or action is None:
        return None
    state = slack_request.state
    chosen = meta.get("service") if meta.get("fixed") else forms.read_service(state)
    service = catalog.service(chosen) if chosen else None
    return meta, action, service


def register(app: AsyncApp) -> None:
    app.view(blocks.RUN_MODAL)(submitted)
    app.action({"block_id": re.compile(r"^(input:.+|service)$")})(redraw)
    app.options(re.compile(r".+"))(suggest)
    app.action(blocks.CANCEL_BUTTON, middleware=[guards.run_guard(guards.CANCEL)])(cancel)
    app.action(blocks.RERUN_BUTTON)(rerun)


async def submitted(ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest) -> None:
    catalog = runtime.catalog()
    user_id = slack_request.user_id
    found = form_context(runtime, slack_request)
    if found is None:
        await ack(response_action="update", view=blocks.notice_modal("Cannot run", STALE))
        return
    meta, action, service = found
    if meta.get("test"):  # a test form never starts a real run, whatever its callback_id
        await ack(response_action="update", view=blocks.notice_modal("Test", TEST_ONLY))
        return
    raw = forms.read_inputs(action, slack_request.state)
    channel_id = meta.get("channel")
    verdict = await runtime.admission.admit(
        Request(
            action_id=action.id,
            user_id=user_id,
            via=Via.FORM,
            service_id=service.id if service else None,
            channel_id=channel_id,
            inputs=raw,
        )
    )
    if isinstance(verdict, Refused):
        await _refused_form(runtime, ack, slack_request, raw, verdict, action)
        return
    run = await runtime.runner.submit(
        Submission(
            action=action,
            user_id=user_id,
            user_name=slack_request.user_name,
            channel_id=channel_id,
            inputs=verdict.inputs,
            service=verdict.service,
            idempotency_key=f"view:{slack_request.view_id}",
            view_id=slack_request.view_id,
            parent_id=meta.get("parent"),
            plan=verdict.plan,
            thread_ts=meta.get("thread"),
        )
    )
    if run is None:  # Slack redelivered a submission we already have
        await ack()
        return
    # The run and its jobs are committed: now Slack gets its answer, the worker the rest.
    if verdict.needs_approval:
        who = approvals.approvers_text(catalog, action, verdict.plan)
        text = (
            f"*{escape(action.name)}*\nSent for approval by {who}. "
            "Nothing happens until they approve."
        )
        await ack(response_action="update", view=blocks.notice_modal("Request sent", text))
    else:
        await ack(response_action="update", view=blocks.running_modal(action, channel_id))


async def redraw(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, client: AsyncWebClient
) -> None:
    """A parent input changed: redraw the form, keeping what was typed."""
    await ack()
    found = form_context(runtime, slack_request)
    if found is None:
        return
    meta, action, service = found
    catalog = runtime.catalog()
    raw = forms.read_inputs(action, slack_request.state)
    user = await form_user(runtime, slack_request, action)
    fields = form_fields(catalog, action, raw, user, service)
    if isinstance(fields, str):
        return
    for field in fields:
        typed = raw.get(field.identifier)
        if typed not in (None, "", []):
            field.initial = typed if field.input.type != "checkbox" else "true" in (typed or [])
    updated = forms.run_modal(
        action,
        catalog.owner_of(action),
        fields,
        channel_id=meta.get("channel"),
        metadata=slack_request.metadata,
        services=catalog.services_for(action),
        service=service,
        service_fixed=bool(meta.get("fixed")),
        approvers=approvers_of(catalog, action),
    )
    if meta.get("test"):  # the admin's test form stays a test through every redraw
        updated = admin_views.as_test_form(updated, action)
    try:
        await client.views_update(
            view_id=slack_request.view_id, hash=slack_request.view.get("hash"), view=updated
        )
    except SlackApiError as exc:  # hash_conflict: a newer redraw is on its way
        log.debug("redraw of %s: %s", action.id, exc.response.get("error"))


async def suggest(ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest) -> None:
    """Type-ahead for external selects: services, catalog bindings, long or remote lists."""
    found = form_context(runtime, slack_request)
    if found is None:
        await ack(options=[])
        return
    _, action, service = found
    catalog = runtime.catalog()
    query, element = slack_request.value, slack_request.action_id
    if element == blocks.SERVICE_BLOCK:
        services = [catalog_option(s) for s in catalog.services_for(action)]
        await ack(options=[blocks.option(o) for o in options.matching(services, query)])
        return
    item = action.input(element)
    if item is None:
        await ack(options=[])
        return
    try:
        choices = await asyncio.wait_for(
            runtime.options.search(
                catalog,
                action,
                item,
                query,
                values=forms.read_inputs(action, slack_request.state),
                user=await form_user(runtime, slack_request, action),
                service=service,
            ),
            timeout=2.5,
        )
    except (options.OptionsError, TimeoutError, templates.TemplateError) as exc:
        reason = str(exc) or "the options source is slow to answer"
        text = blocks.plain(f"⚠ Couldn't load options: {reason}", 75)
        await ack(options=[{"text": text, "value": OPTIONS_ERROR}])
        return
    await ack(options=[blocks.option(o) for o in choices])


async def cancel(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """Cancel a run; who may is checked by guards.CANCEL before this runs."""
    await ack()
    problem = await runtime.runner.cancel(run.id, slack_request.user_id)
    if not problem:
        return  # the thread says who cancelled it
    text = text_message(f"Can't cancel: {problem}.")
    if run.channel_id and run.message_ts:  # the answer lands in the run's thread, for them
        await client.chat_postEphemeral(
            channel=run.channel_id, user=slack_request.user_id, thread_ts=run.message_ts, **text
        )
    else:
        await respond(response_type="ephemeral", replace_original=False, **text)


async def rerun(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, client: AsyncWebClient
) -> None:
    await ack()
    run = await asyncio.to_thread(runtime.store.get_run, slack_request.value)
    if run is None:
        text = "That run no longer exists. Type `/actions` to start afresh."
        await client.views_open(
            trigger_id=slack_request.trigger_id, view=blocks.notice_modal("Cannot run", text)
        )
        return
    values = await runtime.admission.rerun_values(run, slack_request.user_id)
    channel = slack_request.channel_id or run.channel_id
    if channel and channel.startswith("D"):
        channel = None  # a DM thread: report in the user's own DM
    await open_form(
        runtime,
        client,
        slack_request,
        run.action_id,
        service_id=run.service_id,
        channel=channel,
        parent=run.id,
        values=values,
    )


def catalog_option(service: Service) -> Option:
    return Option(value=service.id, display=service.name[:75])


def refused_text(action: Action, owner: Team, refused: Refused) -> str:
    """Why a click or a submission did not start a run, in the user's words."""
    if refused.kind == Refusal.GONE:
        return refused.reason
    if refused.kind == Refusal.ACCESS:
        return blocks.refusal_text(action, owner, refused.decision)
    return f":no_entry: *{escape(action.name)}* did not run: {refused.reason}."


async def _refused_form(
    runtime: Runtime,
    ack: AsyncAck,
    slack_request: SlackRequest,
    raw: dict[str, Any],
    refused: Refused,
    action: Action,
) -> None:
    """Answer a refused submission: errors next to the inputs, or a modal saying why."""
    user_id = slack_request.user_id
    owner = runtime.catalog().owner_of(action)
    shown = {
        b.get("block_id") for b in slack_request.view.get("blocks") or [] if isinstance(b, dict)
    }
    errors = {
        (blocks.SERVICE_BLOCK if k == SERVICE else forms.error_block(k)): v
        for k, v in refused.errors.items()
    }
    for identifier, value in raw.items():
        if value == OPTIONS_ERROR or (isinstance(value, list) and OPTIONS_ERROR in value):
            errors[forms.error_block(identifier)] = "The options could not be loaded; try again."
    if refused.kind == Refusal.INPUTS and errors.keys() <= shown:
        await ack(response_action="errors", errors=errors)
        return
    if refused.kind == Refusal.ACCESS:
        modal = blocks.refusal_modal(action, owner, refused.decision)
    else:
        modal = blocks.notice_modal("Cannot run", refused_text(action, owner, refused))
    await ack(response_action="update", view=modal)
    if refused.kind in (Refusal.ACCESS, Refusal.RATE_LIMIT, Refusal.APPROVAL):
        await runtime.runner.refuse(action.id, user_id, refused.decision, "submit")
