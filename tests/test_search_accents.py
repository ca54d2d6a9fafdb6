"""Accents: `cafe` finds `café` (and the other way round) on SQLite and PostgreSQL alike (migration 0008).

SQLite's FTS5 tokenizer folds diacritics; PostgreSQL does since 0008, through the ``unaccent``
extension in a text search configuration of its own. The PostgreSQL-only tests cover what that
brings along: the extension is database-wide while archives live in schemas, the downgrade restores
the accent-sensitive column, and a server without the extension still upgrades (with a warning).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from conftest import postgres_url, run_cli
from helpers_search import open_archive
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pledgewatch.records import ArticleRecord
from pledgewatch.store import db
from pledgewatch.store.archive import save_article
from pledgewatch.store.search import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    STOP_WORDS,
    SearchFilters,
    parse_query,
    search_articles,
)
from pledgewatch.store.search_postgres import postgres_search

ARTICLES = {
    # Accents in the text; no word "a" in it (see the stop word test).
    "accented": (
        "https://en.people.cn/n3/2024/0301/c90000-9000101.html",
        "Café chain expands in São Paulo",
        "The Café Zürich chain opened its first store in São Paulo on Monday; its owners plan "
        "ten more stores by 2026.",
    ),
    # The same names typed without accents.
    "plain": (
        "https://en.people.cn/n3/2024/0302/c90000-9000102.html",
        "Coffee prices rise",
        "A cafe owner in Sao Paulo said bean prices doubled, and roasters in Zurich agree.",
    ),
    "unrelated": (
        "https://en.people.cn/n3/2024/0303/c90000-9000103.html",
        "JD opens a warehouse in Hubei",
        "The warehouse in Wuhan serves Hubei province; cafeterias nearby expect more customers.",
    ),
}


def _seed(session) -> dict[str, int]:
    ids = {}
    for key, (url, title, body) in ARTICLES.items():
        record = ArticleRecord(url=url, source="people", title=title, text=body)
        ids[key] = save_article(session, record, []).article.id
    session.commit()
    return ids


def _found(session, ids: dict[str, int], query: str) -> set[str]:
    hits = search_articles(session, query, SearchFilters(limit=50))
    hit_ids = {hit.article.id for hit in hits}
    return {key for key, article_id in ids.items() if article_id in hit_ids}


def _found_at_old_schema(session, ids: dict[str, int], query: str) -> set[str]:
    """``_found`` for an archive downgraded below the models' columns: the PostgreSQL search's
    ranked ids only, without loading the articles (the ORM would select columns it no longer has)."""
    ranked, _windowed, _ = postgres_search(
        session, parse_query(query), SearchFilters(limit=50), article_options=None
    )
    hit_ids = {row[0] for row in ranked}
    return {key for key, article_id in ids.items() if article_id in hit_ids}


@pytest.fixture
def accents(db_url):
    engine, session = open_archive(db_url)
    try:
        yield session, _seed(session)
    finally:
        session.close()
        engine.dispose()


@pytest.mark.parametrize(
    "queries",
    [
        ("cafe", "café", "CAFÉ", "Cafe"),
        ("Sao Paulo", "São Paulo", '"sao paulo"', '"São Paulo"'),
        ("Zurich", "Zürich", "ZÜRICH", "zurich"),
    ],
)
def test_accented_and_plain_spellings_find_the_same_articles(accents, queries):
    session, ids = accents
    for query in queries:
        assert _found(session, ids, query) == {"accented", "plain"}, query


def test_accents_combine_with_other_words_and_exclusions(accents):
    session, ids = accents
    assert _found(session, ids, "cafe Zurich") == {"accented", "plain"}
    assert _found(session, ids, "café -Zurich") == set()
    assert _found(session, ids, "Zürich -Monday") == {"plain"}
    assert _found(session, ids, "Sao Paulo stores") == {"accented"}


def test_an_accented_stop_word_is_ignored_like_the_plain_one(accents):
    # "à" folds to the stop word "a": dropped from the query on both backends (SQLite would
    # otherwise look for "a", which the accented article does not contain).
    session, ids = accents
    assert _found(session, ids, "à Zürich") == _found(session, ids, "Zürich") == {"accented", "plain"}


def test_highlights_show_the_text_as_written(accents):
    session, ids = accents

    def accented_hit(query):
        [hit] = [
            hit
            for hit in search_articles(session, query, SearchFilters())
            if hit.article.id == ids["accented"]
        ]
        return hit

    hit = accented_hit("cafe")
    assert hit.title == f"{HIGHLIGHT_START}Café{HIGHLIGHT_END} chain expands in São Paulo"
    assert f"{HIGHLIGHT_START}Café{HIGHLIGHT_END} Zürich" in hit.snippet
    assert (
        accented_hit('"Sao Paulo"').title
        == f"Café chain expands in {HIGHLIGHT_START}São Paulo{HIGHLIGHT_END}"
    )


# --- PostgreSQL: the migration -------------------------------------------------------------------


def _column_expression(engine) -> str:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
                "ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
                "WHERE d.adrelid = 'articles'::regclass AND a.attname = 'search_vector'"
            )
        ).scalar_one()


def test_postgres_index_leaves_out_exactly_the_parsers_stop_words(postgres_schema_url):
    # The query parser drops STOP_WORDS because the index has no entry for them: the configuration
    # of 0008 must drop the same words (whatever their case or accents) and keep the others.
    engine = db.make_engine(postgres_schema_url)
    db.upgrade(engine)
    words = sorted(STOP_WORDS)
    samples = words + [word.upper() for word in words] + ["à", "Ön", "ÏF"]
    with engine.connect() as connection:
        kept = connection.execute(
            text(
                "SELECT word FROM unnest(CAST(:words AS text[])) AS word "
                "WHERE to_tsvector('pledgewatch_english', word) <> ''::tsvector"
            ),
            {"words": samples},
        ).scalars()
        assert list(kept) == []
        vector = connection.scalar(
            text("SELECT to_tsvector('pledgewatch_english', 'Will Zürich invest in the café?')::text")
        )
        assert vector == "'cafe':6 'invest':3 'zurich':2"
    engine.dispose()


def test_downgrade_restores_the_accent_sensitive_column_and_upgrade_folds_again(postgres_schema_url):
    engine = db.make_engine(postgres_schema_url)
    db.upgrade(engine, "0007")
    before = _column_expression(engine)
    assert "pledgewatch_english" not in before
    db.upgrade(engine)
    assert "pledgewatch_english" in _column_expression(engine)
    with db.session_factory(engine)() as session:
        ids = _seed(session)
        assert _found(session, ids, "cafe") == {"accented", "plain"}

    db.downgrade(engine, "0007")
    # 0002's definition, and search follows the column it finds: accents matter again.
    assert _column_expression(engine) == before
    with db.session_factory(engine)() as session:
        assert _found_at_old_schema(session, ids, "cafe") == {"plain"}
        assert _found_at_old_schema(session, ids, "café") == {"accented"}
        assert _found_at_old_schema(session, ids, "Hubei") == {"unrelated"}
        mine = "SELECT cfgname FROM pg_ts_config WHERE cfgnamespace = current_schema()::regnamespace"
        assert session.scalars(text(mine)).all() == []
    # Upgrading again recomputes every existing article's index entry with accents folded.
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        assert _found(session, ids, "cafe") == {"accented", "plain"}
    engine.dispose()


def test_archives_in_two_schemas_share_the_extension_and_outlive_each_other(postgres_schema_url):
    base = postgres_url()
    assert base is not None
    other_schema = f"pw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{other_schema}"'))
    try:
        other_url = postgres_schema_url.rsplit("%3D", 1)[0] + f"%3D{other_schema}"
        archives = []
        for url in (other_url, postgres_schema_url):
            engine = db.make_engine(url)
            db.upgrade(engine)
            with db.session_factory(engine)() as session:
                ids = _seed(session)
                assert _found(session, ids, "Zurich") == {"accented", "plain"}
            archives.append((engine, ids))
        # Dropping one archive's schema leaves the other's search (and the extension) working.
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{other_schema}" CASCADE'))
        engine, ids = archives[1]
        with db.session_factory(engine)() as session:
            assert _found(session, ids, "São Paulo") == {"accented", "plain"}
        for engine, _ids in archives:
            engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{other_schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def unprivileged_database() -> Iterator[tuple[str, str]]:
    """(URL, admin URL) of a brand-new database without the unaccent extension, and a URL for a role
    that may not create extensions there (no CREATE on the database): a typical managed server."""
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL tests need $PLEDGEWATCH_TEST_POSTGRES_URL")
    suffix = uuid.uuid4().hex[:12]
    database, role = f"pw_test_db_{suffix}", f"pw_test_role_{suffix}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        allowed = connection.execute(
            text(
                "SELECT rolsuper OR (rolcreatedb AND rolcreaterole) FROM pg_roles "
                "WHERE rolname = current_user"
            )
        ).scalar()
        if not allowed:
            pytest.skip("needs a PostgreSQL user that may create databases and roles")
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin_url = make_url(base).set(database=database)
    database_admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with database_admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA app AUTHORIZATION "{role}"'))
    database_admin.dispose()
    user_url = make_url(base).set(database=database, username=role, password=None)
    try:
        yield (
            user_url.render_as_string(hide_password=False) + "?options=-csearch_path%3Dapp",
            admin_url.render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@pytest.mark.slow
def test_without_the_extension_the_upgrade_warns_and_search_stays_accent_sensitive(unprivileged_database):
    url, admin_url = unprivileged_database
    result = run_cli("--db", url, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "unaccent" in line]
    assert "accent-sensitive" in warning and "CREATE EXTENSION unaccent" in warning
    assert "permission denied" in warning
    assert f"-> {db.head_revision()}" in result.stdout

    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        ids = _seed(session)
        assert _found(session, ids, "cafe") == {"plain"}
        assert _found(session, ids, "café") == {"accented"}

    # The fix the warning gives: allow the extension, then rebuild the column with it.
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        role, database = make_url(url).username, make_url(url).database
        connection.execute(text(f'GRANT CREATE ON DATABASE "{database}" TO "{role}"'))
    admin.dispose()
    assert run_cli("--db", url, "db", "downgrade", "0007", "--yes").returncode == 0
    result = run_cli("--db", url, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "unaccent" not in result.stderr
    with db.session_factory(engine)() as session:
        assert _found(session, ids, "cafe") == {"accented", "plain"}
        # The extension went to the public schema, not the archive's.
        assert (
            session.scalar(
                text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'")
            )
            == "public"
        )
    engine.dispose()
