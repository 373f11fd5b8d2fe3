"""Persistence: SQLModel tables, the engine, migrations, queries and the job queue."""

from bot.store.db import Store
from bot.store.engine import migrate, sqlalchemy_url
from bot.store.models import FINAL, AuditEvent, Job, Run, RunStatus

__all__ = ["FINAL", "AuditEvent", "Job", "Run", "RunStatus", "Store", "migrate", "sqlalchemy_url"]
