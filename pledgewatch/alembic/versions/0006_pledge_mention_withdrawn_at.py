"""pledge_mentions.withdrawn_at: a mention an edit no longer states is kept as history, not deleted.

Revision ID: 0006
Revises: 0005

Added with a plain ADD COLUMN (not batch mode): on SQLite, batch mode recreates the table, which
the ``pledges_overview`` view (migration 0002) refers to. A nullable column needs no table copy.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pledge_mentions", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops a column natively when nothing (index, view column list) names it.
    op.drop_column("pledge_mentions", "withdrawn_at")
