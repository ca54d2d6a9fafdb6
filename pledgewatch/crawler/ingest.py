"""One extracted article into the archive: relevance, storage, pledges, commit.

Shared by the crawl's item pipeline and by ``pledgewatch import``, so an article gets exactly the
same treatment whichever way it arrived.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from pledgewatch.crawler.items import ArticleRecord
from pledgewatch.crawler.watchlist import Watchlist
from pledgewatch.store import archive, pledges


@dataclass(frozen=True)
class IngestOutcome:
    # new | updated | duplicate | unchanged (see store.archive.SaveStatus)
    status: str
    article_id: int
    pledges_new: int


def ingest(session: Session, record: ArticleRecord, watchlist: Watchlist) -> IngestOutcome:
    """Store ``record`` and detect the pledges of relevant new or edited articles, then commit.

    On failure the session is rolled back, so one bad article never leaves half an article behind.
    """
    try:
        entities = watchlist.match(record.title, record.text)
        result = archive.save_article(session, record, entities)
        pledges_new = 0
        if result.status in ("new", "updated") and result.article.relevant:
            outcomes = pledges.record_article_pledges(
                session, result.article, resolver=watchlist.actor_resolver
            )
            pledges_new = sum(1 for outcome in outcomes if outcome.is_new)
        article_id = result.article.id
        session.commit()
    except Exception:
        session.rollback()
        raise
    return IngestOutcome(status=result.status, article_id=article_id, pledges_new=pledges_new)
