"""article key: a publisher's article id, the same article on any host or URL variant

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not batch mode: SQLite adds and (since 3.35) drops a column natively, and a
# batch rebuild of `articles` would break the full-text triggers and views of revision 0002.


def upgrade() -> None:
    op.add_column("articles", sa.Column("article_key", sa.String(length=255), nullable=True))
    op.create_index(op.f("ix_articles_article_key"), "articles", ["article_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_articles_article_key"), table_name="articles")
    op.drop_column("articles", "article_key")
