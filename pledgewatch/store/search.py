"""Full-text search over the archive's articles, the same on SQLite (FTS5) and PostgreSQL (tsvector).

Users type web-search syntax: words (all must match), ``"exact phrases"``, ``OR`` between two terms,
``-word`` / ``-"a phrase"`` to exclude. :func:`parse_query` turns any string into a
:class:`ParsedQuery` or refuses it with one :class:`~pledgewatch.errors.UsageError`; the query then
reaches the database only as bound parameters: on SQLite every term becomes an FTS5 *string* (inside
double quotes nothing is an operator: not NEAR, ``*``, ``^``, ``:`` or a column filter), on
PostgreSQL every term goes, as its words only, through ``phraseto_tsquery`` (plain text, no
operators) and the terms are combined with tsquery operators in SQL. So user text is never parsed
as query syntax by the database, let alone as SQL.

Both backends must give the same results for the same query, so the parser removes what only one of
them would ignore: PostgreSQL's ``english`` configuration drops stop words ("the", "will"), SQLite's
porter tokenizer indexes them. Stop words are therefore dropped from bare words and from the edges of
phrases on both sides; inside a phrase they still have to be there (SQLite: that word; PostgreSQL: any
one word). Both indexes fold accents ("café" is "cafe"), so a stop word is recognised without its
accents too ("à" is "a").

Accents: SQLite's tokenizer removes them (``remove_diacritics 2``); on PostgreSQL the index is built
with ``pledgewatch_english`` (migration 0008: ``english`` with the ``unaccent`` dictionary before the
stemmer). Queries and headlines use the configuration the index was actually built with, read from
the catalog: on a server without the ``unaccent`` extension, 0008 keeps ``english``, and accents
matter there. Remaining differences are documented in docs/schema.md (stemmers: porter vs snowball;
letters that are not a base letter plus an accent, such as ø, ß, æ, are folded on PostgreSQL only).

The search index itself is maintained by the database (migrations 0002 and 0008): triggers on
SQLite, a generated column on PostgreSQL, so an article and its index entry are always written
together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import bindparam, column, func, literal_column, select, table
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from pledgewatch.errors import UsageError
from pledgewatch.store.models import Article, Source
from pledgewatch.store.search_postgres import (
    postgres_configuration,
    postgres_filter_clauses,
    postgres_search,
    postgres_tsquery,
)
from pledgewatch.store.search_query import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    RANK_WINDOW,
    STOP_WORDS,
    ParsedQuery,
    SearchFilters,
    check_filters,
    filter_clauses,
    highlighted_parts,
    parse_query,
)
from pledgewatch.store.search_sqlite import fts_consistent, sqlite_filter_table, sqlite_search

# The search API in one place: callers import these from here, whichever module defines them.
__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "RANK_WINDOW",
    "STOP_WORDS",
    "ParsedQuery",
    "SearchFilters",
    "SearchHit",
    "SearchResult",
    "check_filters",
    "count_matches",
    "fts_consistent",
    "highlighted_parts",
    "known_sources",
    "parse_query",
    "search",
    "search_articles",
]


@dataclass(frozen=True)
class SearchHit:
    """One found article with its rank (higher is better) and highlighted title and snippet."""

    article: Article
    rank: float
    title: str
    snippet: str


def known_sources(session: Session, configured: tuple[str, ...] = ()) -> list[str]:
    """Source names a search may filter on: those stored plus ``configured``."""
    stored = session.scalars(select(Source.name)).all()
    return sorted(set(stored) | set(configured))


def _check_filters(session: Session, filters: SearchFilters) -> None:
    check_filters(filters)
    if filters.sources:
        known = known_sources(session, filters.known)
        unknown = [name for name in filters.sources if name not in known]
        if unknown:
            raise UsageError(f"unknown source {unknown[0]!r} (known: {', '.join(known)})")


@dataclass(frozen=True)
class SearchResult:
    """The hits, and whether only the ``rank_window`` most recently archived matches were ranked."""

    hits: list[SearchHit]
    windowed: bool


def search_articles(
    session: Session, query: str | ParsedQuery, filters: SearchFilters | None = None
) -> list[SearchHit]:
    """Ranked articles matching ``query``, best first, at most ``filters.limit``."""
    return search(session, query, filters).hits


def search(session: Session, query: str | ParsedQuery, filters: SearchFilters | None = None) -> SearchResult:
    """Ranked articles matching ``query`` (see :func:`search_articles`), with the window flag.

    Raises :class:`UsageError` for a query or filter the user must change. Only reads.
    """
    parsed = parse_query(query) if isinstance(query, str) else query
    filters = filters or SearchFilters()
    _check_filters(session, filters)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        ranked, windowed = sqlite_search(session, parsed, filters)
        articles = _articles(session, [row[0] for row in ranked])
    elif dialect == "postgresql":
        # PostgreSQL reads the articles with their headlines (one round trip fewer).
        ranked, windowed, articles = postgres_search(session, parsed, filters, HIT_OPTIONS)
    else:  # pragma: no cover - make_engine accepts only the two
        raise UsageError(f"full-text search is not available on {dialect}")
    return SearchResult(hits=_hits(ranked, articles), windowed=windowed)


def count_matches(session: Session, query: str | ParsedQuery, filters: SearchFilters | None = None) -> int:
    """How many articles match (all of them, no rank window): cheap, no ranking involved."""
    parsed = parse_query(query) if isinstance(query, str) else query
    filters = filters or SearchFilters()
    _check_filters(session, filters)
    if session.get_bind().dialect.name == "sqlite":
        fts = table("articles_fts", column("rowid"))
        fts_ref = literal_column("articles_fts")
        articles = sqlite_filter_table()
        clauses = filter_clauses(filters, articles)
        statement = select(func.count()).select_from(fts)
        if clauses:
            statement = statement.join(articles, articles.c.id == fts.c.rowid)
        statement = statement.where(fts_ref.op("MATCH")(bindparam("match", parsed.fts5_match())), *clauses)
    else:
        vector = literal_column("articles.search_vector")
        configuration = postgres_configuration(session)
        statement = (
            select(func.count())
            .select_from(Article)
            .where(
                vector.op("@@")(postgres_tsquery(parsed, configuration)), *postgres_filter_clauses(filters)
            )
        )
    return int(session.scalar(statement) or 0)


# How a hit's article is loaded: with its source and URLs (every listing shows them), without the
# columns no listing shows (the text, its extraction record, the fingerprint: most of a row's bytes),
# which load on first use if a caller wants them.
HIT_OPTIONS = (
    joinedload(Article.source),
    selectinload(Article.urls),
    defer(Article.text),
    defer(Article.extraction),
    defer(Article.fingerprint),
)


def _articles(session: Session, ids: list[int]) -> dict[int, Article]:
    if not ids:
        return {}
    return {
        article.id: article
        for article in session.scalars(select(Article).where(Article.id.in_(ids)).options(*HIT_OPTIONS))
    }


def _hits(ranked: list[tuple[int, float, str, str]], articles: dict[int, Article]) -> list[SearchHit]:
    return [
        SearchHit(
            article=articles[article_id],
            rank=float(rank),
            title=_one_line(title or ""),
            snippet=_one_line(snippet or ""),
        )
        for article_id, rank, title, snippet in ranked
        if article_id in articles
    ]


_ADJACENT_HIGHLIGHTS = re.compile(f"{HIGHLIGHT_END}(\\s+){HIGHLIGHT_START}")


def _one_line(value: str) -> str:
    """One line (snippets cut across paragraphs), with a phrase highlighted as one span on both backends.

    FTS5 marks a matched phrase as one span, ts_headline marks each word; merge adjacent spans.
    """
    return _ADJACENT_HIGHLIGHTS.sub(r"\1", " ".join(value.split()))
