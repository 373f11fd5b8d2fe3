"""API tokens: `/actions token` (the modal), `/actions tokens` and Revoke."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.slack.request import SlackRequest
from bot.slack.views import tokens as views
from bot.tokens import TokenError, may_revoke


def register(app: AsyncApp) -> None:
    app.view(views.TOKEN_MODAL)(created)
    app.action(views.REVOKE_TOKEN)(revoke)


async def open_modal(client: AsyncWebClient, slack_request: SlackRequest) -> None:
    await client.views_open(trigger_id=slack_request.trigger_id, view=views.token_modal())


async def show_mine(runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond) -> None:
    mine = await asyncio.to_thread(runtime.store.tokens, slack_request.user_id)
    await respond(response_type="ephemeral", text="Your API tokens", blocks=views.token_list(mine))


async def created(ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest) -> None:
    name, scopes, expiry = views.read_token_form(slack_request.state)
    user = slack_request.user_id
    try:
        value, token = await asyncio.to_thread(
            runtime.tokens.create, user_id=user, name=name, scopes=scopes, expires=expiry, by=user
        )
    except TokenError as exc:
        block = views.SCOPES if "scope" in str(exc) else views.NAME
        await ack(response_action="errors", errors={block: str(exc)})
        return
    await ack(response_action="update", view=views.token_shown(value, token))


async def revoke(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    """The owner revokes their token; an admin any token."""
    await ack()
    user = slack_request.user_id
    token = await asyncio.to_thread(runtime.store.get_token, slack_request.value[:36])
    catalog = runtime.catalog()
    principal = await runtime.directory.principal(user, catalog)
    if token is None or not may_revoke(catalog, principal, token):
        await respond(
            response_type="ephemeral", replace_original=False, text="You can't revoke that token."
        )
        return
    await asyncio.to_thread(runtime.store.revoke_token, token.id, user)
    shown = await asyncio.to_thread(runtime.store.tokens, None if token.user_id != user else user)
    blocks = views.token_list(shown, everyone=token.user_id != user)
    await respond(replace_original=True, text=f"Token {token.name} revoked", blocks=blocks)
