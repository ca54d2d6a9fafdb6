"""SQLite search ranking with pw_bm25 (store/_fts5rank.c): bm25 with document frequencies estimated
from the newest articles, so a common word does not cost a walk over every article containing it."""

from __future__ import annotations

import os
import sqlite3

import pytest
from helpers_search import fill_window_archive, open_archive, seed_archive
from sqlalchemy import select

from pledgewatch.store import fts5rank, search_sqlite
from pledgewatch.store.models import Article
from pledgewatch.store.search import SearchFilters, parse_query, search

QUERIES = [
    "Hubei",
    "JD",
    "e-commerce villages",
    '"rural revitalization"',
    "Hubei OR Tianjin",
    "logistics -Hubei",
    "invest billion",
    "JD JD Hubei",
]


@pytest.fixture(autouse=True)
def ranking_module():
    """CI builds the module (.ci/run sets PLEDGEWATCH_REQUIRE_FTS5RANK): there its absence is a failure."""
    if fts5rank.UNAVAILABLE_REASON is not None:
        if os.environ.get("PLEDGEWATCH_REQUIRE_FTS5RANK"):
            pytest.fail(f"pw_bm25 should be available here: {fts5rank.UNAVAILABLE_REASON}")
        pytest.skip(f"pw_bm25 unavailable: {fts5rank.UNAVAILABLE_REASON}")


@pytest.fixture
def seeded(sqlite_url):
    engine, session = open_archive(sqlite_url)
    seed_archive(session)
    yield session
    session.close()
    engine.dispose()


@pytest.fixture
def window(sqlite_url):
    engine, session = open_archive(sqlite_url)
    contains = fill_window_archive(session)
    yield session, contains
    session.close()
    engine.dispose()


def ranked(session, query: str, **filters) -> list[tuple[int, float]]:
    hits = search(session, query, SearchFilters(limit=1000, **filters)).hits
    return [(hit.article.id, hit.rank) for hit in hits]


def test_ranks_are_bm25s_in_an_archive_smaller_than_the_sample(seeded, monkeypatch):
    # Every phrase is counted exactly there, so the per-article part (title weight, phrase
    # frequency, length) must be bm25's to the last digit, for words, phrases, OR and exclusion.
    monkeypatch.delenv(fts5rank.RANKING_ENV, raising=False)
    assert fts5rank.enabled()
    ours = {query: ranked(seeded, query) for query in QUERIES}
    monkeypatch.setenv(fts5rank.RANKING_ENV, "bm25")
    assert not fts5rank.enabled()
    for query in QUERIES:
        builtin = ranked(seeded, query)
        assert builtin, query
        assert [article for article, _ in ours[query]] == [article for article, _ in builtin], query
        for (_, mine), (_, theirs) in zip(ours[query], builtin, strict=True):
            assert mine == pytest.approx(theirs, rel=1e-9), query


def test_document_frequencies_are_estimated_from_the_newest_articles(window, monkeypatch):
    session, contains = window
    monkeypatch.setattr(search_sqlite, "IDF_SAMPLE_ARTICLES", 500)
    monkeypatch.setattr(search_sqlite, "IDF_SAMPLE_HITS", 60)
    monkeypatch.setattr(search_sqlite, "IDF_EXACT_BELOW", 5)
    newest = session.scalars(select(Article.id).order_by(Article.id)).all()[-500:]

    def expected(word: str) -> float:
        recent = [article for article in contains[word] if article >= newest[0]]
        if len(recent) < 5:
            return -1.0
        if len(recent) < 60:
            return len(recent) / 500
        # The newest 60 matches, over the articles archived since the oldest of them.
        first = recent[-60]
        return 60 / len([article for article in newest if article >= first])

    # In the newest 500: market about 250 times (its newest 60 suffice), logistics about 100,
    # Hubei (2 % of recent articles) about 10, the phrase about 75.
    shares = search_sqlite._sqlite_phrase_shares(
        session, parse_query('market logistics Hubei -"rural revitalization"')
    )
    assert shares == [
        pytest.approx(expected("market")),
        pytest.approx(expected("logistics")),
        pytest.approx(expected("Hubei")),
        0.0,
    ]
    assert 0.4 < shares[0] < 0.6 and 0.1 < shares[1] < 0.3 and 0 < shares[2] < 0.05
    # Rare among the newest articles: counted exactly, as bm25() does.
    monkeypatch.setattr(search_sqlite, "IDF_EXACT_BELOW", 50)
    assert search_sqlite._sqlite_phrase_shares(session, parse_query("Hubei"))[0] == -1.0


def test_estimated_ranking_finds_what_bm25_finds(window, monkeypatch):
    # The estimate only changes IDFs: the same articles are found, and for one word (whose IDF
    # scales every score alike) in the same order.
    session, _ = window
    monkeypatch.delenv(fts5rank.RANKING_ENV, raising=False)
    monkeypatch.setattr(search_sqlite, "IDF_SAMPLE_ARTICLES", 500)
    monkeypatch.setattr(search_sqlite, "IDF_SAMPLE_HITS", 60)
    ours = {
        query: ranked(session, query, rank_window=400) for query in ("market", "Hubei market", "logistics")
    }
    monkeypatch.setenv(fts5rank.RANKING_ENV, "bm25")
    for query, hits in ours.items():
        builtin = ranked(session, query, rank_window=400)
        assert {article for article, _ in hits} == {article for article, _ in builtin}, query
        if " " not in query:
            assert [article for article, _ in hits] == [article for article, _ in builtin], query


def test_connections_opened_after_import_rank_with_pw_bm25(tmp_path):
    # Registration is per process (sqlite3_auto_extension): any later connection has the function,
    # including one opened with plain sqlite3, as Datasette or a user's script would.
    connection = sqlite3.connect(tmp_path / "plain.db")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    connection.execute("INSERT INTO t VALUES ('JD will invest in Hubei')")
    (score,) = connection.execute("SELECT pw_bm25(t, 1.0, 0.5) FROM t WHERE t MATCH 'hubei'").fetchone()
    assert score < 0
    with pytest.raises(sqlite3.OperationalError, match="one weight per column"):
        connection.execute("SELECT pw_bm25(t, 1.0) FROM t WHERE t MATCH 'hubei'").fetchall()
    connection.close()
