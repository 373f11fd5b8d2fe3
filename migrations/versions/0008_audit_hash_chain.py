"""audit hash chain, its head and the audit sinks' cursors

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Existing events are sealed into the chain in the order they were written (by id), with the
same hashing as new ones (bot/store/chain.py), so `python -m bot audit verify` covers them.
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from bot.store import chain
from bot.store.models import AuditEvent

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    seq, head, prev = backfill()
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    op.bulk_insert(
        sa.table(
            "audit_chain",
            sa.column("id", sa.Integer()),
            sa.column("seq", sa.BigInteger()),
            sa.column("prev_hash", sa.String()),
            sa.column("hash", sa.String()),
        ),
        [{"id": 1, "seq": seq, "prev_hash": prev, "hash": head}],
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_audit_event_seq"), ["seq"])
        batch_op.create_index(
            "ix_audit_event_unsealed",
            ["id"],
            unique=False,
            postgresql_where=sa.text("seq IS NULL"),
            sqlite_where=sa.text("seq IS NULL"),
        )
    op.create_table(
        "audit_sink_cursor",
        sa.Column("sink", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sink", name=op.f("pk_audit_sink_cursor")),
    )


def backfill() -> tuple[int, str, str]:
    """Chain the existing events by id; return the head (seq, hash, prev_hash)."""
    bind = op.get_bind()
    # The model's columns read `at` and `detail` back exactly as the application sees them.
    table = AuditEvent.__table__
    columns = [table.c[name] for name in ("id", *chain.FIELDS)]
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values(seq=sa.bindparam("new_seq"), prev_hash=sa.bindparam("prev"), hash=sa.bindparam("h"))
    )
    seq, head, prev, last_id = 0, chain.GENESIS, chain.GENESIS, -1
    while True:
        rows = bind.execute(
            sa.select(*columns).where(table.c.id > last_id).order_by(table.c.id).limit(BATCH)
        ).all()
        if not rows:
            return seq, head, prev
        values = []
        for row in rows:
            seq, prev = seq + 1, head
            head = chain.event_hash(prev, row)
            values.append({"row_id": row.id, "new_seq": seq, "prev": prev, "h": head})
        bind.execute(update, values)
        last_id = rows[-1].id


def downgrade() -> None:
    op.drop_table("audit_sink_cursor")
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_unsealed")
        batch_op.drop_constraint(batch_op.f("uq_audit_event_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
