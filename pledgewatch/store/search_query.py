"""The search query language and filters: what a user may ask, parsed and checked before any SQL.

Users type web-search syntax: words (all must match), ``"exact phrases"``, ``OR`` between two terms,
``-word`` / ``-"a phrase"`` to exclude. :func:`parse_query` turns any string into a
:class:`ParsedQuery` or refuses it with one :class:`~pledgewatch.errors.UsageError`. Both backends
(:mod:`~pledgewatch.store.search_sqlite`, :mod:`~pledgewatch.store.search_postgres`) must give the
same results for the same query, so the parser removes what only one of them would ignore (stop
words, see :mod:`pledgewatch.store.search`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, FromClause, exists, select

from pledgewatch.errors import UsageError
from pledgewatch.store.models import Article, PledgeMention, Source

# Markers around highlighted words in snippets and titles (Unicode private-use characters, which no
# article text contains); the CLI turns them into bold text or ``**...**``.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_END = "\ue001"
ELLIPSIS = "…"

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
MAX_LIMIT = 1000
# Ranking costs 3-10 microseconds per matching article in a million (bm25 reads each one's column
# sizes; ts_rank_cd its tsvector). A query that matches more than this many articles ranks only the
# most recently archived ones, so a common word answers in tens of milliseconds in a million articles,
# not in a second (benchmarks/README.md); SearchResult.windowed says so, and the CLI tells the user to
# narrow the query or the dates.
RANK_WINDOW = 2_000
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


def check_filters(filters: SearchFilters) -> None:
    """The checks that need no database, so a typo is reported before an archive is opened."""
    if not 1 <= filters.limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be between 1 and {MAX_LIMIT}, not {filters.limit}")
    if filters.since and filters.until and filters.since >= filters.until:
        raise UsageError("--since must be before --until")
    for value in (filters.since, filters.until):
        if value is not None and value.tzinfo is None:
            raise UsageError(f"date {value.isoformat()} has no time zone")


def filter_clauses(filters: SearchFilters, articles: FromClause | None = None) -> list[ColumnElement[bool]]:
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


def highlighted_parts(value: str) -> list[tuple[str, bool]]:
    """Split a highlighted string into (text, is_highlighted) parts, for any output format."""
    parts: list[tuple[str, bool]] = []
    for index, chunk in enumerate(re.split(f"[{HIGHLIGHT_START}{HIGHLIGHT_END}]", value)):
        if chunk:
            parts.append((chunk, index % 2 == 1))
    return parts
