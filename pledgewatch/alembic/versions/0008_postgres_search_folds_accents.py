"""full-text search on PostgreSQL ignores accents, as it does on SQLite

Revision ID: 0008
Revises: 0007

SQLite's FTS5 tokenizer (``remove_diacritics 2``) indexes "Café" as "cafe"; PostgreSQL's ``english``
configuration kept "café", so ``cafe`` found an article on SQLite only. Now PostgreSQL uses
``pledgewatch_english``: a copy of ``english`` whose mappings for words with non-ASCII letters
(``word``, ``hword``, ``hword_part``, ``numword``) run the ``unaccent`` dictionary (contrib extension
``unaccent``) before the stemmer, as the PostgreSQL manual suggests. ``articles.search_vector`` is
recomputed with it (drop and re-add the generated column: every article is re-indexed, about as long
as migration 0002 took, see docs/schema.md), and store/search.py queries with the configuration the
column was built with.

Where things live. An extension is database-wide and sits in one schema, while an archive may be one
schema of many (tests: one per test, dropped with CASCADE afterwards). So:

* the extension is used wherever it already is (a DBA or another archive installed it); otherwise it
  is created in ``public``: dropping an archive's schema must not drop a dictionary other archives'
  columns depend on (a CASCADE would silently take their ``search_vector`` columns along). Only when
  there is no ``public`` schema does it go to the archive's schema. ``unaccent`` is a trusted
  extension (PostgreSQL 13+): a user with CREATE on the database may install it, no superuser needed,
  and needs no CREATE privilege on ``public`` for that.
* the configuration lives in the archive's own schema (the one ``articles`` is in), so it goes with
  the archive; it names the dictionary with its schema, since ``public`` need not be on the archive's
  search_path. The column stores the configuration's OID, not its name.

Without the extension (no contrib package on the server, no CREATE privilege on the database), the
upgrade still succeeds: the column keeps the accent-sensitive ``english`` configuration (nothing is
recomputed), a one-line warning says so and how to fix it, and search keeps working as before. Once
the extension is available, ``pledgewatch db downgrade 0007 --yes && pledgewatch db upgrade`` rebuilds
the column with it. The attempts run in a savepoint, so a refusal does not abort the upgrade.

The downgrade restores 0002's column (``english``) and drops the configuration; it leaves the extension
installed (other archives in the database may use it). SQLite: nothing to do.
"""

from __future__ import annotations

import logging
from types import ModuleType

from alembic import op
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from pledgewatch.store import db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CONFIGURATION = "pledgewatch_english"
# english maps these token types (letters that are not all ASCII) to english_stem, numword to simple.
STEMMED_TOKENS = "word, hword, hword_part"
SIMPLE_TOKENS = "numword"
INDEX = "CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)"

log = logging.getLogger("pledgewatch.migrations")


def _revision_0002() -> ModuleType:
    """Migration 0002's module: what it defined is restored from there (one copy of that SQL)."""
    return db.migration_module("0002")


def _search_vector(configuration: str) -> str:
    """0002's generated column, with ``configuration`` (a quoted, qualified name) instead of english."""
    definition: str = _revision_0002().POSTGRES_SEARCH_VECTOR
    english = "'english'::regconfig"
    assert definition.count(english) == 2
    literal = configuration.replace("'", "''")
    return definition.replace(english, f"'{literal}'::regconfig")


def _rebuild_column(definition: str) -> None:
    # PostgreSQL 15 cannot change a generated column's expression (17 can): drop it (its index goes
    # with it) and add it again, which computes it for every article.
    op.execute("ALTER TABLE articles DROP COLUMN search_vector")
    op.execute(definition)
    op.execute(INDEX)


def _articles_schema(bind: Connection) -> str:
    return bind.exec_driver_sql(
        "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'articles'::regclass"
    ).scalar_one()


def _extension_schema(bind: Connection) -> str | None:
    return bind.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'"
    ).scalar()


def _reason(exc: DBAPIError) -> str:
    return (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]


def _install_unaccent(bind: Connection) -> tuple[str | None, str]:
    """The schema of the unaccent extension (installed if need be), or None and why not."""
    schema = _extension_schema(bind)
    if schema is not None:
        return schema, ""
    has_public = bind.exec_driver_sql("SELECT to_regnamespace('public') IS NOT NULL").scalar()
    target = "public" if has_public else _articles_schema(bind)
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA {target}")
    except DBAPIError as exc:
        # Another archive's migration may have installed it meanwhile (then this one lost the race).
        return _extension_schema(bind), _reason(exc)
    return _extension_schema(bind), ""


def _create_configuration(bind: Connection, qualified: str, dictionary_schema: str) -> str:
    """Create ``qualified`` (english with unaccent before the stemmer); the error, if any."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {qualified}")
            bind.exec_driver_sql(f"CREATE TEXT SEARCH CONFIGURATION {qualified} (COPY = pg_catalog.english)")
            bind.exec_driver_sql(
                f"ALTER TEXT SEARCH CONFIGURATION {qualified} ALTER MAPPING FOR {STEMMED_TOKENS} "
                f"WITH {dictionary_schema}.unaccent, pg_catalog.english_stem"
            )
            bind.exec_driver_sql(
                f"ALTER TEXT SEARCH CONFIGURATION {qualified} ALTER MAPPING FOR {SIMPLE_TOKENS} "
                f"WITH {dictionary_schema}.unaccent, pg_catalog.simple"
            )
    except DBAPIError as exc:
        return _reason(exc)
    return ""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    qualified = f"{_articles_schema(bind)}.{CONFIGURATION}"
    dictionary_schema, problem = _install_unaccent(bind)
    if dictionary_schema is not None:
        problem = _create_configuration(bind, qualified, dictionary_schema)
    if problem:
        # Not an error: the archive works as before. Logged (stderr for the CLI, the daemon's log),
        # as one line a user can act on.
        log.warning(
            "PostgreSQL extension unaccent is not available (%s): full-text search stays "
            "accent-sensitive (cafe does not find café). To fix, have a superuser or the database's "
            "owner run `CREATE EXTENSION unaccent SCHEMA public` in it (a PostgreSQL contrib module), "
            "then run `pledgewatch db downgrade 0007 --yes && pledgewatch db upgrade`.",
            problem,
        )
        return
    _rebuild_column(_search_vector(qualified))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    qualified = f"{_articles_schema(bind)}.{CONFIGURATION}"
    # The upgrade creates the configuration and rebuilds the column in one transaction: if the
    # configuration is there, the column uses it; if not (no extension), the column is 0002's already.
    exists = bind.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = %(name)s AND cfgnamespace = "
        "(SELECT relnamespace FROM pg_class WHERE oid = 'articles'::regclass))",
        {"name": CONFIGURATION},
    ).scalar()
    if exists:
        _rebuild_column(_revision_0002().POSTGRES_SEARCH_VECTOR)
        op.execute(f"DROP TEXT SEARCH CONFIGURATION {qualified}")
