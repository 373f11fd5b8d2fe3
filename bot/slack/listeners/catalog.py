"""Card buttons: paging through the catalog and opening an action's form."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import can_run
from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.listeners.cards import cards_for


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.action(blocks.RUN_BUTTON)
    async def open_form(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        catalog = runtime.catalog()
        user_id = body["user"]["id"]
        action_id = (body.get("actions") or [{}])[0].get("value") or ""
        trigger = body["trigger_id"]
        action = catalog.action(action_id)
        if action is None:
            view = blocks.notice_modal(
                "Action not found",
                "This action no longer exists. Type `/actions` to see the current list.",
            )
            await client.views_open(trigger_id=trigger, view=view)
            return
        owner = catalog.owner_of(action)
        decision = can_run(catalog, action, await runtime.directory.principal(user_id, catalog))
        if not decision:
            await client.views_open(
                trigger_id=trigger, view=blocks.refusal_modal(action, owner, decision)
            )
            await runtime.runner.refuse(action.id, user_id, decision, "open_form")
            return
        channel_id = (body.get("channel") or {}).get("id")  # none on the Home tab
        view = blocks.run_modal(
            action,
            owner,
            channel_id=channel_id,
            metadata=runtime.sealer.seal({"action": action.id, "channel": channel_id}),
            services=list(catalog.services.values()),
        )
        await client.views_open(trigger_id=trigger, view=view)

    @app.action(re.compile(f"^{blocks.PAGE_BUTTON}:"))
    async def page(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        value = (body.get("actions") or [{}])[0].get("value") or "0"
        number = int(value) if value.isdigit() else 0
        cards = await cards_for(runtime, user_id)
        if (body.get("container") or {}).get("type") == "view":
            await client.views_publish(user_id=user_id, view=blocks.home_view(cards, page=number))
        else:
            await respond(
                replace_original=True,
                text="Self-service actions",
                blocks=blocks.catalog_blocks(cards, page=number),
            )
