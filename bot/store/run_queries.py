"""Runs: the read queries (by id, by user, by service, pages and statistics)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import col, select

from bot.kinds import RunKind, RunStatus
from bot.store.engine import Database
from bot.store.models import Run


class RunQueries(Database):
    """Reading runs; `RunRepository` writes them."""

    def run_by_key(self, key: str) -> Run | None:
        with self.session() as session:
            return session.exec(select(Run).where(Run.idempotency_key == key)).first()

    def get_run(self, run_id: str) -> Run | None:
        with self.session() as session:
            return session.get(Run, run_id)

    def runs_by_prefix(self, prefix: str, limit: int = 10) -> list[Run]:
        """Runs whose id starts with ``prefix`` (messages show 8 characters), newest first."""
        query = (
            select(Run)
            .where(col(Run.id).startswith(prefix, autoescape=True))
            .order_by(col(Run.created_at).desc(), col(Run.id).desc())
            .limit(limit)
        )
        with self.session() as session:
            return list(session.exec(query))

    def runs(self, limit: int = 50) -> list[Run]:
        with self.session() as session:
            query = (
                select(Run).order_by(col(Run.created_at).desc(), col(Run.id).desc()).limit(limit)
            )
            return list(session.exec(query))

    def runs_of(self, user_id: str, limit: int = 5) -> list[Run]:
        with self.session() as session:
            query = (
                select(Run)
                .where(Run.user_id == user_id)
                .order_by(col(Run.created_at).desc(), col(Run.id).desc())
                .limit(limit)
            )
            return list(session.exec(query))

    def grants_of(self, user_id: str, since: datetime, limit: int = 20) -> list[Run]:
        """The user's time-limited runs that succeeded and were due to expire after ``since``,
        soonest first: the candidates for "My access" (their reverts decide the rest)."""
        query = (
            select(Run)
            .where(
                Run.user_id == user_id,
                Run.kind == RunKind.RUN,
                Run.status == RunStatus.SUCCESS,
                col(Run.expires_at) >= since,
            )
            .order_by(col(Run.expires_at))
            .limit(limit)
        )
        with self.session() as session:
            return list(session.exec(query))

    def runs_on(self, service_id: str, limit: int = 5) -> list[Run]:
        """The latest runs on a service (reverts and tests left out), newest first."""
        query = (
            select(Run)
            .where(
                Run.service_id == service_id,
                Run.kind == RunKind.RUN,
                col(Run.is_test).is_(False),
            )
            .order_by(col(Run.created_at).desc(), col(Run.id).desc())
            .limit(limit)
        )
        with self.session() as session:
            return list(session.exec(query))

    def children(self, run_id: str, kind: str | None = None) -> list[Run]:
        query = select(Run).where(Run.parent_id == run_id).order_by(col(Run.created_at))
        if kind:
            query = query.where(Run.kind == kind)
        with self.session() as session:
            return list(session.exec(query))

    def started_since(
        self, action_id: str, user_id: str, since: datetime, limit: int
    ) -> list[datetime]:
        """When ``user_id`` started runs of the action since ``since``, newest first.

        Reverts are started by the bot, not the user: they do not count.
        """
        with self.session() as session:
            query = (
                select(Run.created_at)
                .where(
                    Run.action_id == action_id,
                    Run.user_id == user_id,
                    col(Run.created_at) >= since,
                    Run.kind != RunKind.REVERT,
                )
                .order_by(col(Run.created_at).desc())
                .limit(limit)
            )
            return list(session.exec(query))

    def runs_page(
        self,
        *,
        action_id: str | None = None,
        user_id: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 20,
    ) -> list[Run]:
        """Runs newest first, filtered; ``before`` is the keyset cursor (created_at, id).

        Keyset pagination uses the (filter, created_at) indexes, so page 1000 costs what
        page 1 does.
        """
        query = select(Run)
        if action_id:
            query = query.where(Run.action_id == action_id)
        if user_id:
            query = query.where(Run.user_id == user_id)
        if status:
            query = query.where(Run.status == status)
        if since:
            query = query.where(col(Run.created_at) >= since)
        if before:
            stamp, run_id = before
            query = query.where(
                (col(Run.created_at) < stamp)
                | ((col(Run.created_at) == stamp) & (col(Run.id) < run_id))
            )
        query = query.order_by(col(Run.created_at).desc(), col(Run.id).desc()).limit(limit)
        with self.session() as session:
            return list(session.exec(query))

    def action_stats(self, since: datetime) -> dict[str, tuple[int, int]]:
        """Runs and failures per action since a time (tests excluded)."""
        failed = func.sum(case((col(Run.status).in_(["FAILURE", "TIMED_OUT"]), 1), else_=0))
        query = (
            select(Run.action_id, func.count(), failed)
            .where(col(Run.created_at) >= since, col(Run.is_test).is_(False))
            .group_by(Run.action_id)
        )
        with self.session() as session:
            return {row[0]: (int(row[1]), int(row[2] or 0)) for row in session.exec(query)}
