"""Schedules: runs started by the clock, as their owner, admitted like any run.

A tick (every SCHEDULE_TICK seconds on every replica) claims each due firing with a
conditional update of the schedule's `next_at`, writing the firing's job in the same
transaction: each firing happens once across replicas and restarts. A firing missed
while no replica ran fires once if it is at most `misfire_grace` old, and is otherwise
skipped and recorded. Each firing asks `Admission.admit` as the owner; an owner who lost
access pauses the schedule, which says so in its channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.access import Principal, is_admin
from bot.admission import Admission, Refusal, Refused, Request, Via
from bot.catalog import Catalog, ScheduleSpec
from bot.jobs import Handler
from bot.kinds import JobKind
from bot.runs import Runs, Submission
from bot.store import Job, Store
from bot.store.models import Schedule, utcnow
from bot.triggers import cron

log = logging.getLogger(__name__)

CONFIG_PREFIX = "config:"  # ids of the config file's schedules in the table


def may_change(catalog: Catalog, who: Principal, owner: str) -> bool:
    """A schedule's owner and the admins may pause, resume, delete or run it now."""
    return who.user_id == owner or is_admin(catalog, who)


def sees_all(catalog: Catalog, who: Principal) -> bool:
    """Only the admins list everyone's schedules."""
    return is_admin(catalog, who)


class Channels(Protocol):
    """How a schedule speaks in its channel (bot.slack.notify.SlackNotifier)."""

    def mention(self, user_id: str) -> str: ...

    async def say(self, channel: str, text: str) -> None: ...


def from_spec(spec: ScheduleSpec, now: datetime) -> Schedule:
    """A config file schedule as a row; its next firing counted from ``now``."""
    if spec.at is not None:
        first: datetime | None = cron.localize(spec.at, spec.timezone)
        first = first if first and first > now else None
    else:
        first = cron.following(spec.cron, spec.timezone, now)
    return Schedule(
        id=CONFIG_PREFIX + spec.id,
        action_id=spec.action,
        owner=spec.owner,
        channel_id=spec.channel,
        service_id=spec.service,
        inputs=dict(spec.inputs),
        cron=spec.cron,
        timezone=spec.timezone,
        misfire_grace=spec.misfire_grace,
        next_at=first,
        from_config=True,
    )


class Schedules:
    def __init__(
        self,
        *,
        catalog: Callable[[], Catalog],
        store: Store,
        admission: Admission,
        runner: Runs,
        channels: Channels,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.admission = admission
        self.runner = runner
        self.channels = channels
        self.clock = clock

    @property
    def handlers(self) -> dict[str, Handler]:
        return {JobKind.SCHEDULE_FIRE: self.fire}

    async def sync(self) -> None:
        now = self.clock()
        rows = [from_spec(spec, now) for spec in self.catalog().document.schedules]
        await asyncio.to_thread(self.store.sync_schedules, rows)

    async def tick(self) -> int:
        """Claim every due firing; returns how many fire."""
        now = self.clock()
        fired = 0
        for schedule in await asyncio.to_thread(self.store.due_schedules, now):
            due = schedule.next_at
            assert due is not None
            # Several missed firings collapse into one: the next counts from now.
            following = cron.following(schedule.cron, schedule.timezone, max(now, due))
            late = (now - due).total_seconds()
            if late > schedule.misfire_grace:
                if await asyncio.to_thread(
                    self.store.claim_firing, schedule.id, due, following, None
                ):
                    detail = {"schedule": schedule.id, "due": due.isoformat(), "late_s": late}
                    await asyncio.to_thread(
                        self.store.record,
                        "schedule_skipped",
                        detail,
                        action_id=schedule.action_id,
                        actor=schedule.owner,
                    )
                continue
            job = Job(
                kind=JobKind.SCHEDULE_FIRE, data={"schedule": schedule.id, "due": due.isoformat()}
            )
            if await asyncio.to_thread(self.store.claim_firing, schedule.id, due, following, job):
                fired += 1
        if fired:
            self.runner.wake()
        return fired

    async def run_now(self, schedule_id: str) -> None:
        job = Job(
            kind=JobKind.SCHEDULE_FIRE,
            data={"schedule": schedule_id, "due": self.clock().isoformat(), "now": True},
        )
        await asyncio.to_thread(self.store.add_jobs, [job])
        self.runner.wake()

    async def fire(self, job: Job) -> None:
        schedule = await asyncio.to_thread(self.store.get_schedule, job.data.get("schedule", ""))
        if schedule is None or (schedule.paused and not job.data.get("now")):
            return
        action = self.catalog().action(schedule.action_id)
        verdict = await self.admission.admit(
            Request(
                action_id=schedule.action_id,
                user_id=schedule.owner,
                via=Via.FORM,
                service_id=schedule.service_id,
                channel_id=schedule.channel_id,
                inputs=schedule.inputs,
            )
        )
        if isinstance(verdict, Refused) or action is None:
            await self._refused(schedule, verdict if isinstance(verdict, Refused) else None)
            return
        profile = await self.admission.lookups.profile(schedule.owner)
        await self.runner.submit(
            Submission(
                action=verdict.action,
                user_id=schedule.owner,
                user_name=str(profile.get("name") or ""),
                channel_id=schedule.channel_id,
                inputs=verdict.inputs,
                service=verdict.service,
                idempotency_key=f"schedule:{schedule.id}:{job.data.get('due')}",
            )
        )
        await asyncio.to_thread(self.store.change_schedule, schedule.id, last_fired_at=self.clock())

    async def _refused(self, schedule: Schedule, refused: Refused | None) -> None:
        # (a Refused is falsy: compare with None)
        reason = refused.reason if refused is not None else "its action no longer exists"
        name = schedule.id.removeprefix(CONFIG_PREFIX)
        pauses = refused is None or refused.kind in (Refusal.ACCESS, Refusal.GONE)
        owner = self.channels.mention(schedule.owner)
        if pauses:
            note = f"paused: its owner can no longer run it ({reason})"
            await asyncio.to_thread(
                self.store.change_schedule, schedule.id, paused=True, note=note[:500]
            )
            text = (
                f"The schedule *{name}* is paused: its owner {owner} can no longer run "
                f"`{schedule.action_id}` ({reason})."
            )
        else:
            text = f"The schedule *{name}* did not start `{schedule.action_id}`: {reason}."
        await asyncio.to_thread(
            self.store.record,
            "schedule_refused",
            {"schedule": schedule.id, "reason": reason, "paused": pauses},
            action_id=schedule.action_id,
            actor=schedule.owner,
        )
        await self.channels.say(schedule.channel_id or schedule.owner, text)
