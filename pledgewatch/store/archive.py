"""The archive's write path: one extracted article in, a decision (new, edit, duplicate) out.

``save_article`` is the single entry point the crawl pipeline and imports use. It deduplicates at
four levels, each persisted so that a restart forgets nothing and none of them scans the archive:

1. URL variants: the URL is canonicalised (:mod:`pledgewatch.spiders.urls`) and looked up among
   the aliases (``article_urls``) and publisher article ids (``articles.article_key``).
2. Exact copies: the same normalised text (``content_hash``) under another URL of the same
   source is the same article; the URL becomes an alias.
3. Near-duplicates: MinHash LSH (:mod:`pledgewatch.store.dedup`). Near-identical text of the same
   source under another URL is a duplicate; a similar article of another outlet stays its own
   article but joins the same story.
4. Edits: a known article (by URL, alias or article id) with a changed text gets a new version
   with the diff, ``version`` + 1 and ``updated_at``.

Several writers at once (workers of a cluster, docs/deployment.md) never create a second row of
one thing: ``sources.name``, ``articles.canonical_url`` and ``article_urls.url`` are unique and
written with ``INSERT ... ON CONFLICT DO NOTHING``; and what no constraint can say (the same article
under two URL variants, a near-copy joining a story, a re-report linking to a known pledge: fuzzy
matches) is decided under :func:`serialize_writes`, one writer's transaction at a time.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Insert, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pledgewatch.records import ArticleRecord, CanonicalUrl, generic_canonical
from pledgewatch.store import dedup
from pledgewatch.store.models import Article, ArticleUrl, ArticleVersion, Source, Story

SaveStatus = Literal["new", "updated", "duplicate", "unchanged"]


@dataclass(frozen=True)
class SaveResult:
    """What ``save_article`` decided; ``article`` is the stored article (the original for a duplicate).

    ``duplicate_by`` says which level caught a duplicate ("url", "text" or "near"), ``similarity``
    the Jaccard similarity that made a near-duplicate or joined a story.
    """

    status: SaveStatus
    article: Article
    duplicate_by: str | None = None
    similarity: float | None = None


@dataclass(frozen=True)
class TextFacts:
    """What deduplication computes from an article's text alone: its hash, and for a text long
    enough to compare, its shingles and MinHash signature.

    Pure computation (a sixth of storing a new article), so the crawl's store workers compute it
    before they take the archive's write lock (:func:`text_facts`), and ``save_article`` spends
    its turn on the database alone.
    """

    text: str
    digest: str
    shingles: frozenset[str] | None
    signature: Any = None


def text_facts(text: str) -> TextFacts:
    """The :class:`TextFacts` of ``text``."""
    if not dedup.comparable(text):
        return TextFacts(text, content_hash(text), None)
    shingle_set = dedup.shingles(text)
    return TextFacts(text, content_hash(text), frozenset(shingle_set), dedup.signature(shingle_set))


@dataclass(frozen=True)
class KnownArticle:
    article_id: int
    modified_at: datetime | None
    fetched_at: datetime
    published_at: datetime | None = None

    @property
    def version_time(self) -> datetime | None:
        """When the archived version was last changed, as far as the archive knows: its modification
        date, else its publication (an article stored with no modification date is at least the
        version published; a sitemap's ``lastmod`` equal to that is no edit)."""
        return self.modified_at or self.published_at


_SPACE = re.compile(r"\s+")
# Typographic variants one CMS prints and another does not: the same text either way.
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


def normalise_text(text: str) -> str:
    """The form of a body text its content hash is taken of: NFKC, straight quotes, one space."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).translate(_QUOTES)).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


# pg_advisory_xact_lock's key for the archive's write path ("pldg").
WRITE_LOCK_KEY = 0x706C6467


def serialize_writes(session: Session) -> None:
    """Take the archive's write lock until this transaction ends (commit or rollback).

    On PostgreSQL a transaction-level advisory lock: the writers of a cluster decide "is this
    article, this story, this pledge already known?" one after the other, so two workers storing
    copies of one article (or two reports of one pledge) at the same moment never both insert it.
    Readers are not blocked. SQLite has a single writer anyway (its write lock and busy timeout).
    It relies on PostgreSQL's default READ COMMITTED isolation: each statement after the lock sees
    what the previous holder committed (REPEATABLE READ would keep the snapshot from before the wait).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})


def insert_ignoring_conflicts(session: Session, table: type, **values: object) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for this session's database (PostgreSQL or SQLite)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).values(**values).on_conflict_do_nothing()  # type: ignore[attr-defined,no-any-return]


def find_source(session: Session, name: str) -> Source | None:
    """The source row of ``name``, if there is one: a read, taken before the write lock."""
    return session.scalars(select(Source).where(Source.name == name)).first()


def get_or_create_source(session: Session, name: str, title: str | None = None, domain: str = "") -> Source:
    """The source row of ``name``; a new one takes the publisher's ``title`` and ``domain``.

    The store does not know the publishers: the caller (ingest, with the registry) names them. An
    upsert: two workers storing a new source's first articles at once create one row.
    """
    source = find_source(session, name)
    if source is None:
        session.execute(
            insert_ignoring_conflicts(session, Source, name=name, title=title or name, domain=domain)
        )
        source = session.scalars(select(Source).where(Source.name == name)).one()
    return source


def _generic(url: str | None) -> CanonicalUrl | None:
    if not url:
        return None
    try:
        return generic_canonical(url)
    except ValueError:
        return None


def _lookup(session: Session, urls: set[str], keys: set[str]) -> Article | None:
    """The article behind any of these URLs (aliases) or publisher article keys."""
    conditions = []
    if urls:
        conditions.append(Article.id.in_(select(ArticleUrl.article_id).where(ArticleUrl.url.in_(urls))))
    if keys:
        conditions.append(Article.article_key.in_(keys))
    if not conditions:
        return None
    return session.scalars(select(Article).where(or_(*conditions)).order_by(Article.id).limit(1)).first()


def find_known_article(
    session: Session, url: str, canonical: CanonicalUrl | None = None
) -> KnownArticle | None:
    """The archived article behind ``url`` or any variant of it, for the crawler's seen-URL check.

    ``canonical`` is the URL's canonical form with its publisher's rules applied
    (:func:`pledgewatch.spiders.urls.canonicalize`): with it,
    ``http://m.chinadaily.com.cn/a/.../WS....html?utm_source=x`` finds the article stored from
    ``https://www.chinadaily.com.cn/a/.../WS....html``. Without it only the generic rules apply.
    """
    canonical = canonical or _generic(url)
    urls = {url} | ({canonical.url} if canonical else set())
    keys = {canonical.article_key} if canonical and canonical.article_key else set()
    article = _lookup(session, urls, keys)
    if article is None:
        return None
    return KnownArticle(
        article_id=article.id,
        modified_at=article.modified_at,
        fetched_at=article.fetched_at,
        published_at=article.published_at,
    )


# URLs and keys per ``IN (...)`` query of the batched check: well under SQLite's 32,766 bound
# parameters and PostgreSQL's 65,535, and small enough to keep each query quick.
KNOWN_CHUNK = 500


def find_known_articles(
    session: Session, items: Iterable[tuple[str, CanonicalUrl | None]]
) -> dict[str, KnownArticle]:
    """:func:`find_known_article` for many URLs at once: two queries per :data:`KNOWN_CHUNK` URLs.

    ``items`` are (url, canonical) pairs as for the single lookup; the answer maps each URL that is
    archived to its article (the lowest id when variants of it match several, as the single lookup
    does). A 50,000-URL sitemap was 50,000 queries on the crawl's event loop (0.8-7.6 ms each).
    """
    wanted: dict[str, tuple[set[str], set[str]]] = {}
    for url, canonical in items:
        canonical = canonical or _generic(url)
        urls = {url} | ({canonical.url} if canonical else set())
        keys = {canonical.article_key} if canonical and canonical.article_key else set()
        wanted[url] = (urls, keys)
    by_url: dict[str, int] = {}
    by_key: dict[str, int] = {}
    all_urls = sorted({u for urls, _ in wanted.values() for u in urls})
    all_keys = sorted({k for _, keys in wanted.values() for k in keys})
    for start in range(0, len(all_urls), KNOWN_CHUNK):
        chunk = all_urls[start : start + KNOWN_CHUNK]
        for alias, article_id in session.execute(
            select(ArticleUrl.url, ArticleUrl.article_id).where(ArticleUrl.url.in_(chunk))
        ):
            by_url[alias] = article_id
    for start in range(0, len(all_keys), KNOWN_CHUNK):
        chunk = all_keys[start : start + KNOWN_CHUNK]
        for key, article_id in session.execute(
            select(Article.article_key, func.min(Article.id))
            .where(Article.article_key.in_(chunk))
            .group_by(Article.article_key)
        ):
            by_key[key] = article_id
    matched: dict[str, int] = {}
    for url, (urls, keys) in wanted.items():
        ids = [by_url[u] for u in urls if u in by_url] + [by_key[k] for k in keys if k in by_key]
        if ids:
            matched[url] = min(ids)
    dates: dict[int, tuple[datetime | None, datetime, datetime | None]] = {}
    article_ids = sorted(set(matched.values()))
    for start in range(0, len(article_ids), KNOWN_CHUNK):
        chunk = article_ids[start : start + KNOWN_CHUNK]
        for article_id, modified_at, fetched_at, published_at in session.execute(
            select(Article.id, Article.modified_at, Article.fetched_at, Article.published_at).where(
                Article.id.in_(chunk)
            )
        ):
            dates[article_id] = (modified_at, fetched_at, published_at)
    return {
        url: KnownArticle(
            article_id=i, modified_at=dates[i][0], fetched_at=dates[i][1], published_at=dates[i][2]
        )
        for url, i in matched.items()
        if i in dates
    }


def _unified_diff(old: str, new: str) -> str:
    return "\n".join(
        difflib.unified_diff(old.splitlines(), new.splitlines(), "previous", "current", lineterm="")
    )


@dataclass(frozen=True)
class _Identity:
    """Every URL an incoming record answers to, its canonical URL and its publisher article keys."""

    urls: set[str]
    canonical_url: str
    article_key: str | None
    keys: set[str]


def _identity(record: ArticleRecord) -> _Identity:
    own = record.canonical or _generic(record.url)
    # The further pages of a multi-page article are URLs of the same article.
    urls = {record.url, *record.page_urls}
    keys: set[str] = set()
    canonical_url = own.url if own else record.url
    article_key = own.article_key if own else None
    if own:
        urls.add(own.url)
        if own.article_key:
            keys.add(own.article_key)
    hint = record.hint or _generic(record.canonical_hint)
    # A rel=canonical is trusted only when it names an article of the same publisher (some sites
    # point every page's canonical at their home page).
    if hint and own and hint.article_key and hint.publisher == own.publisher:
        urls |= {record.canonical_hint or hint.url, hint.url}
        keys.add(hint.article_key)
        canonical_url, article_key = hint.url, hint.article_key
    return _Identity(urls, canonical_url, article_key, keys)


def _add_aliases(session: Session, article: Article, urls: set[str], seen_at: datetime) -> set[str]:
    """Record the URLs ``article`` is not yet known under (a URL another article owns stays its own)."""
    taken = set(session.scalars(select(ArticleUrl.url).where(ArticleUrl.url.in_(urls))))
    new = urls - taken
    for url in sorted(new):
        # An upsert: a URL another writer recorded meanwhile stays that writer's (one row per URL).
        row = {"article_id": article.id, "url": url, "first_seen_at": seen_at}
        session.execute(insert_ignoring_conflicts(session, ArticleUrl, **row))
    if new:
        session.expire(article, ["urls"])
    return new


def _is_older_capture(session: Session, article: Article, record: ArticleRecord, digest: str) -> bool:
    """An earlier text of the article (importing an old WARC after a newer crawl) is not an edit.

    Without this check an old capture would become the current text, and the next crawl would
    flip it back: two false "updated" articles and a rolled-back pledge.
    """
    rows = session.execute(
        select(ArticleVersion.content_hash, ArticleVersion.fetched_at).where(
            ArticleVersion.article_id == article.id
        )
    ).all()
    if any(content == digest for content, _ in rows):
        return True
    latest = max((fetched for _, fetched in rows), default=None)
    return latest is not None and record.fetched_at < latest


def _record_edit(
    session: Session, article: Article, record: ArticleRecord, digest: str, entities: list[str]
) -> None:
    previous_text = article.text
    article.version += 1
    article.title = record.title or article.title
    article.text = record.text
    article.content_hash = digest
    article.updated_at = record.fetched_at
    article.modified_at = record.modified or article.modified_at
    article.entities = entities
    article.relevant = bool(entities)
    article.extraction = record.extraction or article.extraction
    session.add(
        ArticleVersion(
            article=article,
            version=article.version,
            title=article.title,
            text=record.text,
            content_hash=digest,
            fetched_at=record.fetched_at,
            diff=_unified_diff(previous_text, record.text),
        )
    )
    # The buckets follow the latest text, so later copies of the edited text find this article.
    sig = dedup.signature(dedup.shingles(record.text)) if dedup.comparable(record.text) else None
    article.fingerprint = dedup.pack(sig) if sig is not None else None
    session.flush()
    dedup.write_buckets(session, article.id, sig)


def save_article(
    session: Session,
    record: ArticleRecord,
    entities: list[str],
    source: Source | None = None,
    facts: TextFacts | None = None,
) -> SaveResult:
    """Store ``record``: a new article, a new version of a known one, a duplicate, or nothing new.

    ``entities`` are the watch-list names the article mentions; a non-empty list makes it relevant.
    ``source`` is the row of ``record.source`` when the caller already holds it in this session
    (ingest creates it with the publisher's title first): one query per article less.
    ``facts`` are the record's :class:`TextFacts` when the caller computed them already (before
    taking the write lock); they are computed here otherwise, only as far as they are needed.
    The caller commits.
    """
    if facts is not None and facts.text != record.text:
        facts = None
    digest = facts.digest if facts is not None else content_hash(record.text)
    identity = _identity(record)
    known = _lookup(session, identity.urls, identity.keys)

    # Levels 1 and 4: a URL (or article id) we know. Same text: nothing new, unless the URL is a
    # variant never seen before (a duplicate caught by URL). Changed text: an edit.
    if known is not None:
        new_urls = _add_aliases(session, known, identity.urls, record.fetched_at)
        if known.content_hash == digest:
            if record.modified and (known.modified_at is None or record.modified > known.modified_at):
                known.modified_at = record.modified
            session.flush()
            if record.url in new_urls:
                return SaveResult("duplicate", known, duplicate_by="url")
            return SaveResult("unchanged", known)
        if _is_older_capture(session, known, record, digest):
            return SaveResult("unchanged", known)
        _record_edit(session, known, record, digest, entities)
        return SaveResult("updated", known)

    if source is None or source.name != record.source:
        source = get_or_create_source(session, record.source)
    comparable = facts.shingles is not None if facts is not None else dedup.comparable(record.text)

    # Level 2: the same text under another URL of the same outlet.
    if comparable:
        copy = dedup.find_exact_copy(session, source.id, digest)
        if copy is not None:
            _add_aliases(session, copy, identity.urls, record.fetched_at)
            session.flush()
            return SaveResult("duplicate", copy, duplicate_by="text", similarity=1.0)

    # Level 3: near-duplicates (same outlet) and other outlets' copies (same story).
    matches: list[dedup.Match] = []
    sig = None
    if comparable:
        if facts is not None and facts.shingles is not None:
            shingle_set, sig = set(facts.shingles), facts.signature
        else:
            shingle_set = dedup.shingles(record.text)
            sig = dedup.signature(shingle_set)
        matches = dedup.find_similar(session, shingle_set, sig)
        for match in matches:
            if match.source_id == source.id and match.similarity.duplicate:
                original = session.get_one(Article, match.article_id)
                _add_aliases(session, original, identity.urls, record.fetched_at)
                session.flush()
                jaccard = match.similarity.jaccard
                return SaveResult("duplicate", original, duplicate_by="near", similarity=jaccard)

    story: Story = dedup.story_for(session, matches)
    article = Article(
        source=source,
        canonical_url=identity.canonical_url,
        article_key=identity.article_key,
        title=record.title,
        authors=list(record.authors),
        outlet=record.outlet,
        published_at=record.published,
        modified_at=record.modified,
        fetched_at=record.fetched_at,
        language=record.language,
        text=record.text,
        content_hash=digest,
        fingerprint=dedup.pack(sig) if sig is not None else None,
        relevant=bool(entities),
        entities=entities,
        story_id=story.id,
        version=1,
        extraction=record.extraction,
        # Given, not left to the column's NULL: detection then clears it without an UPDATE.
        analysis_deferred_at=None,
    )
    for url in sorted(identity.urls):
        article.urls.append(ArticleUrl(url=url, first_seen_at=record.fetched_at))
    article.versions.append(
        ArticleVersion(
            version=1, title=record.title, text=record.text, content_hash=digest, fetched_at=record.fetched_at
        )
    )
    session.add(article)
    session.flush()
    if sig is not None:
        dedup.write_buckets(session, article.id, sig)
    return SaveResult("new", article, similarity=matches[0].similarity.jaccard if matches else None)
