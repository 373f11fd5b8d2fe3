"""What a user sees when browsing: cards with their access decided, pages and Home."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from bot.access import Principal, browsable
from bot.catalog import Action, Service
from bot.kinds import GrantState
from bot.runtime import Runtime
from bot.slack.views import admin, approvals, browse, grants, locks
from bot.slack.views.browse import Card, Page
from bot.store.models import utcnow

# A grant whose revert failed stays listed this long after it was due.
RECENT_GRANTS = timedelta(days=1)


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
    favourites = set(await asyncio.to_thread(runtime.store.favourites, who.user_id))
    recent = {r.action_id for r in await asyncio.to_thread(runtime.store.runs_of, who.user_id, 5)}
    return [
        Card(
            action,
            catalog.owner_of(action),
            decision,
            service,
            approvers=approvals.approvers_text(catalog, action) if action.needs_approval else "",
            favourite=action.id in favourites,
            recent=action.id in recent,
        )
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
        runs = await asyncio.to_thread(runtime.store.runs_on, service.id, 5)
        names = {a.id: a.name for a in catalog.actions.values()}
        owner = catalog.team(service.owner)
        return browse.service_message(service, owner, cards, state, runs, names)
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
    extra = (
        await my_access(runtime, user_id)
        + admin.home_section(catalog, who)
        + approvals.pending_for_home(catalog, waiting)
    )
    view = browse.home_view(cards, state, runs=runs, names=names, extra=extra)
    await runtime.slack.views_publish(user_id=user_id, view=view)
    runtime.home_users.add(user_id)


async def my_access(runtime: Runtime, user_id: str) -> list[dict[str, Any]]:
    """ "My access and locks": the user's grants still in effect (a failed revert included),
    and the runs of theirs that hold or wait for a concurrency lock."""
    catalog = runtime.catalog()
    now = utcnow()
    found = []
    for run in await asyncio.to_thread(runtime.store.grants_of, user_id, now - RECENT_GRANTS):
        state = await runtime.runner.expiry.state(run)
        if state != GrantState.REVERTED:
            action = catalog.action(run.action_id)
            found.append(grants.Grant(run, action.name if action else run.action_id, state))
    held = await asyncio.to_thread(runtime.store.locks_of, user_id, locks.SHOWN + 1)
    names = {a.id: a.name for a in catalog.actions.values()}
    return grants.access_section(found, locks.lock_blocks(held, names), now=now)
