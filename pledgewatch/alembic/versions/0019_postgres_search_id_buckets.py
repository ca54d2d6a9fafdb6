"""PostgreSQL: the search index also holds each article's id bucket (``id / 8192``).

Revision ID: 0019
Revises: 0018

Search ranks the newest matches (the rank window) and finds them in ranges of ids, newest first
(store/search_postgres.py). A range used to be the primary key's bitmap of every id in it, ANDed
with the words' bitmap from the GIN index: for ``Pinduoduo`` in 1M articles (1.4 %), a range of
179,000 ids cost 17-19 ms of btree bitmap before any row was read, and the words' whole list was read
again for every range. ``ix_articles_search_vector`` is now a GIN index on (search_vector, source_id,
relevant, (id / 8192)): GIN intersects the words with the buckets of the range inside the index,
skipping through the words' list to each bucket (about 20 µs a bucket plus the matches in it), so
the same range costs 1.4 ms. Search reads the bucket size from the index's definition and keeps the
primary-key ranges where the index has no buckets.

Needs ``btree_gin``, like 0017; where 0017 could not install it the index stays as 0017 left it (on
the words only) and the upgrade logs one line. Rebuilding the index reads every article's tsvector:
2 minutes for a million articles on the development machine (writes to ``articles`` wait meanwhile).
The downgrade rebuilds 0017's index. SQLite: nothing to do (FTS5 walks its matches by id).
"""

from __future__ import annotations

import logging

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

INDEX = "ix_articles_search_vector"
# The bucket size is read back from the index by search (search_postgres._postgres_begin_search):
# a power of two near the ids a common word's window needs per bucket read.
SEARCH_INDEX_COLUMNS = "search_vector, source_id, relevant, (id / 8192)"
SEARCH_INDEX_0017_COLUMNS = "search_vector, source_id, relevant"


def _columns_now() -> int:
    """How many columns the search index has (1 without btree_gin, 3 after 0017, 4 after 0019)."""
    count = (
        op.get_bind()
        .exec_driver_sql(f"SELECT indnatts FROM pg_index WHERE indexrelid = to_regclass('{INDEX}')")
        .scalar()
    )
    return int(count or 0)


def _rebuild_index(columns: str) -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    op.execute(f"CREATE INDEX {INDEX} ON articles USING gin ({columns})")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    if _columns_now() != 3:
        log.warning(
            "PostgreSQL search index %s is not 0017's (search_vector, source_id, relevant), most likely "
            "because btree_gin was not available: it stays as it is and search reads ranges of ids "
            "from the primary key (slower for common words in large archives; see docs/schema.md).",
            INDEX,
        )
        return
    _rebuild_index(SEARCH_INDEX_COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    if _columns_now() == 4:
        _rebuild_index(SEARCH_INDEX_0017_COLUMNS)
