"""crawl_runs.health: the health of every source a run crawled (ok, degraded, broken, with why).

Revision ID: 0012
Revises: 0011

One nullable JSON column, ``{source: {"health", "reasons", "counts", "dead_start_urls"}}``, written
by the crawl when it finishes (pledgewatch.crawler.health). Older rows stay NULL: a source with no
health recorded yet shows as "unknown". A plain ADD COLUMN, no table copy (see 0006).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("crawl_runs", sa.Column("health", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("crawl_runs", "health")
