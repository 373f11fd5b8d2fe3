"""The "Run an action…" message shortcut: pick an action, get its form filled from the
message, and the run replies in that message's thread."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.slack.listeners.runs import open_form
from bot.slack.request import SlackRequest
from bot.slack.views import shortcut
from bot.slack.views.blocks import notice_modal
from bot.triggers import message

log = logging.getLogger(__name__)

METADATA_LIMIT = 3000  # Slack's private_metadata


def register(app: AsyncApp) -> None:
    app.shortcut(shortcut.CALLBACK)(from_message)
    app.action(shortcut.PICK_BUTTON)(picked)


async def from_message(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, client: AsyncWebClient
) -> None:
    await ack()
    channel, ts = slack_request.channel_id, str(slack_request.message.get("ts") or "")
    if not channel or not ts:
        text = "Start it from a message in a channel."
        await client.views_open(trigger_id=slack_request.trigger_id, view=notice_modal("Run", text))
        return
    actions = await runtime.admission.offered(slack_request.user_id, channel)
    actions.sort(key=lambda a: (a.from_message is None, a.name.lower()))
    found = message.context(slack_request.message, await _permalink(client, channel, ts))
    metadata = _fit(runtime, {"channel": channel, "ts": ts, "message": found})
    view = shortcut.picker_modal(actions, metadata)
    await client.views_open(trigger_id=slack_request.trigger_id, view=view)


async def picked(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, client: AsyncWebClient
) -> None:
    await ack()
    meta = runtime.sealer.open(slack_request.metadata)
    action = runtime.catalog().action(slack_request.value)
    if meta is None or action is None or not slack_request.view_id:
        return
    values, errors = message.prefill(action, meta["message"], runtime.settings.template_secrets)
    for identifier, error in errors.items():  # the form opens all the same, field empty
        log.warning("from_message of %s, field %s: %s", action.id, identifier, error)
        detail = {"input": identifier, "error": error[:500], "owner": action.owner}
        await asyncio.to_thread(
            runtime.store.record,
            "prefill_failed",
            detail,
            action_id=action.id,
            actor=slack_request.user_id,
        )
    service = values.pop("service", None) if action.scope == "service" else None
    known = {s.id for s in runtime.catalog().services_for(action)}
    await open_form(
        runtime,
        client,
        slack_request,
        action.id,
        service_id=service if service in known else None,
        channel=meta["channel"],
        values=values,
        thread=meta["ts"],
        replace=slack_request.view_id,
    )


async def _permalink(client: AsyncWebClient, channel: str, ts: str) -> str | None:
    try:
        answer = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError as exc:  # the prefill does without it
        log.info("no permalink for %s/%s: %s", channel, ts, exc.response.get("error"))
        return None
    link = answer.get("permalink")
    return link if isinstance(link, str) else None


def _fit(runtime: Runtime, meta: dict[str, Any]) -> str:
    """Seal the message into the modal, shortened until it fits Slack's 3000 characters."""
    found = meta["message"]
    for limit in (message.TEXT_LIMIT, 1500, 800, 300, 0):
        found["text"] = found["text"][:limit]
        for attachment in found["attachments"]:
            for key in ("text", "fallback", "pretext"):
                attachment[key] = attachment[key][: limit // 2]
        sealed = runtime.sealer.seal(meta)
        if len(sealed) <= METADATA_LIMIT:
            return sealed
        if limit <= 300:
            found["attachments"], found["files"] = [], found["files"][:5]
    log.info("message too large to prefill from: %d characters", len(json.dumps(meta)))
    meta["message"] = message.context({"ts": meta["ts"]})
    return runtime.sealer.seal(meta)
