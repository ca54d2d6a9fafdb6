"""articles.analysis_deferred_at: an article stored without its pledges, to rescan.

Revision ID: 0013
Revises: 0012

Pledge detection runs under a time budget per article in the crawl (pledgewatch.ingest
.PledgeAnalyzer); an article that overruns it is stored anyway and marked here, so it is neither
lost nor refetched forever. A plain nullable ADD COLUMN (no batch mode: views refer to ``articles``).
The revision numbers in between belong to other branches; the chain is fixed when they merge.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("analysis_deferred_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("articles", "analysis_deferred_at")
