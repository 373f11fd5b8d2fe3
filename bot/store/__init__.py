"""Persistence: SQLModel tables, the engine, migrations, queries and the job queue."""

from bot.kinds import FINAL, RunStatus
from bot.store.db import Store
from bot.store.engine import migrate, sqlalchemy_url
from bot.store.models import AuditEvent, Job, Run

__all__ = ["FINAL", "AuditEvent", "Job", "Run", "RunStatus", "Store", "migrate", "sqlalchemy_url"]
