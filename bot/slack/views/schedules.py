"""Schedules as a person reads them: what runs, as whom, when next; and their buttons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.mrkdwn import escape
from bot.slack import limits
from bot.slack.views.blocks import context, plain, section
from bot.store.models import Schedule

PAUSE, RESUME, DELETE, RUN_NOW = (
    "schedule_pause",
    "schedule_resume",
    "schedule_delete",
    "schedule_run_now",
)
MAX_SHOWN = 20  # three blocks each, under a message's 50 blocks


def name_of(schedule: Schedule) -> str:
    return schedule.id.removeprefix("config:")


def _when(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a %d %b %Y %H:%M} {timezone}"


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": plain(label, limits.BUTTON_TEXT),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def schedule_blocks(
    schedules: Sequence[Schedule], upcoming: Mapping[str, list[datetime]], scope: str
) -> list[dict[str, Any]]:
    """One entry per schedule; ``scope`` ("own" or "all") rides on the buttons, so a click
    redraws the same list."""
    if not schedules:
        return [section("No schedules.")]
    found: list[dict[str, Any]] = []
    for schedule in schedules[:MAX_SHOWN]:
        how = f"`{escape(schedule.cron)}`" if schedule.cron else "once"
        state = (
            f":double_vertical_bar: {escape(schedule.note or 'paused')}" if schedule.paused else ""
        )
        where = f" in <#{schedule.channel_id}>" if schedule.channel_id else ""
        found.append(
            section(
                f"*{escape(name_of(schedule))}* runs `{escape(schedule.action_id)}` "
                f"as <@{schedule.owner}>{where}, {how}\n{state}".rstrip()
            )
        )
        times = upcoming.get(schedule.id) or []
        shown = ", ".join(_when(t, schedule.timezone) for t in times) or "no more firings"
        found.append(context(f"Next: {shown}"))
        value = f"{scope}|{schedule.id}"
        toggle = (
            _button("Resume", RESUME, value, "primary")
            if schedule.paused
            else _button("Pause", PAUSE, value)
        )
        buttons = [toggle, _button("Run now", RUN_NOW, value)]
        if not schedule.from_config:
            buttons.append(_button("Delete", DELETE, value, "danger"))
        found.append({"type": "actions", "elements": buttons})
    if len(schedules) > MAX_SHOWN:
        found.append(context(f"{len(schedules) - MAX_SHOWN} more not shown."))
    return found
