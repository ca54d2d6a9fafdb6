"""pledge_mentions.evidence: why the detector took a sentence for a pledge (cue, quantity, subject).

Revision ID: 0009
Revises: 0008

An analyst checks an alert or a listing against the sentence; the evidence (the cue, the quantity
text and the subject that made it a pledge, and for a learned decision its score and weightiest
features) says at a glance why the machine read it so. JSON, nullable: mentions stored before this
revision have none, and nothing is recomputed. A plain ADD COLUMN, as in 0006 (batch mode would
recreate the table that the views of 0002/0007 refer to).
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


def downgrade() -> None:
    op.drop_column("pledge_mentions", "evidence")
