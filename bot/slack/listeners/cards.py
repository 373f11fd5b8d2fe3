"""What a user sees when browsing: cards with their access decided, pages and Home."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from bot.access import Principal, browsable
from bot.catalog import Action, Service
from bot.runtime import Runtime
from bot.slack.views import admin, approvals, browse
from bot.slack.views.browse import Card, Page


async def cards_for(
    runtime: Runtime,
    who: Principal,
    *,
    channel: str | None,
    service: Service | None = None,
    actions: Iterable[Action] | None = None,
) -> list[Card]:
    catalog = runtime.catalog()
    chosen = (
        actions
        if actions is not None
        else (catalog.actions_for(service) if service else catalog.actions.values())
    )
    return [
        Card(action, catalog.owner_of(action), decision, service)
        for action, decision in browsable(catalog, who, chosen, service=service, channel=channel)
    ]


async def catalog_blocks(
    runtime: Runtime, who: Principal, channel: str | None, state: Page
) -> list[dict[str, Any]]:
    """The message for a catalog page, a search, or a service's page."""
    catalog = runtime.catalog()
    service = catalog.service(state.service) if state.service else None
    if service is not None:
        cards = await cards_for(runtime, who, channel=channel, service=service)
        return browse.service_message(service, catalog.team(service.owner), cards, state)
    cards = await cards_for(runtime, who, channel=channel)
    if state.query:
        cards = browse.search(cards, state.query)
    return browse.catalog_message(cards, state)


async def publish_home(runtime: Runtime, user_id: str, state: Page | None = None) -> None:
    catalog = runtime.catalog()
    who = await runtime.directory.principal(user_id, catalog)
    state = state or Page()
    cards = await cards_for(runtime, who, channel=None)
    if state.query:
        cards = browse.search(cards, state.query)
    runs = await asyncio.to_thread(runtime.store.runs_of, user_id, 5)
    names = {a.id: a.name for a in catalog.actions.values()}
    waiting = await runtime.runner.awaiting(who)
    extra = admin.home_section(catalog, who) + approvals.pending_for_home(catalog, waiting)
    view = browse.home_view(cards, state, runs=runs, names=names, extra=extra)
    await runtime.slack.views_publish(user_id=user_id, view=view)
    runtime.home_users.add(user_id)
