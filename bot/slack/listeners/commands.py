"""Slash commands: /actions and /actions-admin."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.access import Decision, is_admin
from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.listeners.cards import cards_for

ADMIN_HELP = "Usage: `/actions-admin list` — every action with its state."


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.command("/actions")
    async def actions(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        cards = await cards_for(runtime, command["user_id"])
        await respond(
            response_type="ephemeral",
            text="Self-service actions",
            blocks=blocks.catalog_blocks(cards),
        )

    @app.command("/actions-admin")
    async def admin(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        catalog = runtime.catalog()
        user_id = command["user_id"]
        who = await runtime.directory.principal(user_id, catalog)
        if not is_admin(catalog, who):
            await runtime.runner.refuse(
                "/actions-admin", user_id, Decision(False, "not an admin"), "admin_command"
            )
            await respond(
                response_type="ephemeral",
                text="Sorry, `/actions-admin` is only for the bot's admins. "
                "Admins are listed under `admins` in the actions config; "
                "use `/actions` to browse and run actions.",
            )
            return
        words = (command.get("text") or "").split()
        sub = words[0].lower() if words else "list"
        if sub == "list":
            await respond(
                response_type="ephemeral", text="Actions", blocks=blocks.admin_list_blocks(catalog)
            )
        else:
            await respond(
                response_type="ephemeral", text=f"Unknown subcommand `{sub}`. {ADMIN_HELP}"
            )
