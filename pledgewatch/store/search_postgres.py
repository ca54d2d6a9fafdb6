"""Search on PostgreSQL: a generated tsvector column, ts_rank_cd, ts_headline.

Every term goes, as its words only, through ``phraseto_tsquery`` (plain text, no operators) and the
terms are combined with tsquery operators in SQL. The index is built with ``pledgewatch_english``
(migration 0008: ``english`` with ``unaccent`` before the stemmer) where the server has unaccent.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption
from sqlalchemy.sql.elements import BindParameter

from pledgewatch.store.models import Article
from pledgewatch.store.search_query import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    MAX_TERMS,
    ParsedQuery,
    SearchFilters,
    Term,
    filter_clauses,
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

# ... and ts_rank_cd weights {D, C, B, A} on PostgreSQL (title is A, body is B).
POSTGRES_RANK_WEIGHTS = "{0.01, 0.02, 0.1, 1.0}"
# One passage (the best cover): fragments (MaxFragments) cost twice the time per headline.
POSTGRES_HEADLINE_OPTIONS = f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_END}, MaxWords=30, MinWords=15"
POSTGRES_TITLE_OPTIONS = f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_END}, HighlightAll=true"
# PostgreSQL searches the rank window in ranges of ids, newest first (_postgres_window), choosing for
# each range between the GIN index and walking the primary key by these costs (µs, measured in 1M
# articles with PostgreSQL's default 128 MB of shared buffers, the tsvectors in their rows: migration
# 0018): testing one article on a walk, one entry of the GIN index's lists (all the articles
# containing a term, whatever the range), one id of the range's primary-key bitmap, reading and
# ranking one row that the index found in the range.
POSTGRES_WALK_US = 1.7
POSTGRES_INDEX_ENTRY_US = 0.2
POSTGRES_RANGE_ID_US = 0.07
POSTGRES_ROW_US = 4.0
# ... and one entry of a filter's index bitmap (all the articles the filter keeps, whatever the range).
POSTGRES_FILTER_ENTRY_US = 0.17
# With the ids' buckets in the index (migration 0019), a range is whole buckets instead of a primary-key
# bitmap: GIN scans the words once per bucket, skipping to it (measured: 22 µs a bucket with few
# matches; the matches it finds are counted in POSTGRES_ROW_US's rows).
POSTGRES_BUCKET_US = 22.0
# Matches from which a share is trusted to size a range (see _postgres_window).
POSTGRES_TRUSTED_MATCHES = 20
# The first range, walked: the newest articles, whose matches tell how common the query's words are.
POSTGRES_FIRST_SPAN = 512
# Later ranges should hold this much more than the matches still missing (twice as much with filters,
# whose index bitmaps every probe reads again: 60 ms for a filter that keeps a third of 1M articles).
POSTGRES_SPAN_MARGIN = 1.25
POSTGRES_SPAN_MARGIN_FILTERED = 2.0
# Memory for those bitmaps: under PostgreSQL's default 4 MB, the bitmap of a filter that keeps a third
# of 1M articles turns lossy (whole pages) and every row on those pages is tested again.
POSTGRES_SEARCH_WORK_MEM = "64MB"
# A --since / --until that keeps at least this share of the archive is tested on the rows the words'
# index found (a heap filter) instead of ANDing the bitmap of every article in the dates from
# ix_articles_published_at: that bitmap costs POSTGRES_FILTER_ENTRY_US per article in the dates, on
# every range searched (since 2020 in 1M articles: 332,000 entries, 57 ms), while the rows read in
# vain cost the window's need times (1 / share - 1) rows. The two meet near a fifth of the archive
# (1M articles: "Hubei --source people --since 2020", a third, 112 -> 60 ms; "JD invest --since" a
# tenth, 47 ms by the index, 51 by the rows; "market" over the last week, 73 ms by the index and
# 926 by the rows). The share comes from the column's histogram (pg_stats), read with the settings.
POSTGRES_DATE_HEAP_SHARE = 0.2
# The search index's id buckets as pg_get_expr shows its last column (migration 0019: ``(id / 8192)``).
POSTGRES_BUCKET_EXPRESSION = re.compile(r"\(id / (\d+)\)")
POSTGRES_SEARCH_INDEX = "ix_articles_search_vector"


def postgres_configuration(session: Session) -> ColumnElement[object]:
    """The configuration the index was built with, as a regconfig constant (see
    POSTGRES_CONFIGURATION_SQL): a query parsed with another one would miss words (``café``)."""
    return _configuration_literal(session.execute(text(POSTGRES_CONFIGURATION_SQL)).scalar())


def _configuration_literal(name: str | None) -> ColumnElement[object]:
    name = name or POSTGRES_DEFAULT_CONFIGURATION
    # A literal, not a bound parameter: the planner must see the tsquery's value (see _postgres_search),
    # and text -> regconfig is not an immutable cast. The name comes from the catalog, quoted by it.
    return literal_column("'{}'::regconfig".format(name.replace("'", "''")))


def _tsquery(term: Term, index: int, configuration: ColumnElement[object]) -> ColumnElement[object]:
    # The words only, as the index saw them (migration 0002 turns punctuation into spaces).
    parameter: BindParameter[str] = bindparam(f"term_{index}", " ".join(term.tokens))
    return func.phraseto_tsquery(configuration, parameter)


def postgres_tsquery(parsed: ParsedQuery, configuration: ColumnElement[object]) -> ColumnElement[object]:
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


def postgres_filter_clauses(filters: SearchFilters, dates_on_rows: bool = False) -> list[ColumnElement[bool]]:
    """The filters as conditions on articles, written so that the search index can answer them.

    Migration 0017 puts ``source_id`` and ``relevant`` in the GIN index next to ``search_vector``
    (btree_gin), so that the index intersects them with the words and skips through their long
    lists, instead of ANDing a bitmap of every article the filter keeps (a third of the archive, from
    the column's own btree index) for every range. GIN answers ``column = value`` and ``column = ANY
    (constant array)``: the sources stay ``IN (SELECT ...)``, which is planned as a join that gives
    the index ``source_id = sources.id`` for each source (``= ANY (ARRAY(SELECT ...))`` is not used
    by the index), and ``relevant`` becomes ``= ANY ('{t}')``: ``relevant IS true`` is no operator,
    and the planner turns ``relevant = true`` into ``relevant``, which only a btree index matches.
    ``dates_on_rows``: the dates are written so that no index matches them (``published_at +
    interval '0'``), for a range that keeps much of the archive (POSTGRES_DATE_HEAP_SHARE).
    Same rows as :func:`~pledgewatch.store.search_query.filter_clauses`.
    """
    indexed = replace(filters, relevant=False)
    if dates_on_rows:
        indexed = replace(indexed, since=None, until=None)
    clauses = filter_clauses(indexed)
    if filters.relevant:
        clauses.append(Article.__table__.c.relevant == any_(literal_column("'{t}'::boolean[]")))
    if dates_on_rows:
        published = literal_column("(articles.published_at + interval '0 seconds')")
        if filters.since is not None:
            clauses.append(published >= filters.since)
        if filters.until is not None:
            clauses.append(published < filters.until)
    return clauses


def _share_between(
    bounds: Sequence[datetime] | None, since: datetime | None, until: datetime | None
) -> float | None:
    """The share of the archive published in [since, until), from the column's histogram (its
    bounds split the articles into equal parts); None without statistics (never analysed)."""
    if not bounds or len(bounds) < 2:
        return None
    low = 0 if since is None else bisect.bisect_left(bounds, since)
    high = len(bounds) if until is None else bisect.bisect_left(bounds, until)
    return max(0, high - low) / len(bounds)


class _Start(NamedTuple):
    """What a search reads before the window, in one round trip (_postgres_begin_search)."""

    newest: int | None
    configuration: str | None
    bounds: list[datetime] | None
    bucket: int | None
    saved: dict[str, str]


def postgres_search(
    session: Session,
    parsed: ParsedQuery,
    filters: SearchFilters,
    article_options: Sequence[ORMOption] | None = (),
) -> tuple[list[tuple[int, float, str, str]], bool, dict[int, Article]]:
    """(id, rank, title headline, text headline) of the best matches, whether the window was full,
    and the best articles themselves, read with their headlines and loaded with
    ``article_options``; None: no articles (an archive whose columns are older than the models').
    """
    # The tsquery is written out wherever it is used (same bound parameters), never put in a CTE, so
    # the planner sees its value; and every statement is planned for its values: psycopg prepares a
    # statement run five times, and PostgreSQL may then switch to one generic plan for all terms (3 s
    # for a common word in 1M articles). JIT compilation would cost 30-40 ms in these short queries.
    # The first range of ids is walked (_postgres_window). The settings as they were come back at
    # the end, for the rest of the caller's transaction.
    dated = filters.since is not None or filters.until is not None
    start = _postgres_begin_search(
        session,
        dated,
        plan_cache_mode="force_custom_plan",
        jit="off",
        work_mem=POSTGRES_SEARCH_WORK_MEM,
        enable_indexscan="on",
        enable_bitmapscan="off",  # on where the index has buckets: see _postgres_begin_search
        enable_seqscan="off",
    )
    if start.newest is None:
        _set_local(session, **start.saved)
        return [], False, {}
    configuration = _configuration_literal(start.configuration)
    q = postgres_tsquery(parsed, configuration)
    share = _share_between(start.bounds, filters.since, filters.until) if dated else None
    on_rows = share is not None and share >= POSTGRES_DATE_HEAP_SHARE
    window = _postgres_window(
        session, q, filters, start.newest, on_rows, start.bucket, share if share is not None else 1.0
    )
    # Best rank first, the older article first among equal ranks: two sorts by C-level keys (the
    # second is stable, also reversed), a third of the time of one by a Python key over 2,000 rows.
    best = sorted(window, key=itemgetter(0))
    best.sort(key=itemgetter(1), reverse=True)
    best = best[: filters.limit]
    headlines: dict[int, tuple[str, str]] = {}
    articles: dict[int, Article] = {}
    if best:
        # Headlines only for the few best rows: ts_headline re-parses the whole text. The settings
        # come back in the same statement (an uncorrelated sub-select runs once, as an InitPlan,
        # when the first row is made; the plan is made by then): one round trip fewer.
        title_headline = func.ts_headline(configuration, Article.title, q, bindparam("title_opts"))
        text_headline = func.ts_headline(configuration, Article.text, q, bindparam("opts"))
        restore = literal_column(f"(SELECT concat({_set_configs(start.saved)}))")
        wanted = Article.id.in_([row[0] for row in best])
        statement = (
            select(Article, title_headline, text_headline, restore).where(wanted).options(*article_options)
            if article_options is not None
            else select(Article.id, title_headline, text_headline, restore).where(wanted)
        )
        found = session.execute(
            statement, {"opts": POSTGRES_HEADLINE_OPTIONS, "title_opts": POSTGRES_TITLE_OPTIONS}
        ).all()
        for row in found:
            article_id = row[0] if article_options is None else row[0].id
            headlines[article_id] = (row[1], row[2])
            if article_options is not None:
                articles[article_id] = row[0]
    if not headlines:  # no rows made: the settings are still the search's
        _set_local(session, **start.saved)
    windowed = len(window) >= filters.rank_window
    return [(row[0], row[1], *headlines.get(row[0], ("", ""))) for row in best], windowed, articles


def _postgres_window(
    session: Session,
    q: ColumnElement[object],
    filters: SearchFilters,
    newest: int,
    dates_on_rows: bool = False,
    bucket: int | None = None,
    dates_kept: float = 1.0,
) -> list[tuple[int, float]]:
    """The ``rank_window`` newest matches (highest ids) with their ranks, newest first.

    Neither plan PostgreSQL picks by itself for "the newest N matches" scales to a million articles:
    walking the primary key backwards tests every article on the way (a term in 3 % of the articles:
    70,000 tests, 0.45 s with the tsvectors in TOAST, 0.12 s in the rows); the GIN
    index finds every match cheaply, but sorting them by id reads every matching row first (28,000
    rows, 0.3 s). So the window is searched in ranges of ids, newest first. The newest
    POSTGRES_FIRST_SPAN ids are walked, which tells how common the words are and how many of those
    articles the filters keep; each further range is sized to hold the matches still missing, and
    searched whichever way costs less (POSTGRES_*_US): with the GIN index, or walking (a common word:
    a few thousand tests cost less than reading a few thousand rows the index found). With the ids'
    buckets in the index (``bucket``, migration 0019) the index finds the matches of the range's
    whole buckets by itself; without, it ANDs the range's part of the primary key (a BitmapAnd), and
    reads the words' whole list again for every range. ``dates_kept``: the share of the archive in
    the dates (from the histogram), for dates tested on the rows.
    """
    articles = Article.__table__
    vector = literal_column("articles.search_vector")
    clauses = postgres_filter_clauses(filters, dates_on_rows)
    weights = literal_column(f"'{POSTGRES_RANK_WEIGHTS}'::float4[]")

    def newest_matches(
        limit: int | None, conditions: Sequence[ColumnElement[bool]], walk: bool, first: bool = False
    ) -> list[tuple[int, float, bool]]:
        # The filters in the WHERE clause, or (first range) as a column: do they keep the match?
        kept = and_(*clauses) if clauses and first else true()
        # Ranked as each row is read, before the sort: the tsvector is in the row (migration 0018),
        # so the sort carries an id and a rank, not the tsvector (a few times the ranking's cost).
        rank = func.ts_rank_cd(weights, vector, q)
        # With buckets, the plan is chosen by how the statement is written, not by settings (which
        # cost a round trip to change): a walk tests the words with the operator's function, which
        # no index answers, so the primary key is walked; an index search sorts by ``id + 0``, which
        # no index gives, so the words' index is read. Without buckets, by settings (as before).
        match = func.ts_match_vq(vector, q) if walk and bucket else vector.op("@@")(q)
        order = literal_column("articles.id + 0") if bucket and not walk else articles.c.id
        found = session.execute(
            select(articles.c.id, rank, kept.label("kept"))
            .where(match, *([] if first else clauses), *conditions)
            .order_by(order.desc())
            .limit(limit)
        ).all()
        return [(row[0], float(row[1]), bool(row[2])) for row in found]

    def id_range(upper: int, lower: int) -> list[ColumnElement[bool]]:
        # Conditions the primary key answers: walked backwards, or ANDed as a bitmap.
        return [articles.c.id <= upper] + ([articles.c.id > lower] if lower > 0 else [])

    first = newest_matches(None, id_range(newest, newest - POSTGRES_FIRST_SPAN), walk=True, first=True)
    rows = [(row[0], row[1]) for row in first if row[2]][: filters.rank_window]
    # From the walk, per id in the archive: entries in the index's lists (articles with the words) and,
    # taking the share of those matches the filters keep for the share of all articles they keep,
    # entries in the filters' index bitmaps (for the dates only, with buckets: the others are in
    # the search index, 0017).
    words_share = max(len(first), 1) / POSTGRES_FIRST_SPAN
    filters_share = max(len(rows), 1) / max(len(first), 1) if clauses else 0.0
    dates_indexed = not dates_on_rows and (filters.since is not None or filters.until is not None)
    dates_share = filters_share if dates_indexed else 0.0
    # With buckets the filters are in the search index (0017) and another probe re-reads none of
    # their bitmaps, unless the dates come from their own index.
    reprobe_costly = bool(clauses) and (not bucket or dates_indexed)
    bitmap_margin = POSTGRES_SPAN_MARGIN_FILTERED if reprobe_costly else POSTGRES_SPAN_MARGIN
    # Rows the index finds per match kept: dates tested on the rows fail on the others.
    read_per_kept = 1 / max(dates_kept, 0.01) if dates_on_rows else 1.0
    upper, walking = newest - POSTGRES_FIRST_SPAN, True
    while len(rows) < filters.rank_window and upper > 0:
        need, share = filters.rank_window - len(rows), max(len(rows), 1) / (newest - upper)
        # A range too short costs another probe (index lists and filter bitmaps read again), one too
        # long reads more rows; a walk stops at the limit, its range (twice the expected) only bounds
        # a wrong guess. Less than half a range would be left over: take it all now.
        span = math.ceil(bitmap_margin * need / share)
        walk_cost = need / share * POSTGRES_WALK_US
        if bucket:
            # Whole buckets, from the one holding ``upper`` down to the one holding the range's end;
            # all that is left when that reaches the first bucket (then no bucket condition at all).
            # Dates tested on the rows: each range reads every match of the words and the other
            # filters in it, most of them outside the dates. A guess of the share from a few matches
            # may be a few times too low, and reading all that is left for it costs far more than
            # another probe: half of what is left at most, until the guess rests on enough matches.
            if read_per_kept > 1 and len(rows) < POSTGRES_TRUSTED_MATCHES:
                span = min(span, upper // 2)
            # Not with --relevant: given the buckets as an array too, the planner counts the whole
            # list of relevant articles once per bucket and takes them from their btree index
            # instead (a bitmap of 300,000 ids in 1M articles, 90-110 ms); in one scan of all that
            # is left, the search index answers it (0017).
            bottom = 0 if filters.relevant else max(upper - span, 0) // bucket
            everything = bottom == 0
            covered = upper if everything else upper - bottom * bucket + 1
            index_cost = (
                newest * words_share * POSTGRES_INDEX_ENTRY_US
                if everything
                else (upper // bucket - bottom + 1) * POSTGRES_BUCKET_US
            )
            index_cost += (
                newest * dates_share * POSTGRES_FILTER_ENTRY_US
                + share * covered * read_per_kept * POSTGRES_ROW_US
            )
        else:
            index_cost = (
                newest * (words_share * POSTGRES_INDEX_ENTRY_US + filters_share * POSTGRES_FILTER_ENTRY_US)
                + min(upper, span) * POSTGRES_RANGE_ID_US
                + need * POSTGRES_ROW_US
            )
        walk = walk_cost < index_cost
        if walk != walking and not bucket:
            # The planner counts a test as nearly free and would walk large ranges: bitmaps only.
            _set_local(
                session, enable_indexscan="on" if walk else "off", enable_bitmapscan="off" if walk else "on"
            )
            walking = walk
        if walk or not bucket:
            span = math.ceil(2.0 * need / share) if walk else span
            lower = 0 if upper - span < span // 2 else upper - span
            found = newest_matches(need, id_range(upper, lower), walk)
        else:
            # ``id + 0``: tested on the rows, so the primary key's bitmap is not read for it.
            conditions: list[ColumnElement[bool]] = [literal_column("articles.id + 0") <= upper]
            if not everything:
                buckets = list(range(upper // bucket, bottom - 1, -1))
                conditions.append(
                    literal_column(f"(articles.id / {bucket})")
                    == any_(bindparam("buckets", buckets, type_=ARRAY(Integer)))
                )
            lower = 0 if everything else bottom * bucket - 1
            found = newest_matches(need, conditions, walk=False)
        rows += [(row[0], row[1]) for row in found]
        upper = lower
    return rows


def _postgres_begin_search(session: Session, dated: bool, **settings: str) -> _Start:
    """The newest article id, the text search configuration of the index (postgres_configuration),
    with ``dated`` the histogram of publication times (pg_stats: see POSTGRES_DATE_HEAP_SHARE), the
    size of the search index's id buckets (migration 0019; None without them), and the current
    values of ``settings``, which are then set for the rest of the transaction (``SET LOCAL``), all
    in one round trip (each costs the client about a millisecond).

    The CTE is read before the outer row is made, so the values saved are the ones before the change.
    """
    names = list(settings)
    saved = ", ".join(f"current_setting('{name}') AS saved_{index}" for index, name in enumerate(names))
    # Bitmap scans stay on where the index has buckets (their plans are chosen by the statements'
    # form, see _postgres_window): one round trip fewer per search than switching them on later.
    values = [
        f"CASE WHEN saved.buckets LIKE '%(id / %' THEN 'on' ELSE :value_{index} END"
        if name == "enable_bitmapscan"
        else f":value_{index}"
        for index, name in enumerate(names)
    ]
    changes = ", ".join(
        f"set_config('{name}', {value}, true)" for name, value in zip(names, values, strict=True)
    )
    histogram = (
        "(SELECT histogram_bounds::text::timestamptz[] FROM pg_stats WHERE schemaname = current_schema()"
        " AND tablename = 'articles' AND attname = 'published_at')"
        if dated
        else "NULL::timestamptz[]"
    )
    buckets = (
        "(SELECT pg_get_expr(indexprs, indrelid) FROM pg_index"
        f" WHERE indexrelid = to_regclass('{POSTGRES_SEARCH_INDEX}'))"
    )
    statement = text(
        f"WITH saved AS MATERIALIZED (SELECT max(id) AS newest, ({POSTGRES_CONFIGURATION_SQL}) AS name, "
        f"{histogram} AS bounds, {buckets} AS buckets, {saved} FROM articles) "
        f"SELECT saved.*, {changes} FROM saved"
    )
    row = session.execute(
        statement, {f"value_{index}": settings[name] for index, name in enumerate(names)}
    ).one()
    bucket = POSTGRES_BUCKET_EXPRESSION.fullmatch(row[3] or "")
    return _Start(
        newest=row[0],
        configuration=row[1],
        bounds=row[2],
        bucket=int(bucket.group(1)) if bucket else None,
        saved=dict(zip(names, row[4 : 4 + len(names)], strict=True)),
    )


def _set_configs(values: dict[str, str]) -> str:
    """``set_config`` calls restoring ``values`` (as the server reported them), written as literals:
    building them as bound SQL functions cost a millisecond of client CPU per search."""
    return ", ".join(
        "set_config('{}', '{}', true)".format(name, value.replace("'", "''"))
        for name, value in values.items()
    )


def _set_local(session: Session, **settings: str) -> None:
    """Settings for the rest of this transaction only (``SET LOCAL``), in one round trip.

    The names and values come from this module or from the server, never from input (_set_configs).
    """
    session.execute(text(f"SELECT {_set_configs(settings)}"))
