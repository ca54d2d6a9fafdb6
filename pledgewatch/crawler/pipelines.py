"""The Scrapy item pipeline: every extracted article goes through :func:`ingest` into the store.

One bad article (a parser surprise, a constraint violation) is logged and counted as an error; it
never stops the crawl, and the rest of the crawl is stored.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pledgewatch.crawler.archive import archive_sessions, require_db_url
from pledgewatch.crawler.completeness import completeness_of
from pledgewatch.crawler.summary import STAT_PREFIX, record_error
from pledgewatch.ingest import ingest
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# save_article's statuses -> the summary's counters.
_STATUS_STATS = {"new": "articles_new", "updated": "articles_updated", "duplicate": "duplicates"}


class StorePipeline:
    """Stores ``ArticleRecord`` items in the crawl's archive (:mod:`pledgewatch.crawler.archive`)."""

    def __init__(self, crawler: Crawler, watchlist: Watchlist) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.watchlist = watchlist

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        require_db_url(crawler)
        config = crawler.settings.get("PLEDGEWATCH_CONFIG")
        watchlist = Watchlist(config.watchlist if config is not None else [])
        return cls(crawler, watchlist)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleRecord):
            return item
        self.stats.inc_value(STAT_PREFIX + "articles_seen")
        # The spider keeps validators only for pages whose articles all reached the store.
        tracker = completeness_of(self.crawler)
        try:
            with archive_sessions(self.crawler)() as session:
                outcome = ingest(session, item, self.watchlist)
        except Exception as exc:
            logger.exception("could not store %s", item.url)
            record_error(self.stats, f"store {item.url}: {type(exc).__name__}: {exc}")
            if tracker is not None:
                tracker.item_stored(item.url, False)
            return item
        if tracker is not None:
            tracker.item_stored(item.url, True)
        counter = _STATUS_STATS.get(outcome.status)
        if counter:
            self.stats.inc_value(STAT_PREFIX + counter)
        if outcome.pledges_new:
            self.stats.inc_value(STAT_PREFIX + "pledges_new", outcome.pledges_new)
        logger.info("%s %s (article %d)", outcome.status, item.url, outcome.article_id)
        return item
