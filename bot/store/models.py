"""The tables. Created and changed only by Alembic migrations (migrations/)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, MetaData
from sqlmodel import Field, SQLModel

# Named constraints, so migrations can alter them on SQLite and PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


def _timestamp(**kwargs: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), **kwargs))


class RunStatus(StrEnum):
    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


FINAL = {RunStatus.SUCCESS, RunStatus.FAILURE}


class Run(SQLModel, table=True):
    """One invocation of an action."""

    __tablename__ = "run"
    __table_args__ = (
        Index("ix_run_action_created", "action_id", "created_at"),
        Index("ix_run_user_created", "user_id", "created_at"),
        Index("ix_run_status_created", "status", "created_at"),
    )

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    action_id: str = Field(max_length=64)
    user_id: str = Field(max_length=32)
    user_name: str = Field(default="", max_length=255)
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    service_id: str | None = Field(default=None, max_length=64)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=RunStatus.PENDING, max_length=16)
    # Slack may deliver one submission twice; the second insert of this key is refused.
    idempotency_key: str | None = Field(default=None, max_length=255, unique=True)
    summary: str = Field(default="", max_length=3000)
    created_at: datetime = _timestamp(nullable=False, default=utcnow, index=True)
    finished_at: datetime | None = _timestamp(nullable=True)


class AuditEvent(SQLModel, table=True):
    """One step of a run, or one refusal or admin change. Append-only."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str | None = Field(default=None, foreign_key="run.id", index=True, max_length=36)
    action_id: str | None = Field(default=None, max_length=64, index=True)
    kind: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=32)
    at: datetime = _timestamp(nullable=False, default=utcnow, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
