"""Persistence: SQLModel tables, the engine, migrations and queries."""

from bot.store.db import Store, migrate, sqlalchemy_url
from bot.store.models import FINAL, AuditEvent, Run, RunStatus

__all__ = ["FINAL", "AuditEvent", "Run", "RunStatus", "Store", "migrate", "sqlalchemy_url"]
