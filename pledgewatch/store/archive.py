"""The archive's write path: one extracted article in, a decision (new, edit, duplicate) out.

``save_article`` is the single entry point the crawl pipeline and imports use; the duplicate
detection it relies on lives in :mod:`pledgewatch.store.dedup`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pledgewatch.crawler.items import ArticleRecord
from pledgewatch.store.models import Article, ArticleUrl, ArticleVersion, Source

SaveStatus = Literal["new", "updated", "duplicate", "unchanged"]


@dataclass(frozen=True)
class SaveResult:
    status: SaveStatus
    article: Article


@dataclass(frozen=True)
class KnownArticle:
    article_id: int
    modified_at: datetime | None
    fetched_at: datetime


_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Whitespace-insensitive form of a body text, the basis of its content hash."""
    return _SPACE.sub(" ", text).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def get_or_create_source(session: Session, name: str) -> Source:
    source = session.scalars(select(Source).where(Source.name == name)).first()
    if source is None:
        from pledgewatch.spiders.publisher import all_publishers

        publisher = all_publishers().get(name)
        source = Source(
            name=name,
            title=publisher.title if publisher else name,
            domain=publisher.domain if publisher else "",
        )
        session.add(source)
        session.flush()
    return source


def find_known_article(session: Session, url: str) -> KnownArticle | None:
    """The archived article behind ``url`` (any alias), for the crawler's seen-URL check."""
    row = session.execute(
        select(Article.id, Article.modified_at, Article.fetched_at)
        .join(ArticleUrl, ArticleUrl.article_id == Article.id)
        .where(ArticleUrl.url == url)
    ).first()
    if row is None:
        return None
    return KnownArticle(article_id=row[0], modified_at=row[1], fetched_at=row[2])


def _unified_diff(old: str, new: str) -> str:
    return "\n".join(
        difflib.unified_diff(old.splitlines(), new.splitlines(), "previous", "current", lineterm="")
    )


def save_article(session: Session, record: ArticleRecord, entities: list[str]) -> SaveResult:
    """Store ``record``: a new article, a new version of a known one, or nothing new.

    ``entities`` are the watch-list names the article mentions; a non-empty list makes it relevant.
    The caller commits.
    """
    digest = content_hash(record.text)
    known = find_known_article(session, record.url)
    if known is not None:
        article = session.get_one(Article, known.article_id)
        if article.content_hash == digest:
            if record.modified and (article.modified_at is None or record.modified > article.modified_at):
                article.modified_at = record.modified
            return SaveResult("unchanged", article)
        previous_text = article.text
        article.version += 1
        article.title = record.title or article.title
        article.text = record.text
        article.content_hash = digest
        article.updated_at = record.fetched_at
        article.modified_at = record.modified or article.modified_at
        article.entities = entities
        article.relevant = bool(entities)
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
        session.flush()
        return SaveResult("updated", article)

    source = get_or_create_source(session, record.source)
    article = Article(
        source=source,
        canonical_url=record.url,
        title=record.title,
        authors=list(record.authors),
        outlet=record.outlet,
        published_at=record.published,
        modified_at=record.modified,
        fetched_at=record.fetched_at,
        language=record.language,
        text=record.text,
        content_hash=digest,
        relevant=bool(entities),
        entities=entities,
        version=1,
    )
    article.urls.append(ArticleUrl(url=record.url, first_seen_at=record.fetched_at))
    article.versions.append(
        ArticleVersion(
            version=1, title=record.title, text=record.text, content_hash=digest, fetched_at=record.fetched_at
        )
    )
    session.add(article)
    session.flush()
    return SaveResult("new", article)
