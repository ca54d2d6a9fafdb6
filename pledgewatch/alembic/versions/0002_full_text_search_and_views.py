"""full-text search over articles, and SQL views for the common questions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:20:00

SQLite: ``articles_fts``, an FTS5 external-content table over ``articles(title, text)`` (the text is
stored once, in ``articles``), kept in sync by triggers, so an article and its index entry are
written in the same transaction whatever code path writes the article (ORM, raw SQL, a user's
sqlite3 shell).

PostgreSQL: ``articles.search_vector``, a stored generated tsvector (title weight A, body weight B),
with a GIN index; the database computes it on every insert and update.

Both: the views ``pledges_overview`` and ``articles_overview`` (see docs/schema.md).

Note for later migrations on SQLite: a batch migration that *recreates* ``articles`` (copy, drop,
rename) drops the FTS triggers with the old table, and SQLite refuses to rename a table while a view
refers to a missing one. Such a migration must call ``drop_views()`` first and ``create_views()`` plus
``create_sqlite_fts_triggers()`` afterwards (copy them, migrations must not import each other).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# porter stemming over unicode61 (case folding, diacritics removed, also from combined letters):
# "investing" finds "invest", "Suning" finds "suning".
SQLITE_FTS_TABLE = """
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, text,
    content="articles", content_rowid="id",
    tokenize='porter unicode61 remove_diacritics 2'
)
"""

# Search filters (source, dates, relevant) are checked per match; in SQLite the articles row holds the
# text, so reading `relevant` after it walks overflow pages. This covering index answers the filters
# by id without touching the row (store/search.py names it in INDEXED BY).
SQLITE_SEARCH_FILTER_INDEX = (
    "CREATE INDEX ix_articles_search_filters ON articles (id, source_id, published_at, relevant)"
)

SQLITE_FTS_TRIGGERS = (
    """
    CREATE TRIGGER articles_fts_after_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END
    """,
    """
    CREATE TRIGGER articles_fts_after_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    END
    """,
    """
    CREATE TRIGGER articles_fts_after_update AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END
    """,
)

# PostgreSQL's parser reads "JD.com" as one host name, "e-commerce" as a compound and "3.12" as one
# number, where FTS5's unicode61 sees the words "jd com", "e commerce", "3 12": a search for "JD"
# would miss every "JD.com" on PostgreSQL only. Punctuation is turned into spaces before parsing, so
# both backends index the same words (the query side does the same, see store/search.py).
POSTGRES_PUNCTUATION = r"'[!-/:-@\[-`{-~\u00a1-\u00bf\u2010-\u205e\u3000-\u303f\uff01-\uff0f]+'"
POSTGRES_SEARCH_VECTOR = f"""
ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig,
        regexp_replace(coalesce(title, ''), E{POSTGRES_PUNCTUATION}, ' ', 'g')), 'A')
    || setweight(to_tsvector('english'::regconfig,
        regexp_replace(coalesce(text, ''), E{POSTGRES_PUNCTUATION}, ' ', 'g')), 'B')
) STORED
"""

# The first mention is the earliest published one that comes from an archived article (the
# article a user opens); mentions from imported texts (report_ref) still count.
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
    p.created_at
FROM pledges p
LEFT JOIN (
    SELECT pledge_id, COUNT(*) AS mention_count, MAX(COALESCE(published_at, created_at)) AS latest_mention_at
    FROM pledge_mentions
    GROUP BY pledge_id
) stats ON stats.pledge_id = p.id
LEFT JOIN pledge_mentions fm ON fm.id = (
    SELECT m.id FROM pledge_mentions m
    WHERE m.pledge_id = p.id AND m.article_id IS NOT NULL
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
    (SELECT COUNT(*) FROM pledge_mentions pm WHERE pm.article_id = a.id) AS pledge_mentions,
    a.canonical_url AS url,
    a.fetched_at,
    a.updated_at
FROM articles a
JOIN sources s ON s.id = a.source_id
"""


def create_views() -> None:
    op.execute(PLEDGES_OVERVIEW)
    op.execute(ARTICLES_OVERVIEW)


def drop_views() -> None:
    op.execute("DROP VIEW IF EXISTS articles_overview")
    op.execute("DROP VIEW IF EXISTS pledges_overview")


def create_sqlite_fts_triggers() -> None:
    for statement in SQLITE_FTS_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_FTS_TABLE)
        create_sqlite_fts_triggers()
        op.execute(SQLITE_SEARCH_FILTER_INDEX)
        # Backfill: index every article already in the archive.
        op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
    elif dialect == "postgresql":
        # A stored generated column: adding it computes it for every existing article (backfill).
        op.execute(POSTGRES_SEARCH_VECTOR)
        op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
    create_views()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    drop_views()
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS articles_fts_after_update")
        op.execute("DROP TRIGGER IF EXISTS articles_fts_after_delete")
        op.execute("DROP TRIGGER IF EXISTS articles_fts_after_insert")
        op.execute("DROP TABLE IF EXISTS articles_fts")
        op.execute("DROP INDEX IF EXISTS ix_articles_search_filters")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
