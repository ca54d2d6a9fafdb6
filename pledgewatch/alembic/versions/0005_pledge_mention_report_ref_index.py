"""Index pledge_mentions.report_ref: re-processing a report finds its mentions without a scan.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pledge_mentions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pledge_mentions_report_ref"), ["report_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pledge_mentions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pledge_mentions_report_ref"))
