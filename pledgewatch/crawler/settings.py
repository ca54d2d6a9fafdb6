"""Scrapy settings built from the validated :class:`Config`: politeness, limits and our components.

Everything the crawl does differently from stock Scrapy is switched on here, so that behaviour is
swapped through settings (replay instead of the network, recording, the seen-URL check) and never
through flags inside spiders.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pledgewatch.config import Config

# Component paths, kept in one place so tests and docs can refer to them.
REPLAY_HANDLER = "pledgewatch.crawler.replay.ReplayDownloadHandler"
RECORDING_MIDDLEWARE = "pledgewatch.crawler.recording.WarcRecordingMiddleware"
SEEN_MIDDLEWARE = "pledgewatch.crawler.middlewares.SeenArticleMiddleware"
CONDITIONAL_MIDDLEWARE = "pledgewatch.crawler.middlewares.ConditionalRequestMiddleware"
RETRY_MIDDLEWARE = "pledgewatch.crawler.middlewares.RetryAfterMiddleware"
OFFSITE_MIDDLEWARE = "pledgewatch.crawler.middlewares.PublisherOffsiteMiddleware"
ROBOTS_MIDDLEWARE = "pledgewatch.crawler.middlewares.CachedRobotsTxtMiddleware"
STORE_PIPELINE = "pledgewatch.crawler.pipelines.StorePipeline"
ARCHIVE_EXTENSION = "pledgewatch.crawler.archive.ArchiveConnection"
COMPLETENESS_EXTENSION = "pledgewatch.crawler.completeness.CompletenessTracker"
STOPPING_EXTENSION = "pledgewatch.crawler.stopping.StopCancelsDownloads"

# Retry-After values above this are capped: a site asking us to wait an hour gets a retry after
# five minutes at most (and the retry count still bounds the total).


_HANDLER_MODULES = "scrapy.core.downloader.handlers."
_REPLACED_MIDDLEWARES = frozenset(
    {
        "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware",
        "scrapy.downloadermiddlewares.retry.RetryMiddleware",
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware",
        "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    }
)
_UNUSED_EXTENSIONS = frozenset(
    {
        "scrapy.extensions.telnet.TelnetConsole",
        "scrapy.extensions.remote_control.RemoteControl",
        "scrapy.extensions.feedexport.FeedExporter",
        "scrapy.extensions.memdebug.MemoryDebugger",
    }
)


def build_settings(
    config: Config,
    db_url: str,
    *,
    replay: str | Path | None = None,
    record: str | Path | None = None,
    since: datetime | None = None,
    log_level: str = "WARNING",
    cluster_role: str | None = None,
    worker_id: str | None = None,
    worker_sources: list[str] | None = None,
) -> dict[str, Any]:
    """The settings of one crawl. ``since`` is the oldest publication date wanted (None: no limit).

    ``cluster_role`` ("worker" or "enqueue") swaps the scheduler for the shared Redis queue
    (:mod:`pledgewatch.crawler.cluster`); the spider is the same.
    """
    from scrapy.settings import default_settings

    crawl = config.crawl
    settings: dict[str, Any] = {
        "BOT_NAME": "pledgewatch",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        # Politeness: few parallel requests per site, a base delay, AutoThrottle adapting to latency.
        "CONCURRENT_REQUESTS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
        # Scrapy starts this many asyncio tasks for the output of every response, whatever it
        # holds (the default 100: ~100 tasks and queue round trips per page, a third of the event
        # loop's CPU in a cold crawl). A page yields at most one article (the store pipeline takes
        # them one at a time anyway) or a listing's requests: 32 still takes a whole listing page
        # (25 links and the next page) or feed at once, as 100 did. Fewer would change the order in
        # which a page's requests reach the scheduler, and with it what the next crawl requests
        # (4: 101 requests instead of 88 for the 50 new articles of a 200-article replica).
        "CONCURRENT_ITEMS": 32,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": crawl.autothrottle_target,
        # Failures: retries on 429/5xx (Retry-After honoured by our RetryMiddleware subclass).
        "RETRY_ENABLED": True,
        "RETRY_TIMES": crawl.retry_times,
        "RETRY_HTTP_CODES": [429, 500, 502, 503, 504, 522, 524, 408],
        # Given-up requests are reported once, as crawl errors (pledgewatch.crawler.summary).
        "RETRY_GIVE_UP_LOG_LEVEL": "INFO",
        "PLEDGEWATCH_MAX_RETRY_AFTER": crawl.max_retry_after,
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_response_bytes,
        "DOWNLOAD_WARNSIZE": max(crawl.max_response_bytes // 2, 1),
        "REDIRECT_ENABLED": True,
        "REDIRECT_MAX_TIMES": 5,
        # A meta refresh on a news site is an ad or consent wall more often than a move.
        "METAREFRESH_ENABLED": False,
        "COOKIES_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": log_level,
        "LOG_FORMAT": "%(levelname)s %(name)s: %(message)s",
        # Feeds, sitemaps and listings first: their dates steer which articles are fetched.
        "DEPTH_PRIORITY": 0,
        "DOWNLOADER_MIDDLEWARES": {
            # Offsite checks also run on redirected requests (they are scheduled again).
            OFFSITE_MIDDLEWARE: 50,
            SEEN_MIDDLEWARE: 60,
            CONDITIONAL_MIDDLEWARE: 70,
            RETRY_MIDDLEWARE: 550,
            # robots.txt kept in the archive for a day: not fetched by every crawl of a daemon.
            ROBOTS_MIDDLEWARE: 100,
        },
        # Scrapy's base middlewares without those pledgewatch replaces (above) or never enables
        # (cookies are off): a middleware disabled with None is still imported, to compare it by
        # class, and the cookies middleware's module brings tldextract and requests along, ~0.1 s
        # of every crawl's start.
        "DOWNLOADER_MIDDLEWARES_BASE": {
            path: order
            for path, order in default_settings.DOWNLOADER_MIDDLEWARES_BASE.items()
            if path not in _REPLACED_MIDDLEWARES
        },
        "ITEM_PIPELINES": {STORE_PIPELINE: 300},
        # Built before the other components use them: one archive connection per crawl, and the
        # tracker of which discovery pages were read completely.
        # A stop (SIGTERM, time limit) aborts the downloads in progress instead of waiting for them.
        "EXTENSIONS": {ARCHIVE_EXTENSION: 100, COMPLETENESS_EXTENSION: 100, STOPPING_EXTENSION: 100},
        # Scrapy's base extensions without those pledgewatch never enables: Scrapy imports every
        # listed extension's module even to disable it (the telnet console's Twisted Conch, the
        # remote control's aiohttp, the feed exporter's storages), ~0.2 s of every crawl's start.
        "EXTENSIONS_BASE": {
            path: order
            for path, order in default_settings.EXTENSIONS_BASE.items()
            if path not in _UNUSED_EXTENSIONS
        },
        "PLEDGEWATCH_DB_URL": db_url,
        "PLEDGEWATCH_CONFIG": config,
        "PLEDGEWATCH_SINCE": since,
        "PLEDGEWATCH_MAX_PAGES_PER_LISTING": crawl.max_pages_per_listing,
        "PLEDGEWATCH_ANALYSIS_BUDGET": crawl.analysis_budget,
        "PLEDGEWATCH_STORE_PROCESS": crawl.store_process,
        "PLEDGEWATCH_SITEMAP_MAX_URLS": crawl.sitemap_max_urls,
        "PLEDGEWATCH_SITEMAP_MAX_DEPTH": crawl.sitemap_max_depth,
        "PLEDGEWATCH_SITEMAP_MAX_FILES": crawl.sitemap_max_files,
    }
    if replay:
        # The archive is a local file: politeness delays would only slow the replay down.
        settings.update(
            {
                "PLEDGEWATCH_REPLAY_WARC": str(replay),
                "DOWNLOAD_HANDLERS": {"http": REPLAY_HANDLER, "https": REPLAY_HANDLER},
                "DOWNLOAD_DELAY": 0,
                "AUTOTHROTTLE_ENABLED": False,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
                "RETRY_TIMES": 0,
                # Scrapy's list without the HTTP/1.1 handler's TunnelError (a proxy tunnel, which a
                # replay never opens): loading that class imports the whole TLS stack, whose
                # deprecation shims call inspect.stack() at import (0.2-0.4 s of CPU per crawl).
                "RETRY_EXCEPTIONS": [
                    exception
                    for exception in default_settings.RETRY_EXCEPTIONS
                    if not (isinstance(exception, str) and exception.startswith(_HANDLER_MODULES))
                ],
            }
        )
    if cluster_role:
        _cluster(settings, config, cluster_role, worker_id, worker_sources or [])
    if record:
        settings["PLEDGEWATCH_RECORD_WARC"] = str(record)
        # Closest to the downloader: the archive keeps responses as they came off the wire.
        settings["DOWNLOADER_MIDDLEWARES"][RECORDING_MIDDLEWARE] = 950
    return settings


def _cluster(
    settings: dict[str, Any], config: Config, role: str, worker_id: str | None, sources: list[str]
) -> None:
    """The shared queue's scheduler and components; the download delay becomes global per host."""
    from pledgewatch.crawler import cluster

    settings.update(cluster.cluster_settings(config, role, worker_id))
    settings[cluster.SOURCES_SETTING] = sources
    settings["SPIDER_MIDDLEWARES"] = {cluster.SPIDER_MIDDLEWARE: 10}
    if role != "worker":
        return  # the daemon's enqueueing child downloads nothing
    # Closest to the engine: sees a request's final failure only (a retry takes it back first).
    settings["DOWNLOADER_MIDDLEWARES"][cluster.DOWNLOADER_MIDDLEWARE] = 5
    # After the seen-article check: an archived article does not take a download slot.
    if settings["DOWNLOAD_DELAY"] > 0:
        settings["DOWNLOADER_MIDDLEWARES"][cluster.DELAY_MIDDLEWARE] = 900
        settings[cluster.DELAY_SETTING] = settings["DOWNLOAD_DELAY"]
        settings["DOWNLOAD_DELAY"] = 0
    settings["EXTENSIONS"][cluster.WORKER_EXTENSION] = 100
