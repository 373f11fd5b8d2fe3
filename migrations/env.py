"""Alembic environment: the URL comes from bot.store.alembic_config (or -x url=…)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from bot.store import models

config = context.config
url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
if not url:
    raise SystemExit("migrations: no database URL (use `python -m bot migrate`)")


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=models.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together migrate one at a time.
            connection.execute(text("SELECT pg_advisory_lock(7291)"))
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=models.metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(7291)"))
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
