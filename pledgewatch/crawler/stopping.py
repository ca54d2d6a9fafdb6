"""A stopping crawl (SIGTERM, SIGINT, the daemon's time limit) does not wait for hung downloads.

Scrapy's graceful stop waits until every request in progress has its answer: a server that
trickles a body or never answers holds the stop for up to ``DOWNLOAD_TIMEOUT`` (30 s by default,
longer when configured), and the daemon SIGKILLs a child that has not finished 15 s after its
SIGTERM, losing the crawl's summary. This extension notices the stop (``Crawler.crawling`` turns
false, as the store pipeline's analysis does), gives the downloads in progress a short grace
(``PLEDGEWATCH_STOP_GRACE``, 4 s: a page arriving anyway is still stored), then aborts the crawl's
open HTTP connections with Twisted's ``abortConnection``: each request still in progress fails as
"connection lost" (its article is not archived, so the page that linked it keeps no validators
and is read in full next time), and the spider closes at once, its summary and run record written.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: How often the extension looks whether the crawl is stopping (seconds).
POLL_INTERVAL = 0.2
#: Seconds the downloads in progress get after the stop before their connections are aborted.
DEFAULT_STOP_GRACE = 4.0


def open_http_connections() -> list[Any]:
    """The reactor's TCP client connections: the downloads in progress (and idle keep-alives).

    A crawl process opens no other Twisted TCP clients (the archive's database drivers and Redis
    use their own sockets, outside the reactor).
    """
    from twisted.internet import reactor
    from twisted.internet.tcp import Client

    selectables = set(reactor.getReaders()) | set(reactor.getWriters())  # type: ignore[attr-defined]
    return [s for s in selectables if isinstance(s, Client)]


class StopCancelsDownloads:
    """Aborts the downloads in progress as soon as the crawl is asked to stop."""

    def __init__(self, crawler: Crawler, grace: float = DEFAULT_STOP_GRACE) -> None:
        self.crawler = crawler
        self.grace = grace
        self._loop: Any = None
        self._stop_seen: float | None = None
        self.aborted = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StopCancelsDownloads:
        extension = cls(crawler, crawler.settings.getfloat("PLEDGEWATCH_STOP_GRACE", DEFAULT_STOP_GRACE))
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_started(self) -> None:
        from twisted.internet.task import LoopingCall

        self._loop = LoopingCall(self.check)
        self._loop.start(POLL_INTERVAL, now=False)

    def engine_stopped(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def check(self) -> None:
        if self.crawler.crawling:
            return
        now = time.monotonic()
        if self._stop_seen is None:
            self._stop_seen = now
        if now - self._stop_seen < self.grace:
            return
        connections = open_http_connections()
        for connection in connections:
            connection.abortConnection()
        if connections:
            self.aborted += len(connections)
            logger.info("crawl stopping: %d open HTTP connections aborted", len(connections))
