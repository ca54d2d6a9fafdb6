"""Pledge identity as an indexed query: amount indexes, purpose stems stored per mention.

Revision ID: 0016
Revises: 0014

Every report of a pledge is looked up among the known ones (store.pledges._find_pledge). That
lookup read every pledge of the actor and every mention, and recomputed each mention's purpose
words, so a crawl's cost per article grew with the archive. Now the candidates come from index
seeks on (actor, currency, amount) of pledges and (currency, amount) of mentions, and each
mention keeps its purpose stems (``purpose_stems``) with the key they were computed under
(``purpose_key``: the rules' version and the pledge's actor). Both are nullable plain ADD COLUMNs
(no batch mode: the views of 0002/0007 refer to ``pledge_mentions``); existing mentions get their
stems at the first lookup that reads them, so nothing is recomputed at upgrade.
(0015 is unused: revision ids were handed out per branch before they were merged.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pledge_mentions", sa.Column("purpose_stems", sa.Text(), nullable=True))
    op.add_column("pledge_mentions", sa.Column("purpose_key", sa.String(length=320), nullable=True))
    op.create_index("ix_pledges_actor_currency_amount", "pledges", ["actor", "currency", "amount_value"])
    op.create_index(
        "ix_pledges_resolved_currency_amount", "pledges", ["actor_resolved", "currency", "amount_value"]
    )
    op.create_index("ix_pledge_mentions_currency_amount", "pledge_mentions", ["currency", "amount_value"])


def downgrade() -> None:
    op.drop_index("ix_pledge_mentions_currency_amount", table_name="pledge_mentions")
    op.drop_index("ix_pledges_resolved_currency_amount", table_name="pledges")
    op.drop_index("ix_pledges_actor_currency_amount", table_name="pledges")
    op.drop_column("pledge_mentions", "purpose_key")
    op.drop_column("pledge_mentions", "purpose_stems")
