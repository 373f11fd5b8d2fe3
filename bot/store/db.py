"""Engine, migrations and the queries the rest of the bot needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, create_engine, select

from bot.store.models import AuditEvent, Run, utcnow

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` (as users write it) → the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> Engine:
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = sqlalchemy_url(url)
    return config


def migrate(url: str) -> None:
    """Bring the schema to the latest migration (safe to run from several replicas)."""
    command.upgrade(alembic_config(url), "head")


class Store:
    """Sessions and the run/audit queries. Synchronous: async callers use a thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def ready(self) -> bool:
        """The database answers and its schema is at the latest migration."""
        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        return current == head

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def create_run(self, run: Run, detail: dict[str, Any]) -> bool:
        """Insert a run with its `requested` event; False if its idempotency key exists."""
        with self.session() as session:
            session.add(run)
            try:
                session.flush()  # the run row first: events reference it
            except IntegrityError:
                session.rollback()
                if run.idempotency_key and self._has_key(session, run.idempotency_key):
                    return False
                raise
            session.add(
                AuditEvent(
                    run_id=run.id,
                    action_id=run.action_id,
                    kind="requested",
                    actor=run.user_id,
                    detail=detail,
                )
            )
            session.commit()
        return True

    @staticmethod
    def _has_key(session: Session, key: str) -> bool:
        return session.exec(select(Run.id).where(Run.idempotency_key == key)).first() is not None

    def record(
        self,
        kind: str,
        detail: dict[str, Any],
        *,
        run_id: str | None = None,
        action_id: str | None = None,
        actor: str | None = None,
    ) -> None:
        with self.session() as session:
            session.add(
                AuditEvent(
                    run_id=run_id, action_id=action_id, kind=kind, actor=actor, detail=detail
                )
            )
            session.commit()

    def update_run(self, run_id: str, **fields: Any) -> Run:
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise KeyError(run_id)
            for name, value in fields.items():
                setattr(run, name, value)
            session.add(run)
            session.commit()
            return run

    def finish_run(self, run_id: str, status: str, summary: str, event: dict[str, Any]) -> Run:
        """Set the final status and write its event in one transaction."""
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise KeyError(run_id)
            run.status = status
            run.summary = summary[:3000]
            run.finished_at = utcnow()
            session.add(run)
            session.add(
                AuditEvent(run_id=run_id, action_id=run.action_id, kind="finished", detail=event)
            )
            session.commit()
            return run

    def get_run(self, run_id: str) -> Run | None:
        with self.session() as session:
            return session.get(Run, run_id)

    def events(self, run_id: str | None = None, *, kind: str | None = None) -> list[AuditEvent]:
        """Audit events in the order they were written, filtered by run and kind."""
        query = select(AuditEvent).order_by(AuditEvent.id)
        if run_id is not None:
            query = query.where(AuditEvent.run_id == run_id)
        if kind is not None:
            query = query.where(AuditEvent.kind == kind)
        with self.session() as session:
            return list(session.exec(query))

    def runs(self, limit: int = 50) -> list[Run]:
        with self.session() as session:
            query = select(Run).order_by(Run.created_at.desc(), Run.id.desc()).limit(limit)
            return list(session.exec(query))

    def close(self) -> None:
        self.engine.dispose()
