"""Where the pipeline's parts meet: an extracted record into the archive, its text through pledge
detection, the candidates into the store's pledge linking, then one commit.

Shared by the crawl's item pipeline, by ``pledgewatch import`` and by ``pledgewatch pledges
extract``, so a text gets exactly the same treatment whichever way it arrived. The store below
knows SQL only and the pledge detector knows text only; this module is the one place that runs
one over the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from pledgewatch.pledges import ActorResolver, extract_pledges
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.spiders.publisher import all_publishers
from pledgewatch.spiders.urls import identify
from pledgewatch.store import archive, pledges
from pledgewatch.store.models import Article
from pledgewatch.store.pledges import MentionOutcome


@dataclass(frozen=True)
class IngestOutcome:
    # new | updated | duplicate | unchanged (see store.archive.SaveStatus)
    status: str
    article_id: int
    pledges_new: int


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
    title: str | None = None,
) -> list[MentionOutcome]:
    """Detect and store the pledges of a text that is not an archived article, known by ``report_ref``.

    ``title`` is the text's headline, the context that names the company when the text says only
    "it" or "the company". The detector of this version takes no title, so it is accepted (the
    callers pass it already) but not used: nothing is prepended to the text, which would shift
    the offsets and could be read as a sentence of its own.
    """
    del title  # see above: detection takes no title yet
    when = pledges.as_datetime(published)
    candidates = extract_pledges(text, when, resolver=resolver)
    return pledges.link_report_candidates(session, report_ref, candidates, when, source)


def ingest(session: Session, record: ArticleRecord, watchlist: Watchlist) -> IngestOutcome:
    """Store ``record`` and detect the pledges of every new or edited article, then commit.

    Every company's pledges are detected, whether or not the article mentions a watched name: the
    watch list decides what is alerted and what the digest leads with (see
    :mod:`pledgewatch.notify`), not what the archive knows, so a company added to the watch list
    later has its history, and ``pledges list`` shows every company. On failure the session is
    rolled back, so one bad article never leaves half an article behind.
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
        if result.status in ("new", "updated"):
            outcomes = record_article_pledges(session, result.article, resolver=watchlist.actor_resolver)
            pledges_new = sum(1 for outcome in outcomes if outcome.is_new)
        article_id = result.article.id
        session.commit()
    except Exception:
        session.rollback()
        raise
    return IngestOutcome(status=result.status, article_id=article_id, pledges_new=pledges_new)
