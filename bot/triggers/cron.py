"""When schedules fire: cron expressions (APScheduler's CronTrigger) in a time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger


class CronError(ValueError):
    """An expression or time zone that can't be used; the message says why."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone {name!r}") from None


def trigger(expression: str, timezone: str) -> CronTrigger:
    """A five-field cron expression (minute hour day month weekday)."""
    if len(expression.split()) != 5:
        raise CronError("expected five fields: minute hour day-of-month month day-of-week")
    try:
        return CronTrigger.from_crontab(expression, timezone=zone(timezone))
    except ValueError as exc:
        raise CronError(str(exc)) from None


def following(cron: str | None, timezone: str, after: datetime) -> datetime | None:
    """The first firing strictly after ``after`` (UTC); None for a one-off."""
    if cron is None:
        return None
    found = trigger(cron, timezone).get_next_fire_time(None, after + timedelta(seconds=1))
    return found.astimezone(UTC) if found else None


def upcoming(cron: str | None, timezone: str, start: datetime | None, count: int) -> list[datetime]:
    """The next ``count`` firings from ``start`` (the next one) on."""
    found: list[datetime] = []
    current = start
    while current is not None and len(found) < count:
        found.append(current)
        current = following(cron, timezone, current)
    return found


def localize(moment: datetime, timezone: str) -> datetime:
    """A date and time without a zone is in ``timezone``; the result is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    return moment.astimezone(UTC)
