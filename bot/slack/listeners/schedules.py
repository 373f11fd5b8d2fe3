"""`/actions schedules` (your own) and `/actions-admin schedules` (all), and their buttons:
Pause, Resume, Delete, Run now. A schedule's owner and the admins may use them."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.runtime import Runtime
from bot.slack.request import SlackRequest
from bot.slack.views import schedules as views
from bot.store.models import utcnow
from bot.triggers import cron
from bot.triggers.schedules import may_change, sees_all

log = logging.getLogger(__name__)

NOT_YOURS = "Only the schedule's owner and admins can change it."
IN_CONFIG = "This schedule is defined in the config file: remove it there."


def register(app: AsyncApp) -> None:
    for action_id in (views.PAUSE, views.RESUME, views.DELETE, views.RUN_NOW):
        app.action(action_id)(clicked)


async def listing(runtime: Runtime, user_id: str, scope: str) -> list[dict]:
    owner = None if scope == "all" else user_id
    found = await asyncio.to_thread(runtime.store.schedules, owner)
    upcoming = {}
    for schedule in found:
        try:
            upcoming[schedule.id] = cron.upcoming(
                schedule.cron, schedule.timezone, schedule.next_at, 3
            )
        except cron.CronError:
            upcoming[schedule.id] = []
    return views.schedule_blocks(found, upcoming, scope)


async def show(runtime: Runtime, user_id: str, respond: AsyncRespond, scope: str) -> None:
    blocks = await listing(runtime, user_id, scope)
    await respond(response_type="ephemeral", text="Schedules", blocks=blocks)


async def clicked(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    await ack()
    scope, _, schedule_id = slack_request.value.partition("|")
    user_id = slack_request.user_id
    schedule = await asyncio.to_thread(runtime.store.get_schedule, schedule_id)
    catalog = runtime.catalog()
    who = await runtime.directory.principal(user_id, catalog)
    if schedule is None:
        await respond(response_type="ephemeral", text="That schedule no longer exists.")
        return
    if not may_change(catalog, who, schedule.owner):
        await respond(response_type="ephemeral", text=NOT_YOURS)
        return
    step = slack_request.action_id
    if step == views.DELETE and schedule.from_config:
        await respond(response_type="ephemeral", text=IN_CONFIG)
        return
    if step == views.PAUSE:
        await asyncio.to_thread(runtime.store.change_schedule, schedule.id, paused=True, note="")
    elif step == views.RESUME:
        # Resumed: the next firing counts from now, not from while it was paused.
        following = cron.following(schedule.cron, schedule.timezone, utcnow())
        fields = {"paused": False, "note": ""}
        if schedule.cron:
            fields["next_at"] = following
        await asyncio.to_thread(runtime.store.change_schedule, schedule.id, **fields)
    elif step == views.DELETE:
        await asyncio.to_thread(runtime.store.delete_schedule, schedule.id)
    else:
        await runtime.schedules.run_now(schedule.id)
    detail = {"schedule": schedule.id, "step": step.removeprefix("schedule_")}
    await asyncio.to_thread(
        runtime.store.record, "schedule", detail, action_id=schedule.action_id, actor=user_id
    )
    everyone = scope == "all" and sees_all(catalog, who)
    blocks = await listing(runtime, user_id, "all" if everyone else "own")
    await respond(replace_original=True, text="Schedules", blocks=blocks)
