"""Alembic owns the schema: models and migrations agree, and migrations run both ways on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from pledgewatch.errors import SchemaError
from pledgewatch.store import db
from pledgewatch.store.models import Base


def _autogenerate_diff(engine):
    import importlib.util

    spec = importlib.util.spec_from_file_location("pw_alembic_env_filters", db.ALEMBIC_DIR / "env.py")
    # env.py runs migrations at import time; read its filter by source instead of importing it.
    source = (db.ALEMBIC_DIR / "env.py").read_text()
    namespace: dict = {}
    start = source.index("UNMANAGED_TABLE_PREFIXES")
    end = source.index("def render_item")
    exec(source[start:end], namespace)
    assert spec is not None
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": namespace["include_object"]},
        )
        return compare_metadata(context, Base.metadata)


def test_models_and_migrations_agree(db_url):
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    diff = _autogenerate_diff(engine)
    assert diff == [], f"models and migrations differ: {diff}"
    engine.dispose()


def test_upgrade_downgrade_upgrade(db_url):
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"articles", "pledges", "pledge_mentions", "deliveries", "crawl_runs"} <= tables
    assert db.current_revision(engine) == db.head_revision()
    db.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert set(inspect(engine).get_table_names()) == tables
    engine.dispose()


def test_sqlite_is_in_wal_mode_with_busy_timeout(sqlite_url):
    engine = db.make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_head_read_from_the_migration_files_is_alembics():
    """ensure_schema answers "at head" without importing Alembic (issue 15) by reading the
    migration files' revision lines: they must name the head Alembic computes, whatever the chain."""
    assert db._head_from_files() == db.head_revision()


def test_a_database_at_an_older_revision_is_still_refused(db_url):
    """The fast check only ever says "at head"; any other revision goes to Alembic, which refuses."""
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    db.downgrade(engine, "-1")
    with pytest.raises(SchemaError, match="db upgrade"):
        db.ensure_schema(engine)
    db.upgrade(engine)
    db.ensure_schema(engine)  # at head: no error
    engine.dispose()
