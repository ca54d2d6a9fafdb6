"""The Scrapy item pipeline: every extracted article goes through :func:`ingest` into the store.

One bad article (a parser surprise, a constraint violation) is logged and counted as an error; it
never stops the crawl, and the rest of the crawl is stored.

Storing runs off the reactor thread, in one dedicated thread per source (so a source's articles are
stored one at a time, in order), and that thread hands each article to a worker process of the
crawl's pool (:class:`pledgewatch.crawler.store_worker.StorePool`, ``min(sources, cores)``
workers): the store and pledge detection cost twice what fetching and parsing does, and in the
crawl process they would share its one GIL with the fetching. The worker runs under a time budget
per article: detection can take minutes on a pathological text; the crawl keeps fetching
meanwhile, an article past its budget is stored without pledges and marked for a rescan (counted
as ``analysis_deferred``), and a stopping crawl kills the workers at once. An archive other
processes cannot open (in-memory SQLite), or ``[crawl] store_process = false``
(``PLEDGEWATCH_STORE_PROCESS``), stores in the thread itself, with detection in a worker process
(:class:`pledgewatch.ingest.PledgeAnalyzer`) under the same budget.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from pledgewatch.crawler.archive import archive_sessions, require_db_url
from pledgewatch.crawler.completeness import completeness_of
from pledgewatch.crawler.store_worker import (
    Deferring,
    StoreError,
    StorePool,
    WorkerUnavailable,
    shareable,
)
from pledgewatch.crawler.summary import STAT_PREFIX, record_error
from pledgewatch.ingest import (
    DEFAULT_ANALYSIS_BUDGET,
    AnalysisDeferred,
    IngestOutcome,
    PledgeAnalyzer,
    ingest,
)
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

# save_article's statuses -> the summary's counters.
_STATUS_STATS = {"new": "articles_new", "updated": "articles_updated", "duplicate": "duplicates"}
DEFERRED_STAT = STAT_PREFIX + "analysis_deferred"


class StorePipeline:
    """Stores ``ArticleRecord`` items in the crawl's archive (:mod:`pledgewatch.crawler.archive`)."""

    def __init__(
        self,
        crawler: Crawler,
        watchlist: Watchlist,
        budget: float = DEFAULT_ANALYSIS_BUDGET,
        store_pool: StorePool | None = None,
    ) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.watchlist = watchlist
        self.budget = budget
        # Stores in the worker processes the crawl's sources share, when there are (see the
        # module's docstring); None: in this process.
        self.store_pool = store_pool
        # Set when the workers could not start: this source stores in this process from then on
        # (and still tells the pool when it stops and closes, for the other sources' sake).
        self.store_here = store_pool is None
        # One thread: the store sees articles one at a time, as when this ran on the reactor.
        self.pool = ThreadPool(minthreads=1, maxthreads=1, name="pledgewatch-store")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        require_db_url(crawler)
        config = crawler.settings.get("PLEDGEWATCH_CONFIG")
        watchlist = Watchlist(config.watchlist if config is not None else [])
        budget = crawler.settings.getfloat("PLEDGEWATCH_ANALYSIS_BUDGET", DEFAULT_ANALYSIS_BUDGET)
        db_url = crawler.settings.get("PLEDGEWATCH_DB_URL")
        pool: StorePool | None = None
        if crawler.settings.getbool("PLEDGEWATCH_STORE_PROCESS", True) and shareable(db_url):
            # The crawl's pool, shared by its sources (run_crawl); a crawler built alone has its own.
            pool = crawler.settings.get("PLEDGEWATCH_STORE_POOL") or StorePool(1)
            pool.attach(crawler, db_url, config.watchlist if config is not None else [], budget)
        pipeline = cls(crawler, watchlist, budget, pool)
        crawler.signals.connect(pipeline.engine_stopping, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider: Any = None) -> None:
        self.pool.start()

    @cached_property
    def analyzer(self) -> PledgeAnalyzer:
        """Detection for the articles stored in this process, built at the first (with a store
        worker, none usually is: a crawl with nothing new never builds the actor tables).

        Crawler.stop (SIGTERM, SIGINT) clears ``crawling`` at once, while Scrapy still waits for
        the items in the pipeline: the analysis polls it and gives up, instead of holding the stop.
        """
        crawler = self.crawler
        return PledgeAnalyzer(
            self.budget, resolver=self.watchlist.actor_resolver, should_stop=lambda: not crawler.crawling
        )

    def engine_stopping(self, *args: Any, **kwargs: Any) -> None:
        if "analyzer" in self.__dict__:
            self.analyzer.abort()
        if self.store_pool is not None:
            self.store_pool.stopping(self.crawler)

    def close_spider(self, spider: Any = None) -> None:
        if "analyzer" in self.__dict__:
            self.analyzer.close()
        self.pool.stop()
        if self.store_pool is not None:
            self.store_pool.closed(self.crawler)

    def _store(self, item: ArticleRecord) -> IngestOutcome:
        """Runs in the store thread: the archive session (or the worker's turn) lives and dies there."""
        pool = self.store_pool
        if pool is not None and not self.store_here:
            try:
                with pool.worker() as worker:
                    return worker.ingest(item)
            except AnalysisDeferred as exc:
                # The worker was killed (over budget, the crawl stopping) and its transaction with
                # it: the article is stored here, without its pledges, marked for a rescan.
                with archive_sessions(self.crawler)() as session:
                    return ingest(session, item, self.watchlist, analyzer=Deferring(str(exc)))  # type: ignore[arg-type]
            except WorkerUnavailable as exc:
                # Nothing was stored: the article is stored here, as without a worker.
                if exc.at_start:
                    logger.warning("%s: the crawl stores in its own process", exc)
                    self.store_here = True
                else:
                    logger.warning("%s storing %s: stored in the crawl process", exc, item.url)
        with archive_sessions(self.crawler)() as session:
            return ingest(session, item, self.watchlist, analyzer=self.analyzer)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleRecord):
            return item
        self.stats.inc_value(STAT_PREFIX + "articles_seen")
        if not self.pool.started:
            # Outside a running crawl (open_spider not called: a test driving the pipeline by
            # hand) there is no reactor to come back to: store in this thread, and answer the item.
            try:
                outcome = self._store(item)
            except Exception as exc:
                return self._failed(Failure(exc), item)
            return self._stored(outcome, item)
        # A coroutine (what Scrapy awaits; a returned Deferred is deprecated there), made by a
        # plain method so that the in-thread path above can still answer the item itself.
        return self._store_off_reactor(item)

    async def _store_off_reactor(self, item: ArticleRecord) -> ArticleRecord:
        deferred: Deferred[Any] = deferToThreadPool(reactor, self.pool, self._store, item)
        deferred.addCallbacks(self._stored, self._failed, callbackArgs=(item,), errbackArgs=(item,))
        return await maybe_deferred_to_future(deferred)

    def _failed(self, failure: Any, item: ArticleRecord) -> ArticleRecord:
        exc = failure.value
        if isinstance(exc, StoreError):  # raised in the worker: its traceback is text
            logger.error("could not store %s: %s", item.url, exc.details or exc)
        else:
            logger.error("could not store %s", item.url, exc_info=(type(exc), exc, exc.__traceback__))
        kind = exc.kind if isinstance(exc, StoreError) else type(exc).__name__
        record_error(self.stats, f"store {item.url}: {kind}: {exc}")
        # The spider keeps validators only for pages whose articles all reached the store.
        tracker = completeness_of(self.crawler)
        if tracker is not None:
            tracker.item_stored(item.url, False)
        return item

    def _stored(self, outcome: IngestOutcome, item: ArticleRecord) -> ArticleRecord:
        tracker = completeness_of(self.crawler)
        if tracker is not None:
            tracker.item_stored(item.url, True)
        counter = _STATUS_STATS.get(outcome.status)
        if counter:
            self.stats.inc_value(STAT_PREFIX + counter)
        if outcome.pledges_new:
            self.stats.inc_value(STAT_PREFIX + "pledges_new", outcome.pledges_new)
        if outcome.analysis_deferred:
            self.stats.inc_value(DEFERRED_STAT)
            logger.warning(
                "stored %s without its pledges (%s): marked for a rescan", item.url, outcome.analysis_deferred
            )
        logger.info("%s %s (article %d)", outcome.status, item.url, outcome.article_id)
        return item
