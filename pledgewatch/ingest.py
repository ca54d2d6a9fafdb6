"""Where the pipeline's parts meet: an extracted record into the archive, its text through pledge
detection, the candidates into the store's pledge linking, then one commit.

Shared by the crawl's item pipeline, by ``pledgewatch import`` and by ``pledgewatch pledges
extract``, so a text gets exactly the same treatment whichever way it arrived. The store below
knows SQL only and the pledge detector knows text only; this module is the one place that runs
one over the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from pledgewatch.pledges import ActorResolver, extract_pledges
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.spiders.publisher import all_publishers
from pledgewatch.spiders.urls import identify
from pledgewatch.store import archive, pledges, queries
from pledgewatch.store.models import Article
from pledgewatch.store.pledges import MentionOutcome


@dataclass(frozen=True)
class IngestOutcome:
    # new | updated | duplicate | unchanged (see store.archive.SaveStatus)
    status: str
    article_id: int
    pledges_new: int


def detects_pledges(article: Article) -> bool:
    """Whether pledge detection reads this article: the one rule, for a crawl, an import and a rescan."""
    return bool(article.relevant)


def record_article_pledges(
    session: Session, article: Article, resolver: ActorResolver | None = None
) -> list[MentionOutcome]:
    """Detect and store the pledges of an archived article; processing it again updates, never duplicates."""
    published = article.published_at or article.fetched_at
    candidates = extract_pledges(article.text or "", published, resolver=resolver)
    return pledges.link_article_candidates(session, article, candidates)


def record_report(
    session: Session,
    report_ref: str,
    text: str,
    published: date | datetime | None,
    source: str | None,
    resolver: ActorResolver | None = None,
) -> list[MentionOutcome]:
    """Detect and store the pledges of a text that is not an archived article, known by ``report_ref``."""
    when = pledges.as_datetime(published)
    candidates = extract_pledges(text, when, resolver=resolver)
    return pledges.link_report_candidates(session, report_ref, candidates, when, source)


def ingest(session: Session, record: ArticleRecord, watchlist: Watchlist) -> IngestOutcome:
    """Store ``record`` and detect the pledges of relevant new or edited articles, then commit.

    On failure the session is rolled back, so one bad article never leaves half an article behind.
    """
    try:
        if record.canonical is None:
            record = identify(record)
        publisher = all_publishers().get(record.source)
        if publisher is not None:
            archive.get_or_create_source(session, publisher.name, publisher.title, publisher.domain)
        entities = watchlist.match(record.title, record.text)
        result = archive.save_article(session, record, entities)
        pledges_new = 0
        if result.status in ("new", "updated") and detects_pledges(result.article):
            outcomes = record_article_pledges(session, result.article, resolver=watchlist.actor_resolver)
            pledges_new = sum(1 for outcome in outcomes if outcome.is_new)
        article_id = result.article.id
        session.commit()
    except Exception:
        session.rollback()
        raise
    return IngestOutcome(status=result.status, article_id=article_id, pledges_new=pledges_new)


@dataclass
class RescanReport:
    """What a rescan changed, for its summary line (and what a dry run would change)."""

    articles: int = 0
    # Articles whose relevance (the watch-list names they mention) changed.
    relevance_changed: int = 0
    pledges_new: int = 0
    # Mentions a rescan added to pledges already known (the same pledge found in another article).
    mentions_linked: int = 0
    # Mentions the current detector no longer finds: withdrawn, as an edit withdraws them.
    mentions_withdrawn: int = 0


def rescan_article(session: Session, article: Article, watchlist: Watchlist, report: RescanReport) -> None:
    """Read one stored article again with today's watch list and detector; nothing is fetched.

    Detection over an article already read updates its mentions in place: a pledge found again
    keeps its mention (and any alert made for it), a pledge no longer found is withdrawn.
    """
    entities = watchlist.match(article.title, article.text)
    if entities != list(article.entities or []):
        report.relevance_changed += 1
        article.entities = entities
        article.relevant = bool(entities)
    report.articles += 1
    if not detects_pledges(article):
        return
    before = queries.standing_mentions(session, article.id)
    outcomes = record_article_pledges(session, article, resolver=watchlist.actor_resolver)
    after = queries.standing_mentions(session, article.id)
    report.mentions_withdrawn += len(before.keys() - after.keys())
    for outcome in outcomes:
        if outcome.mention.id in before:
            continue
        if outcome.is_new:
            report.pledges_new += 1
        else:
            report.mentions_linked += 1


def rescan(
    session: Session,
    watchlist: Watchlist,
    *,
    since: datetime | None = None,
    sources: tuple[str, ...] = (),
    dry_run: bool = False,
    batch: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> RescanReport:
    """Re-run relevance and pledge detection over the stored texts, oldest first.

    Idempotent: a second rescan with the same watch list and detector changes nothing. It commits
    every ``batch`` articles, so an interrupted rescan keeps what it did and the next one goes on
    from there; ``dry_run`` does the same work in one transaction and rolls it back. Alerts are
    the dispatcher's: a pledge that already had its alert has it still, and a newly found pledge
    older than ``[email] alert_max_age_days`` is recorded as skipped there, not mailed.
    """
    report = RescanReport()
    ids = queries.article_ids_for_rescan(session, since, sources)
    try:
        for done, article_id in enumerate(ids, start=1):
            article = session.get(Article, article_id)
            if article is not None:
                rescan_article(session, article, watchlist, report)
            if not dry_run and done % batch == 0:
                session.commit()
            if progress is not None:
                progress(done, len(ids))
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return report
