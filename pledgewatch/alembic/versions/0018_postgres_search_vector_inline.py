"""PostgreSQL: everything of an article but its text is kept in its row, not in TOAST.

Revision ID: 0018
Revises: 0017

Search reads the tsvector of every article it ranks or tests (store/search_postgres.py: the rank
window's rows, a walk's tests, a phrase's recheck). Under the default ``EXTENDED`` storage, a row
over 2 kB (an article's text and its tsvector together) has its largest values moved out of line,
and a tsvector compresses too little for pglz to keep it inline: most were in TOAST, so each read
was a second index lookup and three or four more buffers (1M articles, ``Hubei``: 7,700 buffers
for ranking 1,991 rows, 10-14 ms). ``STORAGE MAIN`` keeps the tsvector in the row unless the row
would not fit in a page; the text, still ``EXTENDED``, goes to TOAST first. The other small values
(URL, hashes, fingerprint, title...) are ``MAIN`` too: a row still over 2 kB once its text is out
(the tsvector alone is often more) would otherwise have them moved out one by one, and every load
of an article would read three more TOAST values. Measured on the 1M benchmark archive
(benchmarks/README.md): the ranking's TOAST reads gone, a walk's test 3.3 -> 1.9 µs.

Only rows written from now on are stored this way. The rows already there move when the table is
rewritten: ``VACUUM FULL articles`` (it locks the table while it runs: minutes for a million
articles; stop the daemon first). Search gives the same results either way, only faster on the
rewritten rows. The downgrade sets ``EXTENDED`` again for new rows. SQLite: nothing to do.
"""

from __future__ import annotations

import logging

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# Every variable-length column of articles but text (fixed-size ones are never toasted).
IN_ROW = (
    "search_vector",
    "canonical_url",
    "article_key",
    "title",
    "authors",
    "outlet",
    "language",
    "content_hash",
    "fingerprint",
    "entities",
    "extraction",
)


def _set_storage(storage: str) -> None:
    changes = ", ".join(f"ALTER COLUMN {column} SET STORAGE {storage}" for column in IN_ROW)
    op.execute(f"ALTER TABLE articles {changes}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _set_storage("MAIN")
    if bind.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM articles)").scalar():
        log.info(
            "articles written from now on keep their search vectors in the row (faster search); "
            "to move the existing ones too, run `VACUUM FULL articles` in the database while the "
            "daemon is stopped (it locks the table; minutes for a million articles)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _set_storage("EXTENDED")
