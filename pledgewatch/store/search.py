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

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    TableClause,
    and_,
    bindparam,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
    text,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql.elements import BindParameter

from pledgewatch.errors import UsageError
from pledgewatch.store import fts5rank
from pledgewatch.store.models import Article, PledgeMention, Source

# Markers around highlighted words in snippets and titles (Unicode private-use characters, which no
# article text contains); the CLI turns them into bold text or ``**...**``.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_END = "\ue001"
ELLIPSIS = "…"

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
MAX_LIMIT = 1000
SNIPPET_TOKENS = 24
# Ranking costs 3-10 microseconds per matching article in a million (bm25 reads each one's column
# sizes; ts_rank_cd its tsvector). A query that matches more than this many articles ranks only the
# most recently archived ones, so a common word answers in tens of milliseconds in a million articles,
# not in a second (benchmarks/README.md); SearchResult.windowed says so, and the CLI tells the user to
# narrow the query or the dates.
RANK_WINDOW = 2_000
# SQLite page cache for a searching connection (KiB, negative = size): bm25 looks up every ranked
# article's column sizes, and SQLite's default 2 MB cache turns those into file reads.
SQLITE_SEARCH_CACHE_KIB = 65_536

# PostgreSQL's english.stop (the Snowball English list): what to_tsvector('english', ...) leaves out,
# and pledgewatch_english (migration 0008: the same stemmer and list, after unaccent).
STOP_WORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves what which who whom this that these
    those am is are was were be been being have has had having do does did doing a an the and but if
    or because as until while of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there when where
    why how all any both each few more most other some such no nor not only own same so than too very s
    t can will just don should now
    """.split()  # noqa: SIM905 (a list literal of 127 words reads worse)
)

# PostgreSQL: the text search configuration articles.search_vector was built with, which queries and
# headlines must use too: pledgewatch_english (english with unaccent, migration 0008), or english
# where the server had no unaccent extension. The column's expression depends on it (pg_depend);
# english, a built-in, is pinned and has no such entry. Read as the name search_path resolves.
POSTGRES_CONFIGURATION_SQL = """
SELECT dep.refobjid::regconfig::text
FROM pg_attrdef def
JOIN pg_attribute att ON att.attrelid = def.adrelid AND att.attnum = def.adnum
JOIN pg_depend dep ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = def.oid
    AND dep.refclassid = 'pg_ts_config'::regclass
WHERE def.adrelid = 'articles'::regclass AND att.attname = 'search_vector'
LIMIT 1
"""
POSTGRES_DEFAULT_CONFIGURATION = "english"

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
# ... and ts_rank_cd weights {D, C, B, A} on PostgreSQL (title is A, body is B).
POSTGRES_RANK_WEIGHTS = "{0.01, 0.02, 0.1, 1.0}"
# One passage (the best cover): fragments (MaxFragments) cost twice the time per headline.
POSTGRES_HEADLINE_OPTIONS = f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_END}, MaxWords=30, MinWords=15"
POSTGRES_TITLE_OPTIONS = f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_END}, HighlightAll=true"
# PostgreSQL searches the rank window in ranges of ids, newest first (_postgres_window), choosing for
# each range between the GIN index and walking the primary key by these costs (µs, measured in 1M
# articles with PostgreSQL's default 128 MB of shared buffers): testing one article on a walk (reads
# its tsvector out of TOAST), one entry of the GIN index's lists (all the articles containing a term,
# whatever the range), reading one row that the index found in the range.
POSTGRES_WALK_US = 5.0
POSTGRES_INDEX_ENTRY_US = 0.3
POSTGRES_ROW_US = 15.0
# ... and one entry of a filter's index bitmap (all the articles the filter keeps, whatever the range).
POSTGRES_FILTER_ENTRY_US = 0.17
# The first range, walked: the newest articles, whose matches tell how common the query's words are.
POSTGRES_FIRST_SPAN = 512
# Later ranges should hold this much more than the matches still missing (twice as much with filters,
# whose index bitmaps every probe reads again: 60 ms for a filter that keeps a third of 1M articles).
POSTGRES_SPAN_MARGIN = 1.25
POSTGRES_SPAN_MARGIN_FILTERED = 2.0
# Memory for those bitmaps: under PostgreSQL's default 4 MB, the bitmap of a filter that keeps a third
# of 1M articles turns lossy (whole pages) and every row on those pages is tested again.
POSTGRES_SEARCH_WORK_MEM = "64MB"

# What FTS5's unicode61 tokenizer (categories L* N* Co) and PostgreSQL's parser see as word
# characters, near enough to know whether a term has any word in it.
_TOKEN = re.compile(r"[^\W_]+")
# Control characters (NUL above all: PostgreSQL text cannot hold it) are never part of a query.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ue000\ue001]")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_DASHES = ("-", "−", "–")


@dataclass(frozen=True)
class Term:
    """One word or phrase of a query, as typed (``text``) and as searchable tokens."""

    text: str
    phrase: bool
    tokens: tuple[str, ...]

    def fts5(self) -> str:
        """An FTS5 string (a phrase of the tokens): nothing inside it is an operator."""
        return '"' + " ".join(self.tokens).replace('"', '""') + '"'

    def display(self) -> str:
        return f'"{self.text}"' if self.phrase else self.text


@dataclass(frozen=True)
class ParsedQuery:
    """A conjunction of OR-groups of terms, minus excluded terms."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    def fts5_match(self) -> str:
        """The FTS5 MATCH expression; built only from quoted terms and the operators AND/OR/NOT."""

        def group(terms: tuple[Term, ...]) -> str:
            inner = " OR ".join(term.fts5() for term in terms)
            return f"({inner})" if len(terms) > 1 else inner

        expression = " AND ".join(group(terms) for terms in self.groups)
        if self.excluded:
            expression = f"({expression}) NOT ({' OR '.join(term.fts5() for term in self.excluded)})"
        return expression

    def fts5_phrases(self) -> tuple[Term, ...]:
        """The terms in the order FTS5 numbers the phrases of :meth:`fts5_match` (left to right)."""
        return tuple(term for terms in self.groups for term in terms) + self.excluded

    def describe(self) -> str:
        """The query as understood (after dropping stop words), for messages and --format table."""
        parts = [" OR ".join(term.display() for term in terms) for terms in self.groups]
        parts += [f"-{term.display()}" for term in self.excluded]
        return " ".join(parts)


def _unaccented(token: str) -> str:
    """``token`` without accents (letters that decompose into a base letter and marks), as both
    indexes see it: "à" is the stop word "a" to PostgreSQL's unaccent and to SQLite's tokenizer."""
    return "".join(char for char in unicodedata.normalize("NFD", token) if not unicodedata.combining(char))


def _is_stop_word(token: str) -> bool:
    return _unaccented(token) in STOP_WORDS


def _strip_stop_words(tokens: list[str]) -> tuple[str, ...]:
    """Drop stop words at the edges of a phrase (and so a single stop word), as PostgreSQL does."""
    start, end = 0, len(tokens)
    while start < end and _is_stop_word(tokens[start]):
        start += 1
    while end > start and _is_stop_word(tokens[end - 1]):
        end -= 1
    return tuple(tokens[start:end])


def _lex(raw: str) -> list[tuple[str, str, bool]]:
    """Split into (kind, text, negated) items: kind is "word", "phrase" or "or"."""
    items: list[tuple[str, str, bool]] = []
    position, length = 0, len(raw)
    while position < length:
        char = raw[position]
        if char.isspace():
            position += 1
            continue
        negated = False
        if char in _DASHES and position + 1 < length and not raw[position + 1].isspace():
            negated = True
            position += 1
            char = raw[position]
        if char == '"':
            # An unbalanced quote runs to the end of the query: users forget the closing one.
            end = raw.find('"', position + 1)
            end = length if end == -1 else end
            items.append(("phrase", raw[position + 1 : end], negated))
            position = end + 1
            continue
        end = position
        while end < length and not raw[end].isspace() and raw[end] != '"':
            end += 1
        word = raw[position:end]
        position = end
        if word == "OR" and not negated:
            items.append(("or", word, False))
        else:
            items.append(("word", word, negated))
    return items


def parse_query(raw: str) -> ParsedQuery:
    """Parse the user's query, or raise one :class:`UsageError` that says what is wrong with it."""
    if len(raw) > MAX_QUERY_CHARS:
        raise UsageError(f"search query too long ({len(raw)} characters; at most {MAX_QUERY_CHARS})")
    cleaned = _CONTROL.sub(" ", raw).translate(_QUOTES)
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False
    last_excluded: Term | None = None
    for kind, value, negated in _lex(cleaned):
        if kind == "or":
            if last_excluded is not None:
                raise UsageError(
                    f"cannot combine OR with an excluded term (-{last_excluded.display()}); "
                    "put the exclusion outside the OR"
                )
            # OR joins the terms on both sides; a dangling OR (first, last, doubled) means nothing.
            join_next = bool(groups)
            continue
        tokens = _strip_stop_words([token.lower() for token in _TOKEN.findall(value)])
        if not tokens:
            # Punctuation, emoji, operators or stop words only: nothing either index could find.
            join_next = False if not groups else join_next
            continue
        term = Term(text=" ".join(value.split()), phrase=kind == "phrase", tokens=tokens)
        if negated:
            if join_next:
                raise UsageError(
                    f"cannot combine OR with an excluded term (-{term.display()}); "
                    "put the exclusion outside the OR"
                )
            excluded.append(term)
            last_excluded = term
            continue
        last_excluded = None
        if join_next and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    term_count = sum(len(group) for group in groups) + len(excluded)
    if term_count > MAX_TERMS:
        raise UsageError(f"search query has too many terms ({term_count}; at most {MAX_TERMS})")
    if not groups:
        if excluded:
            raise UsageError("search query only excludes words: add at least one word to look for")
        raise UsageError(
            f"nothing to search for in {raw.strip()[:80]!r}: the query needs at least one word that is "
            "not a stop word (such as 'the', 'and', 'will')"
        )
    return ParsedQuery(groups=tuple(tuple(group) for group in groups), excluded=tuple(excluded))


@dataclass(frozen=True)
class SearchFilters:
    """Everything besides the query that narrows a search.

    ``since`` is inclusive and ``until`` exclusive, both on ``published_at``; articles without a
    publication date do not pass a date filter.
    """

    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    relevant: bool = False
    with_pledges: bool = False
    limit: int = 20
    rank_window: int = RANK_WINDOW
    # Source names a user may name besides those stored (the configured publishers): the store
    # does not know the publisher registry, its caller does.
    known: tuple[str, ...] = ()


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


def check_filters(filters: SearchFilters) -> None:
    """The checks that need no database, so a typo is reported before an archive is opened."""
    if not 1 <= filters.limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be between 1 and {MAX_LIMIT}, not {filters.limit}")
    if filters.since and filters.until and filters.since >= filters.until:
        raise UsageError("--since must be before --until")
    for value in (filters.since, filters.until):
        if value is not None and value.tzinfo is None:
            raise UsageError(f"date {value.isoformat()} has no time zone")


def _check_filters(session: Session, filters: SearchFilters) -> None:
    check_filters(filters)
    if filters.sources:
        known = known_sources(session, filters.known)
        unknown = [name for name in filters.sources if name not in known]
        if unknown:
            raise UsageError(f"unknown source {unknown[0]!r} (known: {', '.join(known)})")


def _filter_clauses(filters: SearchFilters, articles: FromClause | None = None) -> list[ColumnElement[bool]]:
    """The filters as SQL conditions on ``articles`` (the table, or SQLite's indexed view of it)."""
    columns = (articles if articles is not None else Article.__table__).c
    clauses: list[ColumnElement[bool]] = []
    if filters.sources:
        clauses.append(columns.source_id.in_(select(Source.id).where(Source.name.in_(list(filters.sources)))))
    if filters.since is not None:
        clauses.append(columns.published_at >= filters.since)
    if filters.until is not None:
        clauses.append(columns.published_at < filters.until)
    if filters.relevant:
        clauses.append(columns.relevant.is_(True))
    if filters.with_pledges:
        clauses.append(exists().where(PledgeMention.article_id == columns.id))
    return clauses


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


def _sqlite_filter_table() -> _IndexedArticles:
    return _IndexedArticles(
        "articles",
        column("id", Integer()),
        column("source_id", Integer()),
        column("published_at", Article.__table__.c.published_at.type),
        column("relevant", Boolean()),
    )


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
        ranked, windowed = _sqlite_search(session, parsed, filters)
    elif dialect == "postgresql":
        ranked, windowed = _postgres_search(session, parsed, filters)
    else:  # pragma: no cover - make_engine accepts only the two
        raise UsageError(f"full-text search is not available on {dialect}")
    return SearchResult(hits=_hits(session, ranked), windowed=windowed)


def count_matches(session: Session, query: str | ParsedQuery, filters: SearchFilters | None = None) -> int:
    """How many articles match (all of them, no rank window): cheap, no ranking involved."""
    parsed = parse_query(query) if isinstance(query, str) else query
    filters = filters or SearchFilters()
    _check_filters(session, filters)
    if session.get_bind().dialect.name == "sqlite":
        fts = table("articles_fts", column("rowid"))
        fts_ref = literal_column("articles_fts")
        articles = _sqlite_filter_table()
        clauses = _filter_clauses(filters, articles)
        statement = select(func.count()).select_from(fts)
        if clauses:
            statement = statement.join(articles, articles.c.id == fts.c.rowid)
        statement = statement.where(fts_ref.op("MATCH")(bindparam("match", parsed.fts5_match())), *clauses)
    else:
        vector = literal_column("articles.search_vector")
        configuration = _postgres_configuration(session)
        statement = (
            select(func.count())
            .select_from(Article)
            .where(vector.op("@@")(_postgres_tsquery(parsed, configuration)), *_filter_clauses(filters))
        )
    return int(session.scalar(statement) or 0)


def _hits(session: Session, ranked: list[tuple[int, float, str, str]]) -> list[SearchHit]:
    if not ranked:
        return []
    ids = [row[0] for row in ranked]
    articles = {
        article.id: article
        for article in session.scalars(
            select(Article)
            .where(Article.id.in_(ids))
            .options(joinedload(Article.source), selectinload(Article.urls))
        )
    }
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


def _sqlite_search(
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
    articles = _sqlite_filter_table()
    clauses = _filter_clauses(filters, articles)

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


def _postgres_configuration(session: Session) -> ColumnElement[object]:
    """The configuration the index was built with, as a regconfig constant (see
    POSTGRES_CONFIGURATION_SQL): a query parsed with another one would miss words (``café``)."""
    name = session.execute(text(POSTGRES_CONFIGURATION_SQL)).scalar() or POSTGRES_DEFAULT_CONFIGURATION
    # A literal, not a bound parameter: the planner must see the tsquery's value (see _postgres_search),
    # and text -> regconfig is not an immutable cast. The name comes from the catalog, quoted by it.
    return literal_column("'{}'::regconfig".format(name.replace("'", "''")))


def _tsquery(term: Term, index: int, configuration: ColumnElement[object]) -> ColumnElement[object]:
    # The words only, as the index saw them (migration 0002 turns punctuation into spaces).
    parameter: BindParameter[str] = bindparam(f"term_{index}", " ".join(term.tokens))
    return func.phraseto_tsquery(configuration, parameter)


def _postgres_tsquery(parsed: ParsedQuery, configuration: ColumnElement[object]) -> ColumnElement[object]:
    counter = iter(range(MAX_TERMS + 1))

    def any_of(terms: Sequence[Term]) -> ColumnElement[object]:
        expression = _tsquery(terms[0], next(counter), configuration)
        for term in terms[1:]:
            expression = func.tsquery_or(expression, _tsquery(term, next(counter), configuration))
        return expression

    query = any_of(parsed.groups[0])
    for group in parsed.groups[1:]:
        query = func.tsquery_and(query, any_of(group))
    if parsed.excluded:
        query = func.tsquery_and(query, func.tsquery_not(any_of(parsed.excluded)))
    return query


def _postgres_search(
    session: Session, parsed: ParsedQuery, filters: SearchFilters
) -> tuple[list[tuple[int, float, str, str]], bool]:
    # The tsquery is written out wherever it is used (same bound parameters), never put in a CTE, so
    # the planner sees its value; and every statement is planned for its values: psycopg prepares a
    # statement run five times, and PostgreSQL may then switch to one generic plan for all terms (3 s
    # for a common word in 1M articles). JIT compilation would cost 30-40 ms in these short queries.
    # The first range of ids is walked (_postgres_window). The settings as they were come back at
    # the end, for the rest of the caller's transaction.
    newest, saved = _postgres_begin_search(
        session,
        plan_cache_mode="force_custom_plan",
        jit="off",
        work_mem=POSTGRES_SEARCH_WORK_MEM,
        enable_indexscan="on",
        enable_bitmapscan="off",
        enable_seqscan="off",
    )
    if newest is None:
        _set_local(session, **saved)
        return [], False
    configuration = _postgres_configuration(session)
    q = _postgres_tsquery(parsed, configuration)
    window = _postgres_window(session, q, filters, newest)
    best = sorted(window, key=lambda row: (-row[1], row[0]))[: filters.limit]
    headlines: dict[int, tuple[str, str]] = {}
    if best:
        # Headlines only for the few best rows: ts_headline re-parses the whole text.
        title_headline = func.ts_headline(configuration, Article.title, q, bindparam("title_opts"))
        text_headline = func.ts_headline(configuration, Article.text, q, bindparam("opts"))
        found = session.execute(
            select(Article.id, title_headline, text_headline).where(Article.id.in_([row[0] for row in best])),
            {"opts": POSTGRES_HEADLINE_OPTIONS, "title_opts": POSTGRES_TITLE_OPTIONS},
        )
        headlines = {row[0]: (row[1], row[2]) for row in found}
    _set_local(session, **saved)
    windowed = len(window) >= filters.rank_window
    return [(row[0], row[1], *headlines.get(row[0], ("", ""))) for row in best], windowed


def _postgres_window(
    session: Session, q: ColumnElement[object], filters: SearchFilters, newest: int
) -> list[tuple[int, float]]:
    """The ``rank_window`` newest matches (highest ids) with their ranks, newest first.

    Neither plan PostgreSQL picks by itself for "the newest N matches" scales to a million articles:
    walking the primary key backwards tests every article on the way, and each test reads that
    article's tsvector out of TOAST (a term in 3 % of the articles: 70,000 tests, 0.45 s); the GIN
    index finds every match cheaply, but sorting them by id reads every matching row first (28,000
    rows, 0.3 s). So the window is searched in ranges of ids, newest first. The newest
    POSTGRES_FIRST_SPAN ids are walked, which tells how common the words are and how many of those
    articles the filters keep; each further range is sized to hold the matches still missing, and
    searched whichever way costs less (POSTGRES_*_US): with the GIN index AND the range's part of the
    primary key (a BitmapAnd, so only the rows in the range are read, about as many as the window
    needs), or walking (a common word: a few thousand tests cost less than reading the index's list
    of the 273,000 articles that contain it, 75 ms).
    """
    articles = Article.__table__
    vector = literal_column("articles.search_vector")
    clauses = _filter_clauses(filters)
    weights = literal_column(f"'{POSTGRES_RANK_WEIGHTS}'::float4[]")

    def newest_matches(
        upper: int, lower: int, limit: int | None, conditions: Sequence[ColumnElement[bool]]
    ) -> list[tuple[int, float, bool]]:
        in_range = [articles.c.id <= upper] + ([articles.c.id > lower] if lower > 0 else [])
        # The filters in the WHERE clause, or (first range) as a column: do they keep the match?
        kept = and_(*clauses) if clauses and not conditions else true()
        matching = (
            select(articles.c.id, vector.label("search_vector"), kept.label("kept"))
            .where(vector.op("@@")(q), *conditions, *in_range)
            .order_by(articles.c.id.desc())
            .limit(limit)
            .subquery("newest")
        )
        # Ranked after the limit (the sort carries the tsvector's TOAST pointer, not its value), so
        # only the rows kept are read for ranking.
        rank = func.ts_rank_cd(weights, matching.c.search_vector, q)
        found = session.execute(
            select(matching.c.id, rank, matching.c.kept).order_by(matching.c.id.desc())
        ).all()
        return [(row[0], float(row[1]), bool(row[2])) for row in found]

    first = newest_matches(newest, newest - POSTGRES_FIRST_SPAN, None, ())
    rows = [(row[0], row[1]) for row in first if row[2]][: filters.rank_window]
    # From the walk, per id in the archive: entries in the index's lists (articles with the words) and,
    # taking the share of those matches the filters keep for the share of all articles they keep,
    # entries in the filters' index bitmaps.
    words_share = max(len(first), 1) / POSTGRES_FIRST_SPAN
    filters_share = max(len(rows), 1) / max(len(first), 1) if clauses else 0.0
    upper, walking = newest - POSTGRES_FIRST_SPAN, True
    while len(rows) < filters.rank_window and upper > 0:
        need, share = filters.rank_window - len(rows), max(len(rows), 1) / (newest - upper)
        walk = (
            need / share * POSTGRES_WALK_US
            < newest * (words_share * POSTGRES_INDEX_ENTRY_US + filters_share * POSTGRES_FILTER_ENTRY_US)
            + need * POSTGRES_ROW_US
        )
        # A range too short costs another probe (index lists and filter bitmaps read again), one too
        # long reads more rows; a walk stops at the limit, its range (twice the expected) only bounds
        # a wrong guess. Less than half a range would be left over: take it all now.
        margin = 2.0 if walk else POSTGRES_SPAN_MARGIN_FILTERED if clauses else POSTGRES_SPAN_MARGIN
        span = math.ceil(margin * need / share)
        lower = 0 if upper - span < span // 2 else upper - span
        if walk != walking:
            # The planner counts a test as nearly free and would walk large ranges: bitmaps only.
            _set_local(
                session, enable_indexscan="on" if walk else "off", enable_bitmapscan="off" if walk else "on"
            )
            walking = walk
        rows += [(row[0], row[1]) for row in newest_matches(upper, lower, need, clauses)]
        upper = lower
    return rows


def _postgres_begin_search(session: Session, **settings: str) -> tuple[int | None, dict[str, str]]:
    """The newest article id and the current values of ``settings``, which are then set for the rest
    of the transaction (``SET LOCAL``), all in one round trip.

    The CTE is read before the outer row is made, so the values saved are the ones before the change.
    """
    names = list(settings)
    saved = ", ".join(f"current_setting('{name}') AS saved_{index}" for index, name in enumerate(names))
    changes = ", ".join(f"set_config('{name}', :value_{index}, true)" for index, name in enumerate(names))
    statement = text(
        f"WITH saved AS MATERIALIZED (SELECT max(id) AS newest, {saved} FROM articles) "
        f"SELECT saved.*, {changes} FROM saved"
    )
    row = session.execute(
        statement, {f"value_{index}": settings[name] for index, name in enumerate(names)}
    ).one()
    return row[0], dict(zip(names, row[1 : 1 + len(names)], strict=True))


def _set_local(session: Session, **settings: str) -> None:
    """Settings for the rest of this transaction only (``SET LOCAL``), in one round trip.

    The names come from this module, never from input; the values are bound parameters.
    """
    calls = ", ".join(f"set_config('{name}', :value_{index}, true)" for index, name in enumerate(settings))
    session.execute(
        text(f"SELECT {calls}"), {f"value_{index}": value for index, value in enumerate(settings.values())}
    )


def highlighted_parts(value: str) -> list[tuple[str, bool]]:
    """Split a highlighted string into (text, is_highlighted) parts, for any output format."""
    parts: list[tuple[str, bool]] = []
    for index, chunk in enumerate(re.split(f"[{HIGHLIGHT_START}{HIGHLIGHT_END}]", value)):
        if chunk:
            parts.append((chunk, index % 2 == 1))
    return parts


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
