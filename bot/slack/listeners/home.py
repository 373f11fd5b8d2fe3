"""The App Home tab: the same cards, for the user who opened it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.listeners.cards import cards_for


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        cards = await cards_for(runtime, user_id)
        await client.views_publish(user_id=user_id, view=blocks.home_view(cards))
