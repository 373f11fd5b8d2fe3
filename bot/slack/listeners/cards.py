"""The cards a user sees: every action, each with what this user may do with it."""

from __future__ import annotations

from bot.access import can_run, is_admin
from bot.runtime import Runtime
from bot.slack.blocks import Card


async def cards_for(runtime: Runtime, user_id: str) -> list[Card]:
    catalog = runtime.catalog()
    who = await runtime.directory.principal(user_id, catalog)
    admin = is_admin(catalog, who)
    return [
        Card(action, catalog.owner_of(action), can_run(catalog, action, who))
        for action in catalog.actions.values()
        if action.published or admin  # drafts are for admins' eyes only
    ]
