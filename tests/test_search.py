"""Full-text search: query syntax, ranking, filters, hostile input, index sync, views, CLI; both backends."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_search import add_hubei_pledge, fill_window_archive, open_archive, seed_archive
from sqlalchemy import event, func, inspect, select, text

from pledgewatch.errors import UsageError
from pledgewatch.records import ArticleRecord
from pledgewatch.store import db, search_postgres
from pledgewatch.store.archive import save_article
from pledgewatch.store.models import Article, ArticleUrl, Pledge, PledgeMention, Source
from pledgewatch.store.search import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    MAX_QUERY_CHARS,
    SearchFilters,
    fts_consistent,
    parse_query,
    search,
    search_articles,
)

HOSTILE_QUERIES = [
    '"unbalanced quote Hubei',
    'Hubei"',
    '""',
    "NEAR(Hubei Wuhan, 2)",
    "Hubei*",
    "^Hubei",
    "title:Hubei",
    "text : Hubei",
    "{title text}: Hubei",
    "Hubei AND OR NOT",
    "OR",
    "- -",
    "'; DROP TABLE articles; --",
    "Robert'); DROP TABLE articles;--",
    "1' OR '1'='1",
    "Hubei \x00 Wuhan",
    "Hubei & Wuhan | !invest <-> :* (",
    "the of and",
    "",
    "   ",
    "😀🎉",
    "北京",
    "Hubei 😀 中国",
    "x" * 400,
    "Hubei " * 40,
    "a" * (MAX_QUERY_CHARS + 1),
]


@pytest.fixture
def archive(db_url):
    engine, session = open_archive(db_url)
    ids = seed_archive(session)
    add_hubei_pledge(session, ids)
    yield session, ids
    session.close()
    engine.dispose()


def found(session, query, **filters) -> set[str]:
    """The keys (helpers_search names) of the articles ``query`` finds."""
    hits = search_articles(session, query, SearchFilters(limit=100, **filters))
    hit_ids = [hit.article.id for hit in hits]
    assert len(hit_ids) == len(set(hit_ids)), "an article was found twice"
    return {key for key, article_id in _ids(session).items() if article_id in hit_ids}


def _ids(session) -> dict[str, int]:
    return session.info["ids"]


@pytest.fixture
def s(archive):
    session, ids = archive
    session.info["ids"] = ids
    return session


# --- query syntax -------------------------------------------------------------------------------


def test_words_must_all_match_and_stem(s):
    assert found(s, "Hubei") == {"seed000", "seed002", "seed003"}
    assert found(s, "Hubei Wuhan") == {"seed000", "seed003"}
    # Stemming: "investing" finds "invest", "investment", "investments".
    assert found(s, "investing") == {"seed000", "seed001", "seed003", "seed004"}
    # Stop words are ignored on both backends, they do not make a query match nothing (or all).
    assert found(s, "the Konjac") == {"seed002"}


def test_phrases(s):
    assert found(s, '"rural revitalization"') == {"seed002", "recent_rural", "undated"}
    # Both words occur in seed001 ("economic revitalization", "rural areas") but not as the phrase.
    assert "seed001" not in found(s, '"rural revitalization"')
    assert found(s, "rural revitalization") >= {"seed001", "seed002"}
    assert found(s, '"Asia No. 1"') == {"seed000"}


def test_or_and_exclusion(s):
    assert found(s, "Liaoning OR Konjac") == {"seed001", "seed002"}
    assert found(s, "Hubei -Wuhan") == {"seed002"}
    assert found(s, 'Hubei -"Asia No. 1"') == {"seed002", "seed003"}
    assert found(s, "Hubei OR Liaoning -Wuhan") == {"seed001", "seed002"}
    # OR binds two terms; the other words still have to match.
    assert found(s, "Wuhan Alibaba OR Konjac") == {"seed003"}


def test_title_hits_rank_above_body_hits(s):
    hits = search_articles(s, "Tianjin", SearchFilters(limit=10))
    assert [hit.article.id for hit in hits] == [_ids(s)["title_hit"], _ids(s)["body_hit"]]
    assert hits[0].rank > hits[1].rank


def test_snippet_and_title_highlight_the_match(s):
    [hit] = search_articles(s, "Konjac", SearchFilters())
    assert f"{HIGHLIGHT_START}Konjac{HIGHLIGHT_END}" in hit.snippet
    assert "\n" not in hit.snippet
    [hit] = search_articles(s, '"flagship store"', SearchFilters())
    assert hit.title == f"Suning opens {HIGHLIGHT_START}flagship store{HIGHLIGHT_END} in Tianjin"


# --- filters -------------------------------------------------------------------------------------


def test_filters_source_dates_relevant_pledges_limit(s):
    assert found(s, "Hubei", sources=("people",)) == {"seed003"}
    assert found(s, "Hubei", sources=("jd", "people")) == {"seed000", "seed002", "seed003"}
    since = datetime(2020, 4, 9, tzinfo=UTC)
    until = datetime(2021, 1, 1, tzinfo=UTC)
    assert found(s, "Hubei", since=since) == {"seed002", "seed003"}
    assert found(s, "Hubei", since=since, until=until) == {"seed003"}
    # Undated articles pass no date filter.
    assert "undated" in found(s, '"rural revitalization"')
    assert "undated" not in found(s, '"rural revitalization"', since=datetime(2000, 1, 1, tzinfo=UTC))
    # "what did People's Daily write about rural revitalisation last month"
    last_month = datetime.now(UTC) - timedelta(days=30)
    assert found(s, '"rural revitalization"', sources=("people",), since=last_month) == {"recent_rural"}
    assert found(s, "Tianjin", relevant=True) == {"title_hit"}
    assert found(s, "Hubei", with_pledges=True) == {"seed000", "seed003"}
    assert len(search_articles(s, "Hubei", SearchFilters(limit=2))) == 2


def test_rank_window_ranks_only_the_most_recently_archived_matches(s):
    everything = search(s, "Hubei", SearchFilters(limit=10))
    assert not everything.windowed and len(everything.hits) == 3
    windowed = search(s, "Hubei", SearchFilters(limit=10, rank_window=2))
    assert windowed.windowed
    newest = sorted(hit.article.id for hit in everything.hits)[-2:]
    assert sorted(hit.article.id for hit in windowed.hits) == newest
    # The window counts filtered matches: with a filter that leaves two, nothing is cut.
    jd_only = search(s, "Hubei", SearchFilters(limit=10, rank_window=2, sources=("jd",)))
    assert {hit.article.id for hit in jd_only.hits} == {_ids(s)["seed000"], _ids(s)["seed002"]}


@pytest.fixture
def window_archive(db_url):
    engine, session = open_archive(db_url)
    yield session, fill_window_archive(session)
    session.close()
    engine.dispose()


def _rebuild_search_index(session, columns: str) -> None:
    session.execute(text("DROP INDEX ix_articles_search_vector"))
    session.execute(text(f"CREATE INDEX ix_articles_search_vector ON articles USING gin ({columns})"))
    session.commit()


@pytest.mark.slow
@pytest.mark.parametrize(
    "first_span, margin, index",
    [
        (16, 0.3, "buckets of 64 ids"),
        (128, 1.0, "no buckets"),
        (search_postgres.POSTGRES_FIRST_SPAN, search_postgres.POSTGRES_SPAN_MARGIN, "as migrated"),
        (search_postgres.POSTGRES_FIRST_SPAN, search_postgres.POSTGRES_SPAN_MARGIN, "buckets of 64 ids"),
    ],
)
def test_rank_window_is_exactly_the_newest_matches_however_they_are_spread(
    window_archive, monkeypatch, first_span, margin, index
):
    # PostgreSQL looks for the window in ranges of ids, sized from the matches seen so far (see
    # store/search.py); whatever the sizes (here also ranges much too short, so many of them), the
    # window must hold the newest matches, no more, no less. The ranges are whole buckets of ids
    # where the search index has them (0019: 8,192 ids, one bucket here; 64 ids make many, and the
    # index is then always preferred to a walk), primary-key ranges where it has not (0017's index).
    monkeypatch.setattr(search_postgres, "POSTGRES_FIRST_SPAN", first_span)
    monkeypatch.setattr(search_postgres, "POSTGRES_SPAN_MARGIN", margin)
    monkeypatch.setattr(search_postgres, "POSTGRES_SPAN_MARGIN_FILTERED", margin)
    session, contains = window_archive
    statements: list[str] = []
    if index != "as migrated":
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("the search index's buckets are PostgreSQL's (SQLite: FTS5)")
        if index == "no buckets":
            _rebuild_search_index(session, "search_vector, source_id, relevant")
        else:
            _rebuild_search_index(session, "search_vector, source_id, relevant, (id / 64)")
            monkeypatch.setattr(search_postgres, "POSTGRES_WALK_US", 1000.0)
        event.listen(session.get_bind(), "before_cursor_execute", lambda *args: statements.append(args[2]))
    people = set(contains["people"])
    cases = [
        ("Hubei", contains["Hubei"], {}),
        ("Hubei", [i for i in contains["Hubei"] if i in people], {"sources": ("people",)}),
        ("logistics", contains["logistics"], {}),
        ("market", contains["market"], {}),
        ("rural", contains["rural"], {}),
        ('"rural revitalization"', contains["phrase"], {}),
        ("Hubei market", sorted(set(contains["Hubei"]) & set(contains["market"])), {}),
    ]
    for query, matching, options in cases:
        for window in (1, 7, 40, 150, 400, 1000):
            result = search(session, query, SearchFilters(limit=1000, rank_window=window, **options))
            expected = matching[-window:]
            assert sorted(hit.article.id for hit in result.hits) == expected, (query, options, window)
            assert result.windowed == (len(matching) >= window), (query, options, window)
    bucketed = [statement for statement in statements if "articles.id / 64" in statement]
    assert bool(bucketed) == (index == "buckets of 64 ids")


@pytest.mark.parametrize("buckets", ["as migrated", "of 64 ids"])
def test_date_filters_find_the_same_newest_matches_whether_the_rows_or_the_index_test_them(
    window_archive, buckets
):
    """PostgreSQL tests a --since / --until that keeps much of the archive on the rows the words
    found, a narrow one with the dates' index (POSTGRES_DATE_HEAP_SHARE, from the histogram):
    either way the window holds exactly the newest matches in the dates."""
    session, contains = window_archive
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the choice is PostgreSQL's (SQLite filters the FTS5 matches on its covering index)")
    if buckets != "as migrated":
        _rebuild_search_index(session, "search_vector, source_id, relevant, (id / 64)")
    session.execute(text("ANALYZE articles"))
    published = dict(session.execute(select(Article.id, Article.published_at)).all())
    now = datetime(2024, 1, 1, tzinfo=UTC)
    cases = [
        {"since": now - timedelta(hours=2000)},  # two thirds of the archive: on the rows
        {"since": now - timedelta(hours=100)},  # the newest 3 %: the index
        {"until": now - timedelta(hours=1000)},
        {"until": now - timedelta(hours=2600)},
        {"since": now - timedelta(hours=2900), "until": now - timedelta(hours=300)},
    ]
    for options in cases:
        since, until = options.get("since"), options.get("until")
        for query, key in (("Hubei", "Hubei"), ("market", "market"), ('"rural revitalization"', "phrase")):
            kept = [
                i
                for i in contains[key]
                if (since is None or published[i] >= since) and (until is None or published[i] < until)
            ]
            for window in (5, 120, 900):
                result = search(session, query, SearchFilters(limit=1000, rank_window=window, **options))
                found = sorted(hit.article.id for hit in result.hits)
                assert found == kept[-window:], (query, options, window)


SEARCH_SETTINGS = (
    "plan_cache_mode",
    "jit",
    "work_mem",
    "enable_indexscan",
    "enable_bitmapscan",
    "enable_seqscan",
)


@pytest.mark.parametrize("index", ["as migrated", "no buckets"])
def test_postgres_search_leaves_the_transaction_settings_as_it_found_them(window_archive, index):
    # Search changes planner settings for its own statements (SET LOCAL); whatever the caller does
    # next in the same transaction (an export, a report) must be planned as before: with hits, with
    # none, and with the archive's index with or without buckets.
    session, _ = window_archive
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("planner settings are PostgreSQL's")
    if index == "no buckets":
        _rebuild_search_index(session, "search_vector, source_id, relevant")
    read = text("SELECT " + ", ".join(f"current_setting('{name}')" for name in SEARCH_SETTINGS))
    session.execute(text("SELECT set_config('work_mem', '5MB', true), set_config('jit', 'on', true)"))
    before = tuple(session.execute(read).one())
    assert before[1:3] == ("on", "5MB")
    for query, window in (("market", 300), ("Hubei", 2000), ("nowhere", 2000)):
        hits = search(session, query, SearchFilters(limit=5, rank_window=window)).hits
        assert bool(hits) == (query != "nowhere")
        assert tuple(session.execute(read).one()) == before, query


def test_the_share_of_the_archive_in_dates_comes_from_the_histogram():
    bounds = [datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=day) for day in range(101)]
    share = search_postgres._share_between
    assert share(bounds, bounds[50], None) == pytest.approx(51 / 101)
    assert share(bounds, None, bounds[10]) == pytest.approx(10 / 101)
    assert share(bounds, bounds[90], bounds[10]) == 0
    assert share(bounds, None, None) == 1
    assert share([], bounds[0], None) is None and share(None, None, bounds[3]) is None


@pytest.mark.parametrize(
    "filters, message",
    [
        (SearchFilters(limit=0), "--limit"),
        (SearchFilters(limit=100_000), "--limit"),
        (SearchFilters(sources=("nytimes",)), "unknown source 'nytimes'"),
        (
            SearchFilters(since=datetime(2021, 1, 1, tzinfo=UTC), until=datetime(2020, 1, 1, tzinfo=UTC)),
            "--since",
        ),
    ],
)
def test_bad_filters_are_usage_errors(s, filters, message):
    with pytest.raises(UsageError, match=message):
        search_articles(s, "Hubei", filters)


# --- hostile input -------------------------------------------------------------------------------


def _fingerprint(session) -> tuple:
    """Everything a search could damage: row counts and the articles' contents."""
    counts = tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Article, ArticleUrl, Source, Pledge, PledgeMention)
    )
    digest = hashlib.sha256()
    for row in session.execute(select(Article.id, Article.title, Article.text).order_by(Article.id)):
        digest.update(repr(tuple(row)).encode())
    return counts, digest.hexdigest(), sorted(inspect(session.get_bind()).get_table_names())


def _files(session) -> list[bytes]:
    """SQLite: the archive file and its write-ahead log, byte for byte (nothing on PostgreSQL)."""
    database = session.get_bind().url.database
    if session.get_bind().dialect.name != "sqlite" or not database:
        return []
    paths = [Path(database + suffix) for suffix in ("", "-wal")]
    return [path.read_bytes() for path in paths if path.exists()]


def test_hostile_queries_give_results_or_a_usage_error_and_change_nothing(s):
    before = _fingerprint(s)
    files_before = _files(s)
    for query in HOSTILE_QUERIES:
        try:
            hits = search_articles(s, query, SearchFilters(limit=50))
        except UsageError as exc:
            message = str(exc)
            assert message and "\n" not in message, query
        else:
            assert isinstance(hits, list), query
        s.rollback()
        assert _fingerprint(s) == before, query
    assert _files(s) == files_before
    assert fts_consistent(s)


def test_hostile_queries_find_what_they_literally_contain(s):
    # Operators and SQL in a query are words to look for, not syntax.
    assert found(s, "'; DROP TABLE articles; --") == {"hostile_text"}
    assert found(s, '"unbalanced quote Hubei') == set()
    assert found(s, 'Pinduoduo "column') == {"hostile_text"}
    assert "hostile_text" in found(s, "NEAR Pinduoduo")
    assert found(s, "Hubei*") == found(s, "Hubei")
    assert found(s, "北京") == {"hostile_text"}


@pytest.mark.parametrize("query", ["", "   ", "the and of", "😀", "-Hubei", "- -", '""'])
def test_queries_without_searchable_words_are_refused(query):
    with pytest.raises(UsageError):
        parse_query(query)


def test_exclusion_cannot_be_an_or_alternative():
    with pytest.raises(UsageError, match="OR"):
        parse_query("Hubei OR -Wuhan")
    with pytest.raises(UsageError, match="OR"):
        parse_query("Hubei -Wuhan OR Jilin")


def test_parser_quotes_every_term_for_fts5():
    parsed = parse_query('jd "Asia No. 1" OR Wuhan -NEAR title:x* "a""b')
    match = parsed.fts5_match()
    assert match == '("jd" AND ("asia no 1" OR "wuhan") AND "title x" AND "b") NOT ("near")'
    # Outside the quoted strings only AND / OR / NOT and brackets remain: no user text.
    outside = "".join(part for index, part in enumerate(match.split('"')) if index % 2 == 0)
    assert set(outside.replace("(", " ").replace(")", " ").split()) <= {"AND", "OR", "NOT"}


# --- the index follows the articles ------------------------------------------------------------


def test_index_follows_updates_and_deletes(s):
    url = "https://www.chinadaily.com.cn/a/202201/01/WS61cf0000a310cdd39bc7e001.html"
    record = ArticleRecord(
        url=url, source="chinadaily", title="Dongguan warehouse", text="A warehouse in Dongguan."
    )
    article_id = save_article(s, record, []).article.id
    s.commit()
    assert [h.article.id for h in search_articles(s, "Dongguan", SearchFilters())] == [article_id]
    # An edit (new version through the write path): the old words go, the new ones come.
    edited = ArticleRecord(
        url=url, source="chinadaily", title="Zhaoqing warehouse", text="A depot in Zhaoqing."
    )
    assert save_article(s, edited, []).status == "updated"
    s.commit()
    assert search_articles(s, "Dongguan", SearchFilters()) == []
    assert [h.article.id for h in search_articles(s, "Zhaoqing depot", SearchFilters())] == [article_id]
    # A rolled-back edit leaves the index as it was (same transaction).
    s.get_one(Article, article_id).text = "Foshan"
    s.flush()
    assert [h.article.id for h in search_articles(s, "Foshan", SearchFilters())] == [article_id]
    s.rollback()
    assert search_articles(s, "Foshan", SearchFilters()) == []
    # A delete through the ORM removes it from the index.
    s.delete(s.get_one(Article, article_id))
    s.commit()
    assert search_articles(s, "Zhaoqing", SearchFilters()) == []
    assert fts_consistent(s)


def test_migration_backfills_existing_articles_and_downgrade_removes_everything(db_url):
    # Rows are written with plain SQL: the ORM models describe the newest schema, not revision 0001.
    engine = db.make_engine(db_url)
    db.upgrade(engine, "0001")
    with engine.begin() as connection:
        source_id = connection.execute(
            text(
                "INSERT INTO sources (name, title, domain, created_at) "
                "VALUES ('jd', 'JD Corporate Blog', 'jdcorporateblog.com', :now) RETURNING id"
            ),
            {"now": datetime(2021, 1, 1)},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO articles (source_id, canonical_url, title, authors, fetched_at, text, "
                "content_hash, relevant, entities, version) VALUES (:source, "
                "'https://jdcorporateblog.com/old/', 'Old post', '[]', :now, 'Xiongan smart city.', "
                "'h', false, '[]', 1)"
            ),
            {"source": source_id, "now": datetime(2021, 1, 1)},
        )
    db.upgrade(engine, "0002")
    if engine.dialect.name == "sqlite":
        found = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'Xiongan'"
    else:
        found = "SELECT id FROM articles WHERE search_vector @@ plainto_tsquery('english', 'Xiongan')"
    with engine.connect() as connection:
        assert len(connection.execute(text(found)).all()) == 1
    assert {"pledges_overview", "articles_overview"} <= set(inspect(engine).get_view_names())
    db.downgrade(engine, "0001")
    inspector = inspect(engine)
    assert not {"pledges_overview", "articles_overview"} & set(inspector.get_view_names())
    assert not [name for name in inspector.get_table_names() if name.startswith("articles_fts")]
    assert "search_vector" not in {column["name"] for column in inspector.get_columns("articles")}
    assert not {"ix_articles_search_filters", "ix_articles_search_vector"} & {
        index["name"] for index in inspector.get_indexes("articles")
    }
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM articles")) == 1
    engine.dispose()


def test_postgres_search_index_holds_source_and_relevance_and_downgrade_restores_it(postgres_schema_url):
    # Migration 0017 (btree_gin): the GIN index holds source and relevance next to the words, so that
    # it answers --source and --relevant (benchmarks/README.md, "Full-text search"); the filters give
    # the same results (test_filters_source_dates_relevant_pledges_limit); 0016 has 0002's index.
    engine = db.make_engine(postgres_schema_url)
    db.upgrade(engine)
    definition = "SELECT pg_get_indexdef('ix_articles_search_vector'::regclass)"
    with engine.connect() as connection:
        # ... and, since 0019, each article's bucket of ids (the ranges of the rank window).
        assert connection.scalar(text(definition)).endswith(
            "gin (search_vector, source_id, relevant, ((id / 8192)))"
        )
    with db.session_factory(engine)() as session:
        seed_archive(session)
        wanted = SearchFilters(limit=5, relevant=True, sources=("jd",))
        hits = search_articles(session, "Hubei", wanted)
        assert hits and all(hit.article.relevant and hit.article.source.name == "jd" for hit in hits)
        found = [hit.article.id for hit in hits]
    db.downgrade(engine, "0018")
    with engine.connect() as connection:
        assert connection.scalar(text(definition)).endswith("gin (search_vector, source_id, relevant)")
    with db.session_factory(engine)() as session:  # without buckets: the primary key's ranges
        assert [hit.article.id for hit in search_articles(session, "Hubei", wanted)] == found
    db.downgrade(engine, "0016")
    with engine.connect() as connection:
        assert connection.scalar(text(definition)).endswith("gin (search_vector)")
    engine.dispose()


def test_postgres_search_index_without_btree_gin_stays_and_search_still_finds(postgres_schema_url, caplog):
    # Where 0017 found no btree_gin it kept 0002's index on the words alone; 0019 cannot add buckets
    # to it either: the upgrade says so in one line and leaves it, and search reads ranges from the
    # primary key, with the same results.
    engine = db.make_engine(postgres_schema_url)
    db.upgrade(engine, "0018")
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_articles_search_vector"))
        connection.execute(
            text("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
        )
    with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
        db.upgrade(engine)
    assert any("ix_articles_search_vector" in record.getMessage() for record in caplog.records)
    definition = "SELECT pg_get_indexdef('ix_articles_search_vector'::regclass)"
    with engine.connect() as connection:
        assert connection.scalar(text(definition)).endswith("gin (search_vector)")
    with db.session_factory(engine)() as session:
        seed_archive(session)
        hits = search_articles(session, "Hubei", SearchFilters(limit=5, sources=("jd",), rank_window=3))
        assert hits and all(hit.article.source.name == "jd" for hit in hits)
    db.downgrade(engine, "0018")
    with engine.connect() as connection:
        assert connection.scalar(text(definition)).endswith("gin (search_vector)")
    engine.dispose()


def _out_of_line_values(engine) -> int:
    """How many live values of articles are in its TOAST table (one chunk_id per value), once VACUUM
    has removed those of rows that saving an article rewrote."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM articles"))
        toast = connection.scalar(
            text("SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'articles'::regclass")
        )
        return int(connection.scalar(text(f"SELECT count(DISTINCT chunk_id) FROM {toast}")))


def _save_long_article(session, number: int) -> None:
    # 150 distinct words that pglz cannot shrink: a 2.6 kB text and a 3.6 kB tsvector, a row that
    # PostgreSQL must toast.
    words = " ".join(hashlib.sha256(f"{number}-{index}".encode()).hexdigest()[:16] for index in range(150))
    record = ArticleRecord(
        url=f"https://jdcorporateblog.com/long-{number}/", source="jd", title=f"Long {number}", text=words
    )
    save_article(session, record, [])
    session.commit()


def test_postgres_keeps_the_search_vector_in_the_row_and_search_finds_both_layouts(postgres_schema_url):
    # Migration 0018: search reads the tsvector of every article it ranks; out of line (TOAST) each
    # read is a second lookup. A long article's text goes to TOAST, its tsvector stays in the row;
    # an article written before the upgrade keeps both out of line and is found all the same.
    engine = db.make_engine(postgres_schema_url)
    db.upgrade(engine, "0017")
    with db.session_factory(engine)() as session:
        _save_long_article(session, 1)
        assert _out_of_line_values(engine) == 2  # text and tsvector: the row fits after those
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        _save_long_article(session, 2)
        assert _out_of_line_values(engine) == 3  # the new article's text only, nothing else
        for number in (1, 2):
            word = hashlib.sha256(f"{number}-7".encode()).hexdigest()[:16]
            assert [hit.article.title for hit in search_articles(session, word)] == [f"Long {number}"]
    db.downgrade(engine, "0017")
    with db.session_factory(engine)() as session:
        _save_long_article(session, 3)
        assert _out_of_line_values(engine) == 5
    engine.dispose()


# --- views ---------------------------------------------------------------------------------------


def test_pledges_overview_shows_first_and_latest_mention(s):
    row = s.execute(text("SELECT * FROM pledges_overview WHERE region = 'Hubei'")).mappings().one()
    assert row["actor"] == "JD.com"
    assert row["first_article_title"] == "JD.com to Invest over RMB 6 Billion in Hubei"
    assert row["first_article_url"].startswith("https://jdcorporateblog.com/")
    assert row["first_source"] == "jd"
    assert row["first_outlet"] == s.scalar(select(Source.title).where(Source.name == "jd"))
    assert row["mention_count"] == 2
    latest = row["latest_mention_at"]
    assert str(latest).startswith("2020-04-30")


def test_articles_overview_has_story_and_outlet(s):
    rows = {row["article_id"]: row for row in s.execute(text("SELECT * FROM articles_overview")).mappings()}
    seed003 = rows[_ids(s)["seed003"]]
    assert seed003["source"] == "people"
    assert seed003["pledge_mentions"] == 1
    assert seed003["url"] == "https://en.people.cn/n3/2020/0430/c90000-9685505.html"
    assert rows[_ids(s)["title_hit"]]["pledge_mentions"] == 0


# --- same results on both backends ---------------------------------------------------------------

COMPARED_QUERIES = [
    "Hubei",
    "Hubei Wuhan",
    "investing",
    '"rural revitalization"',
    "rural revitalization",
    "Liaoning OR Konjac",
    "Hubei -Wuhan",
    'Hubei -"Asia No. 1"',
    '"Asia No. 1"',
    "e-commerce villages",
    "JD's",
    "poverty alleviation -Hubei",
    "Tianjin",
    "'; DROP TABLE articles; --",
    "北京",
    "20 billion yuan",
    '"next three years"',
]


def test_same_results_on_sqlite_and_postgresql(sqlite_url, postgres_schema_url):
    results = {}
    now = datetime.now(UTC)
    for name, url in (("sqlite", sqlite_url), ("postgresql", postgres_schema_url)):
        engine, session = open_archive(url)
        ids = seed_archive(session, now=now)
        add_hubei_pledge(session, ids)
        by_id = {article_id: key for key, article_id in ids.items()}
        results[name] = {
            query: {
                by_id[hit.article.id] for hit in search_articles(session, query, SearchFilters(limit=100))
            }
            for query in COMPARED_QUERIES
        }
        results[name]["--with-pledges"] = {
            by_id[hit.article.id]
            for hit in search_articles(
                session, "JD", SearchFilters(with_pledges=True, sources=("jd", "people"))
            )
        }
        top = search_articles(session, "Tianjin", SearchFilters(limit=1))
        results[name]["top Tianjin"] = {by_id[hit.article.id] for hit in top}
        session.close()
        engine.dispose()
    assert all(results["sqlite"][query] for query in COMPARED_QUERIES[:13])
    assert results["sqlite"] == results["postgresql"]


# --- command line --------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_search_json_and_csv(archive, db_url):
    _session, ids = archive
    result = run_cli("--db", db_url, "search", "Hubei -Wuhan", "--format", "json")
    assert result.returncode == 0, result.stderr
    [item] = json.loads(result.stdout)
    assert item["id"] == ids["seed002"]
    for key in ("id", "canonical_url", "urls", "source", "title", "published", "story_id", "version"):
        assert key in item
    assert item["urls"] == [item["canonical_url"]]
    assert item["source"] == "jd" and item["version"] == 1
    assert "**Hubei**" in item["snippet"] and item["rank"] > 0

    result = run_cli(
        "--db",
        db_url,
        "search",
        "Hubei",
        "--source",
        "jd",
        "--source",
        "people",
        "--since",
        "2020-04-09",
        "--until",
        "2020-12-31",
        "--format",
        "csv",
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [int(row["id"]) for row in rows] == [ids["seed003"]]
    assert rows[0]["published"].startswith("2020-04-30T")
    assert "**Hubei**" in rows[0]["snippet"]

    table = run_cli("--db", db_url, "search", "Konjac", "--with-pledges", "--relevant")
    assert table.returncode == 0 and "no articles match" in table.stderr


@pytest.mark.slow
def test_cli_hostile_queries_give_results_and_change_nothing(archive, db_url):
    session, _ = archive
    before = _fingerprint(session)
    for query in ("'; DROP TABLE articles; --", 'NEAR("x" OR Hubei*'):
        result = run_cli("--db", db_url, "search", query, "--format", "json")
        assert result.returncode == 0, result.stderr
        assert isinstance(json.loads(result.stdout), list)
    session.expire_all()
    assert _fingerprint(session) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "the of"], "nothing to search for"),
        (["search", "Hubei", "--since", "last week"], "--since"),
        (["search", "Hubei", "--limit", "0"], "--limit"),
        (["search", "x" * 5000], "too long"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(sqlite_url, args, message):
    result = run_cli("--db", sqlite_url, *args)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_dates_whole_days_relative_and_refused():
    from pledgewatch.cli.search import parse_day

    assert parse_day("2020-04-30", "--since") == datetime(2020, 4, 30, tzinfo=UTC)
    # --until a day includes that whole day.
    assert parse_day("2020-04-30", "--until", end=True) == datetime(2020, 5, 1, tzinfo=UTC)
    assert parse_day("2020-04-30T10:00:00+08:00", "--since") == datetime(2020, 4, 30, 2, tzinfo=UTC)
    four_weeks = datetime.now(UTC) - parse_day("4w", "--since")
    assert timedelta(days=27, hours=23) < four_weeks < timedelta(days=28, minutes=1)
    with pytest.raises(UsageError, match="--since 'yesterday' is not a date"):
        parse_day("yesterday", "--since")
