"""The overview views count only what the archive states now: withdrawn mentions are history.

Revision ID: 0007
Revises: 0006

Migration 0006 keeps a mention an edit took back (``pledge_mentions.withdrawn_at``) instead of
deleting it. The views of migration 0002 predate that and counted such mentions as reports, so
``pledges_overview`` disagreed with ``pledgewatch pledges list``: a pledge no article states any
more was still listed, and a withdrawn sentence could be shown as the first report. Now:

* ``pledges_overview`` lists the pledges with at least one current mention (as ``pledges list``
  does); ``mention_count``, ``latest_mention_at`` and the first report use current mentions only,
  and ``withdrawn_mention_count`` says how many an edit took back;
* ``articles_overview.pledge_mentions`` counts the mentions the article states now.

Views only: nothing is copied, and the downgrade restores 0002's definitions.
"""

from __future__ import annotations

from types import ModuleType

from alembic import op

from pledgewatch.store import db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PLEDGES_OVERVIEW = """
CREATE VIEW pledges_overview AS
SELECT
    p.id AS pledge_id,
    p.actor,
    p.kind,
    p.qualifier,
    p.amount_value,
    p.currency,
    p.amount_unit,
    p.region,
    p.horizon,
    p.start_year,
    p.end_year,
    p.revision,
    p.first_published_at,
    fa.id AS first_article_id,
    fa.title AS first_article_title,
    fa.canonical_url AS first_article_url,
    COALESCE(fa.outlet, fs.title) AS first_outlet,
    fs.name AS first_source,
    fm.sentence AS first_sentence,
    stats.latest_mention_at,
    stats.mention_count,
    stats.withdrawn_mention_count,
    p.created_at
FROM pledges p
JOIN (
    SELECT
        pledge_id,
        SUM(CASE WHEN withdrawn_at IS NULL THEN 1 ELSE 0 END) AS mention_count,
        SUM(CASE WHEN withdrawn_at IS NULL THEN 0 ELSE 1 END) AS withdrawn_mention_count,
        MAX(CASE WHEN withdrawn_at IS NULL THEN COALESCE(published_at, created_at) END) AS latest_mention_at
    FROM pledge_mentions
    GROUP BY pledge_id
    HAVING SUM(CASE WHEN withdrawn_at IS NULL THEN 1 ELSE 0 END) > 0
) stats ON stats.pledge_id = p.id
LEFT JOIN pledge_mentions fm ON fm.id = (
    SELECT m.id FROM pledge_mentions m
    WHERE m.pledge_id = p.id AND m.article_id IS NOT NULL AND m.withdrawn_at IS NULL
    ORDER BY COALESCE(m.published_at, m.created_at), m.id
    LIMIT 1
)
LEFT JOIN articles fa ON fa.id = fm.article_id
LEFT JOIN sources fs ON fs.id = fa.source_id
"""

ARTICLES_OVERVIEW = """
CREATE VIEW articles_overview AS
SELECT
    a.id AS article_id,
    a.title,
    s.name AS source,
    s.title AS source_title,
    COALESCE(a.outlet, s.title) AS outlet,
    a.published_at AS published,
    a.relevant,
    a.version,
    a.story_id,
    (SELECT COUNT(*) FROM articles o WHERE o.story_id = a.story_id) AS story_articles,
    (
        SELECT COUNT(*) FROM pledge_mentions pm WHERE pm.article_id = a.id AND pm.withdrawn_at IS NULL
    ) AS pledge_mentions,
    a.canonical_url AS url,
    a.fetched_at,
    a.updated_at
FROM articles a
JOIN sources s ON s.id = a.source_id
"""


def _revision_0002() -> ModuleType:
    """Migration 0002's module: what it defined is restored from there (one copy of that SQL)."""
    return db.migration_module("0002")


def _drop_views() -> None:
    op.execute("DROP VIEW IF EXISTS articles_overview")
    op.execute("DROP VIEW IF EXISTS pledges_overview")


def upgrade() -> None:
    _drop_views()
    op.execute(PLEDGES_OVERVIEW)
    op.execute(ARTICLES_OVERVIEW)


def downgrade() -> None:
    _drop_views()
    _revision_0002().create_views()
