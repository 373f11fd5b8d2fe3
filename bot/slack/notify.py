"""Posts a run's status message and its threaded result: the Slack side of bot.runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Action, Catalog, Service
from bot.runs import Outcome
from bot.slack import blocks
from bot.store import Run, Store

log = logging.getLogger(__name__)

# Errors that mean "not in this channel", where the user's DM is the next best place.
CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


class SlackNotifier:
    def __init__(
        self, client: AsyncWebClient, store: Store, catalog: Callable[[], Catalog]
    ) -> None:
        self.client = client
        self.store = store
        self.catalog = catalog

    async def started(self, run: Run, action: Action, service: Service | None) -> Run:
        text, body = blocks.status_message(run, action, service)
        channel = run.channel_id or run.user_id
        try:
            response = await self.client.chat_postMessage(channel=channel, text=text, blocks=body)
        except SlackApiError as exc:
            if channel == run.user_id or exc.response.get("error") not in CANNOT_POST:
                raise
            log.info(
                "run %s: cannot post in %s (%s); using DM",
                run.id,
                channel,
                exc.response.get("error"),
            )
            response = await self.client.chat_postMessage(
                channel=run.user_id, text=text, blocks=body
            )
            await self.client.chat_postMessage(
                channel=response["channel"],
                thread_ts=response["ts"],
                text=f"I couldn't post in <#{channel}>, so the run is reported here. "
                "Invite me there with `/invite @actions` to post in the channel next time.",
            )
        return await asyncio.to_thread(
            self.store.update_run, run.id, channel_id=response["channel"], message_ts=response["ts"]
        )

    async def finished(self, run: Run, action: Action, outcome: Outcome) -> None:
        catalog = self.catalog()
        owner = catalog.owner_of(action)
        service = catalog.service(run.service_id) if run.service_id else None
        text, body = blocks.result_message(action, owner, outcome)
        channel = run.channel_id or run.user_id
        await self.client.chat_postMessage(
            channel=channel, thread_ts=run.message_ts, text=text, blocks=body
        )
        if run.message_ts:
            text, body = blocks.status_message(run, action, service, outcome=outcome)
            await self.client.chat_update(
                channel=channel, ts=run.message_ts, text=text, blocks=body
            )

    async def permalink(self, run: Run) -> str | None:
        if not (run.channel_id and run.message_ts):
            return None
        try:
            response = await self.client.chat_getPermalink(
                channel=run.channel_id, message_ts=run.message_ts
            )
        except SlackApiError:
            return None
        return response.get("permalink")
