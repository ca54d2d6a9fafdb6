"""scheduler job store and crawl run owners

The daemon keeps its schedule in APScheduler's SQLAlchemyJobStore table, in the same database as
the archive, so that the schedule survives a restart and missed runs coalesce. The table has exactly
the columns APScheduler declares (it would create them itself; a migration keeps Alembic the owner
of the schema). ``crawl_runs`` gains the process that runs a crawl (``pid`` on ``host``) so that
the daemon can tell a crawl that is still running from one whose process died.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"], unique=False)
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("host", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_column("host")
        batch_op.drop_column("pid")
    op.drop_index("ix_apscheduler_jobs_next_run_time", table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
