"""Alembic environment: runs against the engine pledgewatch hands over, or the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine, pool

from pledgewatch.store.models import Base

config = context.config
target_metadata = Base.metadata

# Tables that are not ORM models but are created by migrations on purpose (full-text index
# shadow tables, the scheduler's job store): autogenerate must not propose dropping them.
UNMANAGED_TABLE_PREFIXES = ("articles_fts", "apscheduler_")
# SQL views (migration 0002) are not models either.
UNMANAGED_VIEWS = ("pledges_overview", "articles_overview")
# Full-text search (migration 0002): PostgreSQL's generated tsvector column and its GIN index, and
# SQLite's covering index for search filters; the models leave them out (one backend each).
UNMANAGED_COLUMNS = (("articles", "search_vector"),)
UNMANAGED_INDEXES = ("ix_articles_search_vector", "ix_articles_search_filters")


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table" and name and (name.startswith(UNMANAGED_TABLE_PREFIXES) or name in UNMANAGED_VIEWS):
        return False
    if type_ == "index" and name in UNMANAGED_INDEXES:
        return False
    if type_ == "column" and (getattr(getattr(obj, "table", None), "name", None), name) in UNMANAGED_COLUMNS:
        return False
    if type_ in {"index", "column"} and getattr(obj, "table", None) is not None:
        table_name = obj.table.name
        if table_name.startswith(UNMANAGED_TABLE_PREFIXES):
            return False
    return True


def render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Render the models' UTCDateTime as a plain DateTime so migrations never import models."""
    from pledgewatch.store.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
        render_item=render_item,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.begin() as connection:
        _configure(connection)
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
