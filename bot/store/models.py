"""The tables. Created and changed only by Alembic migrations (migrations/)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from bot.kinds import FINAL, JobStatus, RunKind, RunStatus

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


class UTCDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC in Python, whatever the database keeps (SQLite: naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _timestamp(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kwargs))


class Run(SQLModel, table=True):
    """One invocation of an action."""

    __tablename__ = "run"
    __table_args__ = (
        Index("ix_run_action_created", "action_id", "created_at"),
        Index("ix_run_user_created", "user_id", "created_at"),
        Index("ix_run_status_created", "status", "created_at"),
        Index("ix_run_action_user_created", "action_id", "user_id", "created_at"),
        Index("ix_run_service_created", "service_id", "created_at"),  # a service's page
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
    parent_id: str | None = Field(default=None, max_length=36)  # the run this one re-runs
    permalink: str | None = Field(default=None, max_length=500)  # of the status message
    # Started from a message: the status message is a reply in that message's thread.
    thread_ts: str | None = Field(default=None, max_length=32)
    is_test: bool = False  # an admin's `test` send: never posted to a channel
    kind: str = Field(default=RunKind.RUN, max_length=16)
    # Time-limited actions: when the revert is due (moved by Extend and Revoke now).
    expires_at: datetime | None = _timestamp(nullable=True)
    # Where the approval request was posted: [{channel, ts}], to update it on decisions.
    approval_refs: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # Approvals resolved at submission (bot/policy.py `Plan`): dynamic approvers, sources
    # that failed, the auto-approval rule that matched. None: no plan (older runs).
    approval_plan: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    # The values of `secret` inputs, encrypted (bot/vault.py): for the delivery, and to
    # redact what the receiver sends back. Erased when the run is final.
    sealed: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # How it was asked for when not in Slack: {"via": "api"|"mcp", "token": name,
    # "agent": MCP client name, "request": fingerprint of an idempotent API body}.
    origin: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _timestamp(nullable=False, default=utcnow, index=True)
    finished_at: datetime | None = _timestamp(nullable=True)

    @property
    def final(self) -> bool:
        return self.status in FINAL


class AuditEvent(SQLModel, table=True):
    """One step of a run, or one refusal or admin change. Append-only."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # The sealer's queue: events not in the hash chain yet (a handful at any time).
        Index(
            "ix_audit_event_unsealed",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str | None = Field(default=None, foreign_key="run.id", index=True, max_length=36)
    action_id: str | None = Field(default=None, max_length=64, index=True)
    kind: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=32)
    at: datetime = _timestamp(nullable=False, default=utcnow, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The hash chain (bot/store/chain.py): empty until the event is sealed.
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, unique=True))
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


class AuditChain(SQLModel, table=True):
    """The head of the audit hash chain: one row, locked while events are sealed."""

    __tablename__ = "audit_chain"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditSinkCursor(SQLModel, table=True):
    """How far each audit sink has received the chain: the last delivered `seq`."""

    __tablename__ = "audit_sink_cursor"

    sink: str = Field(primary_key=True, max_length=255)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = _timestamp(nullable=False, default=utcnow)


class Job(SQLModel, table=True):
    """Durable work: delivering a run, posting to Slack, a deadline. Claimed with a lease."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_ready", "done_at", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # a JobKind
    run_id: str | None = Field(default=None, foreign_key="run.id", index=True, max_length=36)
    # Set by the worker: a job that gave up is not done (and `last_error` says why).
    status: str = Field(default=JobStatus.QUEUED, max_length=16)
    due_at: datetime = _timestamp(nullable=False, default=utcnow)
    attempts: int = 0
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _timestamp(nullable=True)
    last_error: str | None = Field(default=None, max_length=2000)
    done_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime = _timestamp(nullable=False, default=utcnow)


class SlackAction(SQLModel, table=True):
    """An action created in Slack with `/actions-admin new`: the same document as in YAML."""

    __tablename__ = "slack_action"

    id: str = Field(primary_key=True, max_length=64)
    document: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=32)
    updated_by: str = Field(max_length=32)
    created_at: datetime = _timestamp(nullable=False, default=utcnow)
    updated_at: datetime = _timestamp(nullable=False, default=utcnow, index=True)


class ApprovalDecision(SQLModel, table=True):
    """One approver's decision on a run: at most one each (a unique pair)."""

    __tablename__ = "approval_decision"
    __table_args__ = (UniqueConstraint("run_id", "approver"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="run.id", index=True, max_length=36)
    approver: str = Field(max_length=32)
    approved: bool
    comment: str = Field(default="", max_length=3000)
    at: datetime = _timestamp(nullable=False, default=utcnow)


class ApiToken(SQLModel, table=True):
    """A personal API token: only its keyed hash is kept, never the token."""

    __tablename__ = "api_token"

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    user_id: str = Field(max_length=32, index=True)
    name: str = Field(max_length=75)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hash: str = Field(max_length=64, unique=True)  # HMAC-SHA256 of the token, hex
    created_by: str = Field(max_length=32)
    created_at: datetime = _timestamp(nullable=False, default=utcnow)
    expires_at: datetime = _timestamp(nullable=False)
    last_used_at: datetime | None = _timestamp(nullable=True)
    revoked_at: datetime | None = _timestamp(nullable=True)
    revoked_by: str | None = Field(default=None, max_length=32)


class Favourite(SQLModel, table=True):
    """An action a user starred: shown first in their catalog and Home tab."""

    __tablename__ = "favourite"

    user_id: str = Field(primary_key=True, max_length=32)
    action_id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = _timestamp(nullable=False, default=utcnow)


class RunLock(SQLModel, table=True):
    """A run's place for a concurrency key: holding a slot, or waiting (no slot).

    The unique (key, slot) pair is the lock: two replicas cannot take one slot, so at most
    `limit` runs hold a key. A holder's lease is renewed while its jobs run; a run that
    ends deletes its row in the same transaction, and an expired lease (a crashed holder)
    is taken over by the next run that asks.
    """

    __tablename__ = "run_lock"
    __table_args__ = (UniqueConstraint("key", "slot"),)

    run_id: str = Field(foreign_key="run.id", primary_key=True, max_length=36)
    key: str = Field(max_length=300, index=True)
    slot: int | None = None  # 0 ≤ slot < limit while holding; None while waiting
    label: str = Field(default="", max_length=200)  # the rendered key, as people read it
    # When it joined the queue (the queue's order); once holding, when it took its slot.
    queued_at: datetime = _timestamp(nullable=False, default=utcnow)
    expires_at: datetime | None = _timestamp(nullable=True)  # the holder's lease


class Schedule(SQLModel, table=True):
    """Runs started by the clock as their owner: from the config file or created in Slack.

    `next_at` is the next firing (None: a one-off that fired). Replicas claim a firing by
    moving `next_at` on with a conditional update, so each firing happens once.
    """

    __tablename__ = "schedule"

    id: str = Field(primary_key=True, max_length=80)
    action_id: str = Field(max_length=64)
    owner: str = Field(max_length=32)
    channel_id: str | None = Field(default=None, max_length=32)
    service_id: str | None = Field(default=None, max_length=64)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cron: str | None = Field(default=None, max_length=100)
    timezone: str = Field(default="UTC", max_length=64)
    misfire_grace: float = 600.0
    next_at: datetime | None = _timestamp(nullable=True, index=True)
    paused: bool = False
    note: str = Field(default="", max_length=500)  # why it paused itself
    from_config: bool = False
    last_fired_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime = _timestamp(nullable=False, default=utcnow)
