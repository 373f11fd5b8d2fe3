"""a status on each job, so a job that gave up no longer looks done

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Existing rows are backfilled from what they show: not done yet is queued (a claimed one is
claimed again when its lease ends); done with an error other than the run's end ("run
SUCCESS", written when a finished run closes its pending jobs) means the worker gave up.
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="queued",
            )
        )
    job = sa.table(
        "job",
        sa.column("status", sa.String),
        sa.column("done_at", sa.DateTime),
        sa.column("last_error", sa.String),
    )
    finished = job.c.done_at.is_not(None)
    gave_up = finished & job.c.last_error.is_not(None) & job.c.last_error.not_like("run %")
    op.execute(job.update().where(finished).values(status="done"))
    op.execute(job.update().where(gave_up).values(status="given_up"))


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("status")
