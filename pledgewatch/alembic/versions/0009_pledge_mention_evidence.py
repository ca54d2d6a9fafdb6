"""pledge_mentions.evidence: why the detector took a sentence for a pledge (cue, quantity, subject);
pledges.actor_resolved: whether any report named the pledge's company.

Revision ID: 0009
Revises: 0008

An analyst checks an alert or a listing against the sentence; the evidence (the cue, the quantity
text and the subject that made it a pledge, and for a learned decision its score and weightiest
features) says at a glance why the machine read it so. JSON, nullable: mentions stored before this
revision have none, and nothing is recomputed. A plain ADD COLUMN, as in 0006 (batch mode would
recreate the table that the views of 0002/0007 refer to).

``pledges.actor_resolved`` is false for a pledge whose reports only say "it" or "the company" (the
actor is stored as written): identity looks such pledges up for a later report that names the
company, in the same indexed query as the company's own pledges. Existing pledges were all named.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pledge_mentions", sa.Column("evidence", sa.JSON(), nullable=True))
    op.add_column(
        "pledges",
        sa.Column("actor_resolved", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_column("pledges", "actor_resolved")
    op.drop_column("pledge_mentions", "evidence")
