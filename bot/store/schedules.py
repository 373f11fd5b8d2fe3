"""Schedules: kept in step with the config file, claimed one firing at a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select

from bot.store.engine import Database
from bot.store.models import Job, Schedule


class ScheduleRepository(Database):
    def sync_schedules(self, wanted: Iterable[Schedule]) -> None:
        """The config file's schedules: added, changed (keeping paused) or removed."""
        by_id = {s.id: s for s in wanted}
        with self.session() as session:
            current = {
                s.id: s for s in session.exec(select(Schedule).where(col(Schedule.from_config)))
            }
            for gone in set(current) - set(by_id):
                session.delete(current[gone])
            for schedule_id, new in by_id.items():
                old = current.get(schedule_id)
                if old is None:
                    session.add(new)
                    continue
                timing = (old.cron, old.timezone) != (new.cron, new.timezone)
                for name in ("action_id", "owner", "channel_id", "service_id", "inputs"):
                    setattr(old, name, getattr(new, name))
                old.cron, old.timezone, old.misfire_grace = (
                    new.cron,
                    new.timezone,
                    new.misfire_grace,
                )
                if timing:  # a changed time: the next firing follows the new one
                    old.next_at = new.next_at
                session.add(old)
            session.commit()

    def add_schedule(self, schedule: Schedule) -> None:
        with self.session() as session:
            session.add(schedule)
            session.commit()

    def schedules(self, owner: str | None = None) -> list[Schedule]:
        query = select(Schedule).order_by(col(Schedule.next_at), col(Schedule.id))
        if owner is not None:
            query = query.where(Schedule.owner == owner)
        with self.session() as session:
            return list(session.exec(query))

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        with self.session() as session:
            return session.get(Schedule, schedule_id)

    def due_schedules(self, now: datetime) -> list[Schedule]:
        query = select(Schedule).where(
            col(Schedule.next_at) <= now, col(Schedule.paused).is_(False)
        )
        with self.session() as session:
            return list(session.exec(query))

    def claim_firing(
        self, schedule_id: str, due: datetime, following: datetime | None, job: Job | None
    ) -> bool:
        """Move the schedule past ``due``, with the firing's job, if nobody else did."""
        with self.session() as session:
            moved = session.exec(
                update(Schedule)
                .where(col(Schedule.id) == schedule_id, col(Schedule.next_at) == due)
                .where(col(Schedule.paused).is_(False))
                .values(next_at=following)
            )
            if moved.rowcount != 1:
                session.rollback()
                return False
            if job is not None:
                session.add(job)
            session.commit()
        return True

    def change_schedule(self, schedule_id: str, **fields: Any) -> Schedule | None:
        with self.session() as session:
            schedule = session.get(Schedule, schedule_id)
            if schedule is None:
                return None
            for name, value in fields.items():
                setattr(schedule, name, value)
            session.add(schedule)
            session.commit()
            return schedule

    def delete_schedule(self, schedule_id: str) -> bool:
        with self.session() as session:
            result = session.exec(delete(Schedule).where(col(Schedule.id) == schedule_id))
            session.commit()
        return bool(result.rowcount)
