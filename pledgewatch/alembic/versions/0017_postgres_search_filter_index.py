"""PostgreSQL: the search index also holds each article's source and relevance (btree_gin).

Revision ID: 0017
Revises: 0016

PostgreSQL searches the rank window in ranges of ids, newest first (store/search_postgres.py). A
filter (``--source``, ``--relevant``) came from its column's own btree index, as a bitmap of every
article it keeps (a third of the archive: 30-60 ms in 1M articles), whatever the words and the range,
before it was ANDed with the words' bitmap. ``ix_articles_search_vector`` is now a GIN index on
(search_vector, source_id, relevant): GIN intersects the keys inside the index, walking the rarest
list and skipping through the long ones (``Hubei`` in 28,000 articles AND ``people`` in 333,000:
9,448 entries read, 6 ms), and search writes those filters so the index can use them
(search_postgres.postgres_filter_clauses). Dates stay in their btree index (a range in GIN would
read every date's list).

Indexing integers and booleans in GIN takes the ``btree_gin`` extension, a contrib module that ships
with PostgreSQL and is *trusted* (PostgreSQL 13+: a user with CREATE on the database may install it).
It is used wherever it is already installed, or created in ``public`` (in the archive's schema only
when there is no ``public``), like ``unaccent`` in 0008; its operator classes are found by type, so
the schema does not matter to the index. Without it (no contrib package, no privilege) the upgrade
keeps 0002's index, logs one line saying so, and search works as before, only slower with filters
on large archives. Rebuilding the index reads every article's tsvector: about as long as building
it (5 minutes for a million articles on the development machine, see docs/schema.md).

The downgrade restores 0002's index; it leaves the extension installed (other archives in the
database may use it). SQLite: nothing to do (FTS5 walks its matches by id and checks filters in the
covering index ``ix_articles_search_filters``, 0002).
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

INDEX = "ix_articles_search_vector"
SEARCH_INDEX_COLUMNS = "search_vector, source_id, relevant"
SEARCH_INDEX_0002_COLUMNS = "search_vector"


def _reason(exc: DBAPIError) -> str:
    return (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]


def _install_btree_gin(bind: Connection) -> str:
    """Install btree_gin if need be; the reason it is not available, or ''."""
    if bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'btree_gin'").scalar():
        return ""
    has_public = bind.exec_driver_sql("SELECT to_regnamespace('public') IS NOT NULL").scalar()
    target = (
        "public"
        if has_public
        else bind.exec_driver_sql(
            "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'articles'::regclass"
        ).scalar_one()
    )
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA {target}")
    except DBAPIError as exc:
        # Another archive's migration may have installed it meanwhile (then this one lost the race).
        if bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'btree_gin'").scalar():
            return ""
        return _reason(exc)
    return ""


def _rebuild_index(columns: str) -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    op.execute(f"CREATE INDEX {INDEX} ON articles USING gin ({columns})")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    problem = _install_btree_gin(bind)
    if problem:
        log.warning(
            "PostgreSQL extension btree_gin is not available (%s): search keeps its index on words "
            "only (slower filters and common words in large archives). To fix, have a superuser or "
            "the database's owner run `CREATE EXTENSION btree_gin SCHEMA public` in it (a PostgreSQL "
            "contrib module), then run `pledgewatch db downgrade 0016 --yes && pledgewatch db upgrade`.",
            problem,
        )
        return
    _rebuild_index(SEARCH_INDEX_COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild_index(SEARCH_INDEX_0002_COLUMNS)
