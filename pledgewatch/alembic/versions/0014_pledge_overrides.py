"""pledge_overrides: an analyst's corrections that survive extraction and rescans; archive_meta.

Revision ID: 0014
Revises: 0013

An analyst says a pledge's region (amount, kind, actor) is wrong, that a pledge or one report of it
is not a pledge, that two pledges are one, or that one report is a pledge of its own. Each is one
row here, with who and when (pledgewatch.store.overrides). The machine's own values on ``pledges``
stay as detected, so that identity keeps linking re-reports to the same pledge; the overrides are
applied over them wherever a pledge is shown, alerted or exported.

``archive_meta`` holds name/value facts about the archive, such as the pledge detector version the
archive was last read with: ``pledgewatch db upgrade`` compares it with the installed one to say
when a rescan is advised. Two new tables, no batch mode needed. The revision numbers in between
belong to other branches; the chain is fixed when they merge.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pledge_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("pledge_id", sa.Integer(), nullable=True),
        sa.Column("other_pledge_id", sa.Integer(), nullable=True),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("report_ref", sa.String(length=255), nullable=True),
        sa.Column("sentence", sa.Text(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_overrides")),
    )
    op.create_index(op.f("ix_pledge_overrides_pledge_id"), "pledge_overrides", ["pledge_id"])
    op.create_index(op.f("ix_pledge_overrides_other_pledge_id"), "pledge_overrides", ["other_pledge_id"])
    op.create_index(op.f("ix_pledge_overrides_mention_id"), "pledge_overrides", ["mention_id"])
    op.create_index(op.f("ix_pledge_overrides_article_id"), "pledge_overrides", ["article_id"])
    op.create_table(
        "archive_meta",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_archive_meta")),
    )
    # An archive that holds articles was read by a detector older than this record.
    op.execute(
        "INSERT INTO archive_meta (name, value, updated_at) "
        "SELECT 'detector_version', 'before-0014', CURRENT_TIMESTAMP "
        "WHERE EXISTS (SELECT 1 FROM articles)"
    )


def downgrade() -> None:
    op.drop_table("archive_meta")
    op.drop_index(op.f("ix_pledge_overrides_article_id"), table_name="pledge_overrides")
    op.drop_index(op.f("ix_pledge_overrides_mention_id"), table_name="pledge_overrides")
    op.drop_index(op.f("ix_pledge_overrides_other_pledge_id"), table_name="pledge_overrides")
    op.drop_index(op.f("ix_pledge_overrides_pledge_id"), table_name="pledge_overrides")
    op.drop_table("pledge_overrides")
