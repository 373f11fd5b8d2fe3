"""Schedule an action from its form: "Schedule…" beside Run, then once or recurring."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.admission import Refused, Request, Via
from bot.runtime import Runtime
from bot.slack.listeners.runs import STALE, form_context
from bot.slack.request import SlackRequest
from bot.slack.views import forms
from bot.slack.views import schedule_form as views
from bot.slack.views.blocks import notice_modal
from bot.store.models import Schedule, utcnow
from bot.triggers import cron

METADATA_LIMIT = 3000  # Slack's private_metadata


def register(app: AsyncApp) -> None:
    app.action(views.SCHEDULE_BUTTON)(clicked)
    app.view(views.SCHEDULE_MODAL)(submitted)


async def clicked(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, client: AsyncWebClient
) -> None:
    """Push the schedule modal, carrying what the form holds so far."""
    await ack()
    found = form_context(runtime, slack_request)
    trigger = slack_request.trigger_id
    if found is None:
        await client.views_push(trigger_id=trigger, view=notice_modal("Schedule", STALE))
        return
    meta, action, service = found
    if any(i.type == "secret" for i in action.inputs):  # never kept in a schedule
        text = f"{action.name} has secret inputs: it can't be scheduled."
        await client.views_push(trigger_id=trigger, view=notice_modal("Schedule", text))
        return
    profile = await runtime.directory.profile(slack_request.user_id)
    timezone = str(profile.get("tz") or "UTC")
    try:
        cron.zone(timezone)
    except cron.CronError:
        timezone = "UTC"
    sealed = runtime.sealer.seal(
        {
            "action": action.id,
            "service": service.id if service else None,
            "channel": meta.get("channel"),
            "inputs": forms.read_inputs(action, slack_request.state),
            "tz": timezone,
        }
    )
    if len(sealed) > METADATA_LIMIT:
        text = "These inputs are too long to schedule; shorten them or run it now."
        await client.views_push(trigger_id=trigger, view=notice_modal("Schedule", text))
        return
    await client.views_push(trigger_id=trigger, view=views.schedule_modal(action, timezone, sealed))


def _first_firing(state: Any, timezone: str, now: datetime) -> tuple[str | None, datetime | None]:
    """The form's cron expression (None for a one-off) and its first firing.

    Raises ScheduleFormError naming the block to mark."""
    expression, at = views.read_when(state, timezone)
    if expression is not None:
        try:
            cron.trigger(expression, timezone)
        except cron.CronError as exc:
            raise views.ScheduleFormError(views.CRON, f"Cron: {exc}") from None
        return expression, cron.following(expression, timezone, now)
    assert at is not None
    first = cron.localize(at, timezone)
    if first <= now:
        raise views.ScheduleFormError(views.DATE, "That time has passed.")
    return expression, first


async def submitted(ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest) -> None:
    meta = runtime.sealer.open(slack_request.metadata)
    action = runtime.catalog().action(meta["action"]) if meta else None
    if meta is None or action is None:
        await ack(response_action="update", view=notice_modal("Schedule", STALE))
        return
    timezone, now = str(meta["tz"]), utcnow()
    try:
        expression, first = _first_firing(slack_request.state, timezone, now)
    except views.ScheduleFormError as exc:
        await ack(response_action="errors", errors={exc.block: str(exc)})
        return
    user_id = slack_request.user_id
    verdict = await runtime.admission.admit(
        Request(
            action_id=action.id,
            user_id=user_id,
            via=Via.FORM,
            service_id=meta.get("service"),
            channel_id=meta.get("channel"),
            inputs=meta.get("inputs") or {},
        )
    )
    if isinstance(verdict, Refused):
        text = f":no_entry: Not scheduled: {verdict.reason}."
        await ack(response_action="update", view=notice_modal("Schedule", text))
        return
    schedule = Schedule(
        id=f"s-{uuid.uuid4().hex[:12]}",
        action_id=action.id,
        owner=user_id,
        channel_id=meta.get("channel"),
        service_id=verdict.service.id if verdict.service else None,
        inputs=verdict.inputs,
        cron=expression,
        timezone=timezone,
        next_at=first,
    )
    await asyncio.to_thread(runtime.store.add_schedule, schedule)
    detail = {"schedule": schedule.id, "step": "created", "cron": expression, "at": str(first)}
    await asyncio.to_thread(
        runtime.store.record, "schedule", detail, action_id=action.id, actor=user_id
    )
    times = cron.upcoming(expression, timezone, first, 3)
    shown = ", ".join(f"{t.astimezone(cron.zone(timezone)):%a %d %b %H:%M}" for t in times)
    text = (
        f"Scheduled *{action.name}*: next {shown} ({timezone}). "
        "See and change it with `/actions schedules`."
    )
    await ack(response_action="update", view=notice_modal("Scheduled", text))
