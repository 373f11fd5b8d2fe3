"""The Details button: a run's detail view, for whom guards.DETAILS lets see it."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Action
from bot.runtime import Runtime
from bot.slack import guards
from bot.slack.request import SlackRequest
from bot.slack.views import blocks, details
from bot.store import Run


def register(app: AsyncApp) -> None:
    app.action(blocks.DETAILS_BUTTON, middleware=[guards.run_guard(guards.DETAILS)])(show)


async def show(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    run: Run,
    run_action: Action | None,
    client: AsyncWebClient,
) -> None:
    await ack()
    store = runtime.store
    events, decisions, children = await asyncio.gather(
        asyncio.to_thread(store.events, run.id),
        asyncio.to_thread(store.decisions, run.id),
        asyncio.to_thread(store.children, run.id),
    )
    service = runtime.catalog().service(run.service_id) if run.service_id else None
    story = details.RunStory(run, run_action, service, events, decisions, children)
    await client.views_open(trigger_id=slack_request.trigger_id, view=details.details_modal(story))
