"""Slash commands: /actions and /actions-admin."""

from __future__ import annotations

import difflib

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.catalog import Team
from bot.mrkdwn import escape
from bot.runtime import Runtime
from bot.slack.listeners import schedules
from bot.slack.listeners.cards import catalog_blocks
from bot.slack.request import SlackRequest
from bot.slack.views import browse
from bot.slack.views.browse import Page

USAGE = (
    "`/actions` — the actions for this channel's service, or the whole catalog\n"
    "`/actions <service>` — a service's page, by id or name\n"
    "`/actions <words>` — search action names and descriptions\n"
    "`/actions schedules` — your schedules: pause, resume, delete, run now"
)


def register(app: AsyncApp) -> None:
    app.command("/actions")(actions)


async def actions(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    await ack()
    catalog = runtime.catalog()
    user_id, channel = slack_request.user_id, slack_request.channel_id
    text = " ".join(slack_request.value.split())[:100]
    if text.lower() == "help":
        await respond(response_type="ephemeral", text=USAGE)
        return
    if text.lower() == "schedules":
        await schedules.show(runtime, user_id, respond, "own")
        return
    who = await runtime.directory.principal(user_id, catalog)
    state = Page(query=text)
    if text and (service := catalog.find_service(text)):
        state = Page(service=service.id)
    elif not text:
        owner = catalog.for_channel(channel)
        if isinstance(owner, Team):
            services = catalog.services_of(owner.id)
            if len(services) > 1:
                await respond(
                    response_type="ephemeral",
                    text=f"{owner.name}'s services",
                    blocks=browse.services_chooser(owner, services),
                )
                return
            owner = services[0] if services else None
        if owner is not None:
            state = Page(service=owner.id)
    blocks = await catalog_blocks(runtime, who, channel, state)
    if state.query and len(blocks) <= 3:  # nothing found: maybe a misspelt service
        names = [s.id for s in catalog.services.values()]
        near = difflib.get_close_matches(text.lower(), names, n=3, cutoff=0.5)
        if near:
            hint = ", ".join(f"`/actions {escape(n)}`" for n in near)
            blocks.append(browse.context(f"Looking for a service? Try {hint}."))
    await respond(response_type="ephemeral", text="Self-service actions", blocks=blocks)
