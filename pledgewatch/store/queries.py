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


def article_ids_for_rescan(
    session: Session, since: datetime | None = None, sources: tuple[str, ...] = ()
) -> list[int]:
    """Ids of the archived articles a rescan reads, oldest first (so pledges keep their first report).

    ``since`` keeps articles published (or, undated, fetched) from then on; ``sources`` keeps those
    publishers' articles.
    """
    statement = select(Article.id)
    if sources:
        statement = statement.where(Article.source_id.in_(select(Source.id).where(Source.name.in_(sources))))
    if since is not None:
        statement = statement.where(func.coalesce(Article.published_at, Article.fetched_at) >= since)
    statement = statement.order_by(func.coalesce(Article.published_at, Article.fetched_at), Article.id)
    return list(session.scalars(statement))


def standing_mentions(session: Session, article_id: int) -> dict[int, int]:
    """The article's mentions that still stand, as mention id -> pledge id."""
    rows = session.execute(
        select(PledgeMention.id, PledgeMention.pledge_id).where(
            PledgeMention.article_id == article_id, PledgeMention.withdrawn_at.is_(None)
        )
    )
    return {mention_id: pledge_id for mention_id, pledge_id in rows}
