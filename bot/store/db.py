"""The `Store` facade: one object with every query, gathered from the repositories by concern.

Each repository lives in its own module and shares the engine through `Database`:
runs (`runs`, and their reads in `run_queries`), the job queue (`queue`), the audit log
(`audit`) and its hash chain (`audit_chain`), audit sink cursors (`sinks`), approvals
(`approvals`), actions created in Slack (`slack_actions`), API tokens (`tokens`), users'
favourite actions (`favourites`), concurrency locks (`locks`) and schedules (`schedules`).
Callers keep using one `Store`.
"""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.store.approvals import ApprovalRepository
from bot.store.audit import AuditLog
from bot.store.engine import alembic_config
from bot.store.favourites import FavouriteRepository
from bot.store.locks import LockRepository
from bot.store.queue import JobQueue
from bot.store.run_queries import RunQueries
from bot.store.runs import RunRepository
from bot.store.schedules import ScheduleRepository
from bot.store.sinks import SinkCursors
from bot.store.slack_actions import SlackActionRepository
from bot.store.tokens import TokenRepository


class Store(
    RunRepository,
    RunQueries,
    JobQueue,
    AuditLog,
    SinkCursors,
    ApprovalRepository,
    SlackActionRepository,
    TokenRepository,
    FavouriteRepository,
    LockRepository,
    ScheduleRepository,
):
    """Sessions and the run/audit queries. Synchronous: async callers use a thread."""

    def ready(self) -> bool:
        """The database answers and its schema is at the latest migration."""
        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        return current == head

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
