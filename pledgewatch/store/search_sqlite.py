"""Search on SQLite: FTS5 with the pw_bm25 ranking function (or FTS5's bm25() without it).

Every term reaches FTS5 as a *string* (inside double quotes nothing is an operator: not NEAR, ``*``,
``^``, ``:`` or a column filter), as a bound parameter. The index is kept by triggers (migration
0002); SQLite's tokenizer removes accents (``remove_diacritics 2``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    TableClause,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from pledgewatch.store import fts5rank
from pledgewatch.store.models import Article
from pledgewatch.store.search_query import (
    ELLIPSIS,
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    ParsedQuery,
    SearchFilters,
    filter_clauses,
)

SNIPPET_TOKENS = 24
# SQLite page cache for a searching connection (KiB, negative = size): bm25 looks up every ranked
# article's column sizes, and SQLite's default 2 MB cache turns those into file reads.
SQLITE_SEARCH_CACHE_KIB = 65_536

# SQLite covering index on articles (id, source_id, published_at, relevant), migration 0002.
SQLITE_FILTER_INDEX = "ix_articles_search_filters"
# Title hits weigh more than body hits: FTS5 bm25 column weights (title, text) ...
SQLITE_BM25_WEIGHTS = (10.0, 1.0)
# bm25's IDF needs the number of articles containing each phrase. FTS5's bm25() counts them on
# every query by walking them all: 26-50 ms for a phrase in a quarter of a million articles, the
# slowest part of a search (benchmarks/README.md). pw_bm25 (store/_fts5rank.c) takes a share per
# phrase instead, estimated here from the newest articles: the newest IDF_SAMPLE_HITS matches, or
# all matches among the newest IDF_SAMPLE_ARTICLES. 1,000 matches put the share within about 3 %
# (IDF within 0.03). A phrase with fewer than IDF_EXACT_BELOW matches among those is counted
# exactly, as bm25() does: rare recently, it is most likely rare overall, so that walk is short.
# An archive of at most IDF_SAMPLE_ARTICLES is counted exactly: the ranks are bm25()'s.
IDF_SAMPLE_ARTICLES = 20_000
IDF_SAMPLE_HITS = 1_000
IDF_EXACT_BELOW = 20


class _IndexedArticles(TableClause):
    """``articles INDEXED BY ix_articles_search_filters``: the columns search filters on, read from
    the covering index of migration 0002 instead of the row (where the text sits before `relevant`,
    so reading the row walks overflow pages). SQLAlchemy renders no index hints for SQLite itself."""

    inherit_cache = True


@compiles(_IndexedArticles, "sqlite")
def _render_indexed_articles(
    element: _IndexedArticles, compiler: Any, asfrom: bool = False, **kw: Any
) -> str:
    if asfrom:
        return f"{element.name} INDEXED BY {SQLITE_FILTER_INDEX}"
    return element.name


def sqlite_filter_table() -> _IndexedArticles:
    return _IndexedArticles(
        "articles",
        column("id", Integer()),
        column("source_id", Integer()),
        column("published_at", Article.__table__.c.published_at.type),
        column("relevant", Boolean()),
    )


def sqlite_search(
    session: Session, parsed: ParsedQuery, filters: SearchFilters
) -> tuple[list[tuple[int, float, str, str]], bool]:
    session.connection().exec_driver_sql(f"PRAGMA cache_size = -{int(SQLITE_SEARCH_CACHE_KIB)}")
    fts = table("articles_fts", column("rowid"))
    fts_ref = literal_column("articles_fts")
    match = fts_ref.op("MATCH")(bindparam("match", parsed.fts5_match()))
    if fts5rank.enabled():
        score = func.pw_bm25(fts_ref, *SQLITE_BM25_WEIGHTS, *_sqlite_phrase_shares(session, parsed))
    else:
        score = func.bm25(fts_ref, *SQLITE_BM25_WEIGHTS)
    articles = sqlite_filter_table()
    clauses = filter_clauses(filters, articles)

    def matching(*columns: ColumnElement[object]) -> Select[tuple[object, ...]]:
        statement = select(*columns).select_from(fts)
        if clauses:
            # Only a filter needs the articles table, and then only its covering index.
            statement = statement.join(articles, articles.c.id == fts.c.rowid)
        return statement.where(match, *clauses)

    # One walk down the doclist, newest first, scoring at most the window's rows; then the best of
    # those. The window count says whether the walk stopped early.
    window = (
        matching(fts.c.rowid.label("id"), score.label("score"))
        .order_by(fts.c.rowid.desc())
        .limit(filters.rank_window)
        .subquery("window")
    )
    rows = session.execute(
        select(window.c.id, window.c.score, func.count().over().label("seen"))
        .order_by(window.c.score, window.c.id)
        .limit(filters.limit)
    ).all()
    windowed = bool(rows) and rows[0][2] >= filters.rank_window
    ranked = [(row[0], row[1]) for row in rows]
    if not ranked:
        return [], windowed
    # ... then highlights for those few only: snippet() is the expensive part.
    ids = [row[0] for row in ranked]
    highlights = {
        row[0]: (row[1], row[2])
        for row in session.execute(
            select(
                fts.c.rowid,
                func.highlight(fts_ref, 0, HIGHLIGHT_START, HIGHLIGHT_END),
                func.snippet(fts_ref, 1, HIGHLIGHT_START, HIGHLIGHT_END, ELLIPSIS, SNIPPET_TOKENS),
            )
            .select_from(fts)
            .where(match, fts.c.rowid.in_(ids))
        )
    }
    # bm25() is lower-is-better and negative; users expect higher-is-better.
    hits = [(row[0], -float(row[1]), *highlights.get(row[0], ("", ""))) for row in ranked]
    return hits, windowed


def _sqlite_phrase_shares(session: Session, parsed: ParsedQuery) -> list[float]:
    """pw_bm25's per-phrase arguments: the share of articles containing each phrase, estimated from
    the newest ones, or -1 (count exactly). See IDF_SAMPLE_ARTICLES."""
    sample_articles, sample_hits = IDF_SAMPLE_ARTICLES, IDF_SAMPLE_HITS
    connection = session.connection()
    phrases = parsed.fts5_phrases()
    # The oldest article of the sample; none in an archive smaller than the sample.
    newest_ids = f"SELECT id FROM articles INDEXED BY {SQLITE_FILTER_INDEX}"
    cut = connection.execute(
        text(f"{newest_ids} ORDER BY id DESC LIMIT 1 OFFSET :offset"), {"offset": sample_articles - 1}
    ).scalar()
    if cut is None:
        return [-1.0] * len(phrases)
    newest_matches = text(
        "SELECT count(*), min(rowid) FROM (SELECT rowid FROM articles_fts WHERE articles_fts MATCH :phrase "
        "AND rowid >= :cut ORDER BY rowid DESC LIMIT :hits)"
    )
    articles_since = text(f"SELECT count(*) FROM ({newest_ids} WHERE id >= :first)")
    included = phrases[: len(phrases) - len(parsed.excluded)]
    shares: dict[str, float] = {}
    for term in included:
        phrase = term.fts5()
        if phrase in shares:
            continue
        hits, first = connection.execute(
            newest_matches, {"phrase": phrase, "cut": cut, "hits": sample_hits}
        ).one()
        if hits < IDF_EXACT_BELOW:
            shares[phrase] = -1.0
            continue
        covered = sample_articles
        if hits >= sample_hits:
            covered = int(connection.execute(articles_since, {"first": first}).scalar() or hits)
        shares[phrase] = hits / covered
    # Excluded phrases never occur in a matching article: their IDF multiplies zero.
    return [shares[term.fts5()] for term in included] + [0.0] * len(parsed.excluded)


def fts_consistent(session: Session) -> bool:
    """SQLite only: does the FTS index agree with the articles table (FTS5 integrity-check)?"""
    if session.get_bind().dialect.name != "sqlite":
        return True
    from sqlalchemy.exc import DatabaseError

    try:
        session.connection().exec_driver_sql(
            "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)"
        )
    except DatabaseError:
        return False
    return True
