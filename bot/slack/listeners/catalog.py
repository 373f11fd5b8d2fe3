"""Browsing buttons: Run (form or one click), paging, service pages and Home search."""

from __future__ import annotations

import asyncio
import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.admission import GONE, Refused, Request, Via
from bot.runs import Submission
from bot.runtime import Runtime
from bot.slack.listeners.cards import catalog_blocks, publish_home
from bot.slack.listeners.runs import open_form, refused_text
from bot.slack.request import SlackRequest
from bot.slack.views import blocks, browse
from bot.slack.views.browse import Page
from bot.slack.views.fallback import fallback, text_message


def register(app: AsyncApp) -> None:
    app.action(browse.RUN_BUTTON)(run_clicked)
    app.action(browse.RUN_NOW_BUTTON)(run_now)
    app.action(re.compile(f"^{browse.PAGE_BUTTON}:"))(page)
    app.action(re.compile(f"^{browse.SERVICE_BUTTON}:"))(service_page)
    app.action(browse.HOME_SEARCH)(home_search)
    app.action(browse.STAR_BUTTON)(star)
    app.event("app_home_opened")(home_opened)


async def run_clicked(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    action_id, service_id = browse.parse_button_value(slack_request.value)
    opened = await open_form(
        runtime,
        client,
        slack_request,
        action_id,
        service_id=service_id,
        channel=slack_request.channel_id,  # none on the Home tab
    )
    action = runtime.catalog().action(action_id)
    if opened and action is not None and slack_request.response_url:
        # The catalog gives way to one line, so the run's status message stays in view.
        found = browse.picked_message(action, "The form is open.")
        await respond(replace_original=True, text=fallback(found[0]["text"]["text"]), blocks=found)


async def run_now(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """A one-click action: no form; the click itself is the submission."""
    await ack()
    catalog = runtime.catalog()
    user_id = slack_request.user_id
    action_id, service_id = browse.parse_button_value(slack_request.value)
    channel = slack_request.channel_id
    verdict = await runtime.admission.admit(
        Request(
            action_id=action_id,
            user_id=user_id,
            via=Via.CLICK,
            service_id=service_id,
            channel_id=channel,
        )
    )
    action = catalog.action(action_id)
    if isinstance(verdict, Refused) or action is None:
        text = GONE
        if isinstance(verdict, Refused) and action is not None:
            text = refused_text(action, catalog.owner_of(action), verdict)
            await runtime.runner.refuse(action.id, user_id, verdict.decision, "run_now")
        await _tell(slack_request, respond, client, text)
        return
    stamp = slack_request.action_ts or slack_request.trigger_id
    run = await runtime.runner.submit(
        Submission(
            action=action,
            user_id=user_id,
            user_name=slack_request.user_name,
            channel_id=channel,
            inputs=verdict.inputs,
            service=verdict.service,
            idempotency_key=f"click:{user_id}:{stamp}",
            plan=verdict.plan,
        )
    )
    if run is not None and not slack_request.from_home:
        note = "Running… the result will appear in the thread."
        if verdict.action.needs_approval:
            note = "Sent for approval; the thread will say when it is decided."
        found = browse.picked_message(verdict.action, note)
        await respond(replace_original=True, text=fallback(found[0]["text"]["text"]), blocks=found)


async def page(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    await ack()
    user_id = slack_request.user_id
    state = Page.decode(slack_request.value)
    if slack_request.from_home:
        await publish_home(runtime, user_id, state)
        return
    catalog = runtime.catalog()
    who = await runtime.directory.principal(user_id, catalog)
    found = await catalog_blocks(runtime, who, slack_request.channel_id, state)
    await respond(replace_original=True, text="Self-service actions", blocks=found)


async def star(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    """Mark or unmark a favourite, then redraw the page it was clicked on."""
    await ack()
    user_id = slack_request.user_id
    action_id, state = browse.parse_star_value(slack_request.value)
    catalog = runtime.catalog()
    if catalog.action(action_id) is not None:  # a forged value stars nothing
        await asyncio.to_thread(runtime.store.toggle_favourite, user_id, action_id)
    if slack_request.from_home:
        await publish_home(runtime, user_id, state)
        return
    who = await runtime.directory.principal(user_id, catalog)
    found = await catalog_blocks(runtime, who, slack_request.channel_id, state)
    await respond(replace_original=True, text="Self-service actions", blocks=found)


async def service_page(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    await ack()
    catalog = runtime.catalog()
    who = await runtime.directory.principal(slack_request.user_id, catalog)
    state = Page(service=slack_request.value)
    found = await catalog_blocks(runtime, who, slack_request.channel_id, state)
    await respond(replace_original=True, text="Service actions", blocks=found)


async def home_search(ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest) -> None:
    await ack()
    await publish_home(runtime, slack_request.user_id, Page(query=slack_request.value[:100]))


async def home_opened(runtime: Runtime, slack_request: SlackRequest) -> None:
    if slack_request.event.get("tab", "home") == "home" and slack_request.user_id:
        await publish_home(runtime, slack_request.user_id)


async def _tell(
    slack_request: SlackRequest, respond: AsyncRespond, client: AsyncWebClient, text: str
) -> None:
    """An answer to a click, on the surface it came from."""
    if slack_request.from_home:
        await client.views_open(
            trigger_id=slack_request.trigger_id, view=blocks.notice_modal("Actions", text)
        )
    else:
        await respond(response_type="ephemeral", replace_original=False, **text_message(text))
