"""The Scrapy item pipeline: every extracted article goes through :func:`ingest` into the store.

One bad article (a parser surprise, a constraint violation) is logged and counted as an error; it
never stops the crawl, and the rest of the crawl is stored.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from pledgewatch.crawler.summary import STAT_PREFIX, record_error
from pledgewatch.ingest import ingest
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.store.db import make_engine, session_factory

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# save_article's statuses -> the summary's counters.
_STATUS_STATS = {"new": "articles_new", "updated": "articles_updated", "duplicate": "duplicates"}


class StorePipeline:
    """Stores ``ArticleRecord`` items in the database named by ``PLEDGEWATCH_DB_URL``."""

    def __init__(self, crawler: Crawler, db_url: str, watchlist: Watchlist) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.engine = make_engine(db_url)
        self.sessions = session_factory(self.engine)
        self.watchlist = watchlist

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        db_url = crawler.settings.get("PLEDGEWATCH_DB_URL")
        if not db_url:
            raise NotConfigured("PLEDGEWATCH_DB_URL is not set")
        config = crawler.settings.get("PLEDGEWATCH_CONFIG")
        watchlist = Watchlist(config.watchlist if config is not None else [])
        pipeline = cls(crawler, db_url, watchlist)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleRecord):
            return item
        self.stats.inc_value(STAT_PREFIX + "articles_seen")
        # The spider keeps validators only for pages whose articles all reached the store.
        tracker = getattr(self.crawler.spider, "completeness", None)
        try:
            with self.sessions() as session:
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

    def spider_closed(self, spider: Spider) -> None:
        self.engine.dispose()
