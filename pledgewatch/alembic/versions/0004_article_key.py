"""article key: a publisher's article id, the same article on any host or URL variant

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("article_key", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_articles_article_key"), ["article_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_article_key"))
        batch_op.drop_column("article_key")
