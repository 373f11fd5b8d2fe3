"""The "Schedule…" modal pushed over an action's form: once, or recurring."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from bot.catalog import Action
from bot.mrkdwn import escape
from bot.slack import limits
from bot.slack.views.blocks import context, modal, plain, section

SCHEDULE_BUTTON = "schedule_form"  # beside Run, in the action's form
SCHEDULE_MODAL = "schedule_modal"
WHEN, DATE, TIME, WEEKDAY, CRON = "when", "date", "time", "weekday", "cron"
CHOICES = {
    "once": "Once, at a date and time",
    "hourly": "Hourly, at the minute of the time",
    "daily": "Daily, at the time",
    "weekly": "Weekly, on the day at the time",
    "cron": "A cron expression",
}
DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


class ScheduleFormError(ValueError):
    """A field of the modal that can't be used: ``block`` names it for Slack's errors."""

    def __init__(self, block: str, message: str) -> None:
        super().__init__(message)
        self.block = block


def schedule_button() -> dict[str, Any]:
    button = {
        "type": "button",
        "text": plain("Schedule…", limits.BUTTON_TEXT),
        "action_id": SCHEDULE_BUTTON,
        "value": "schedule",
    }
    return {"type": "actions", "block_id": "schedule", "elements": [button]}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label, limits.OPTION_TEXT), "value": value}


def _input(block_id: str, label: str, element: dict[str, Any], hint: str = "") -> dict[str, Any]:
    block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": {**element, "action_id": block_id},
        "optional": block_id != WHEN,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def schedule_modal(action: Action, timezone: str, metadata: str) -> dict[str, Any]:
    choices = [_option(k, v) for k, v in CHOICES.items()]
    blocks = [
        section(f"Run *{escape(action.name)}* later with the inputs you filled in."),
        _input(WHEN, "When", {"type": "radio_buttons", "options": choices}),
        _input(DATE, "Date", {"type": "datepicker"}, "For once."),
        _input(TIME, "Time", {"type": "timepicker"}, f"In your time zone, {timezone}."),
        _input(
            WEEKDAY,
            "Day of the week",
            {"type": "static_select", "options": [_option(d, d.title()) for d in DAYS]},
            "For weekly.",
        ),
        _input(
            CRON,
            "Cron expression",
            {"type": "plain_text_input", "max_length": 100},
            "Five fields: minute hour day-of-month month day-of-week, e.g. 0 6 * * MON",
        ),
        context("Each firing runs as you, with your access checked again at the time."),
    ]
    return modal(
        "Schedule",
        blocks,
        callback_id=SCHEDULE_MODAL,
        private_metadata=metadata,
        submit=plain("Schedule", limits.MODAL_TITLE),
        close=plain("Back", limits.MODAL_TITLE),
    )


def _picked(state: Any, block: str) -> Any:
    values = (state or {}).get("values") or {}
    element = (values.get(block) or {}).get(block) or {}
    if not isinstance(element, dict):
        return None
    for key in ("selected_option", "selected_date", "selected_time", "value"):
        found = element.get(key)
        if isinstance(found, dict):
            found = found.get("value")
        if found:
            return found
    return None


def read_when(state: Any, timezone: str) -> tuple[str | None, datetime | None]:
    """(cron, at) from the modal: a cron expression, or the local date and time once.

    Raises ScheduleFormError naming the field to fix."""
    choice = _picked(state, WHEN)
    if choice not in CHOICES:
        raise ScheduleFormError(WHEN, "Choose when.")
    if choice == "cron":
        text = " ".join(str(_picked(state, CRON) or "").split())
        if not text:
            raise ScheduleFormError(CRON, "Enter a cron expression.")
        return text, None
    clock = _time(_picked(state, TIME))
    if choice == "once":
        day = _date(_picked(state, DATE))
        return None, datetime.combine(day, clock)
    if choice == "hourly":
        return f"{clock.minute} * * * *", None
    if choice == "daily":
        return f"{clock.minute} {clock.hour} * * *", None
    weekday = _picked(state, WEEKDAY)
    if weekday not in DAYS:
        raise ScheduleFormError(WEEKDAY, "Choose a day.")
    return f"{clock.minute} {clock.hour} * * {weekday}", None


def _time(value: Any) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ScheduleFormError(TIME, "Choose a time.") from None


def _date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ScheduleFormError(DATE, "Choose a date.") from None
