"""Slash commands: /actions and /actions-admin."""

from __future__ import annotations

import difflib
import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Team
from bot.mrkdwn import escape
from bot.runtime import Runtime
from bot.slack.listeners import schedules, tokens
from bot.slack.listeners.cards import catalog_blocks
from bot.slack.request import SlackRequest
from bot.slack.views import browse
from bot.slack.views.browse import Page
from bot.slack.views.fallback import fallback, text_message

USAGE = (
    "`/actions` — the actions for this channel's service, or the whole catalog\n"
    "`/actions <service>` — a service's page, by id or name\n"
    "`/actions <words>` — search action names and descriptions\n"
    "`/actions token` — make a personal API token · `/actions tokens` — yours, to revoke\n"
    "`/actions schedules` — your schedules: pause, resume, delete, run now"
)


def register(app: AsyncApp) -> None:
    app.command("/actions")(actions)


async def actions(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    await ack()
    catalog = runtime.catalog()
    user_id, channel = slack_request.user_id, slack_request.channel_id
    text = " ".join(slack_request.value.split())[:100]
    if text.lower() == "help":
        await respond(response_type="ephemeral", **text_message(USAGE))
        return
    if text.lower() == "token":
        await tokens.open_modal(client, slack_request)
        return
    if text.lower() == "tokens":
        await tokens.show_mine(runtime, slack_request, respond)
        return
    if text.lower() == "schedules":
        await schedules.show(runtime, user_id, respond, "own")
        return
    who = await runtime.directory.principal(user_id, catalog)
    state = Page(query=text)
    by_channel = not text or text.startswith(("#", "<#"))
    if not by_channel and (service := catalog.find_service(text)):
        state = Page(service=service.id)
    elif by_channel:
        # `/actions` in a channel, or `/actions #payments`: that channel's team or service.
        owner = catalog.find_team(text) if text else catalog.for_channel(channel)
        if text and owner is None:
            owner = catalog.for_channel(_channel_id(text)) or catalog.find_service(text[1:])
        if isinstance(owner, Team):
            services = catalog.services_of(owner.id)
            if len(services) > 1:
                await respond(
                    response_type="ephemeral",
                    text=fallback(f"{owner.name}'s services"),
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


def _channel_id(text: str) -> str | None:
    """The channel id in Slack's `<#C0PAY|payments>`, if that is what was typed."""
    match = re.fullmatch(r"<#([A-Z0-9]+)(?:\|[^>]*)?>", text)
    return match.group(1) if match else None
