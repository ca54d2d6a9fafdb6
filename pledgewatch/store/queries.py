"""Read-only questions users ask of the archive. Every SQL statement of the project lives in store/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pledgewatch.store.models import Article, CrawlRun, Delivery, Pledge, PledgeMention, Source


@dataclass(frozen=True)
class ArchiveStatus:
    sources: int
    articles: int
    relevant_articles: int
    pledges: int
    pledge_mentions: int
    pending_deliveries: int
    last_run_started: datetime | None
    last_run_status: str | None


def archive_status(session: Session) -> ArchiveStatus:
    """Counts for `pledgewatch status`: is the daemon crawling, is mail stuck?"""

    def count(statement) -> int:  # type: ignore[no-untyped-def]
        return int(session.scalar(statement) or 0)

    last_run = session.scalars(select(CrawlRun).order_by(CrawlRun.started_at.desc()).limit(1)).first()
    return ArchiveStatus(
        sources=count(select(func.count()).select_from(Source)),
        articles=count(select(func.count()).select_from(Article)),
        relevant_articles=count(select(func.count()).select_from(Article).where(Article.relevant)),
        pledges=count(select(func.count()).select_from(Pledge)),
        pledge_mentions=count(select(func.count()).select_from(PledgeMention)),
        pending_deliveries=count(
            select(func.count()).select_from(Delivery).where(Delivery.status.not_in(("sent", "skipped")))
        ),
        last_run_started=last_run.started_at if last_run else None,
        last_run_status=last_run.status if last_run else None,
    )


def isoformat(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def article_to_dict(article: Article) -> dict[str, object]:
    """The JSON shape of an article in every listing (search, digest, demo output).

    Contract (issue 4): id, canonical_url, urls (all aliases), source, title, published,
    story_id, version; plus the fields users filter on.
    """
    return {
        "id": article.id,
        "canonical_url": article.canonical_url,
        "urls": [alias.url for alias in article.urls],
        "source": article.source.name,
        "outlet": article.outlet,
        "title": article.title,
        "authors": list(article.authors or []),
        "published": isoformat(article.published_at),
        "fetched": isoformat(article.fetched_at),
        "updated": isoformat(article.updated_at),
        "story_id": article.story_id,
        "version": article.version,
        "relevant": article.relevant,
        "entities": list(article.entities or []),
    }
