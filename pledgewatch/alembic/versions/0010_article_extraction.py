"""articles.extraction: which parser, layout version and fallback step produced each field.

Revision ID: 0010
Revises: 0009

A site's redesign used to show only as silently worse text. Each stored article now records
``{"parser": ..., "version": ..., "fields": {"title": "2017www#1", "published": "url_date",
"body": "generic", ...}}`` (pledgewatch.spiders.parsing.ArticleParser.extraction), so
fields that start coming from ``generic``, ``url_date`` or ``failed`` are visible in the data. JSON,
nullable: articles stored before this revision have none, and nothing is recomputed. A plain ADD
COLUMN, as in 0006 (batch mode would recreate the table that the views of 0002/0007 refer to).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("extraction", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("articles", "extraction")
