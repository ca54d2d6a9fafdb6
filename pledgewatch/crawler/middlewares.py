"""Downloader middlewares that make crawls incremental and polite.

- :class:`SeenArticleMiddleware`: an article already in the archive is never requested again
  (the store is read before the request is scheduled), unless a feed, sitemap or listing announced
  a modification newer than the stored one.
- :class:`ConditionalRequestMiddleware`: feeds, listings and sitemaps are requested with the ETag /
  Last-Modified of the last crawl, so an unchanged page costs a 304. Only pages whose every
  article ended up in the archive keep their validators (see :mod:`pledgewatch.crawler.completeness`).
- :class:`RetryAfterMiddleware`: Scrapy's retries, but a 429/503 with ``Retry-After`` waits that long.
- :class:`PublisherOffsiteMiddleware`: requests never leave the publisher's domains, redirects
  included, and a redirect off the site is reported as an error of the crawl.
- :class:`CachedRobotsTxtMiddleware`: Scrapy's robots.txt middleware, with each site's robots.txt
  kept in the archive for a day (RFC 9309's limit), so a daemon's every crawl does not fetch it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest

from pledgewatch.crawler.archive import ArchiveConnection, archive_sessions, require_db_url
from pledgewatch.crawler.completeness import completeness_of
from pledgewatch.crawler.summary import STAT_PREFIX, record_error
from pledgewatch.spiders.urls import canonical_or_none
from pledgewatch.store import meta
from pledgewatch.store.archive import KnownArticle, find_known_article, find_known_articles
from pledgewatch.store.validators import Validators, delete_validators, get_validators, save_validators

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

# Request meta keys the spider sets and these middlewares read.
KIND = "pw_kind"  # "article" | "discovery" (feed, listing, sitemap, unknown start page)
MODIFIED = "pw_modified"  # datetime a feed/sitemap/listing gave for the article, if any
SEEN_CHECKED = "pw_seen_checked"
LINK = "pw_link"  # the URL as the spider asked for it (before redirects): the completeness key


class KnownArticleSkipped(IgnoreRequest):
    """The article is archived and nothing announced a newer version: not fetched again."""


class OffsiteRedirectDropped(IgnoreRequest):
    """A request (usually a redirect target) outside the publisher's domains."""


def is_newer(announced: datetime | None, stored: datetime | None) -> bool:
    """Whether a date a feed or sitemap announced shows an edit after the stored version."""
    if announced is None:
        return False
    if stored is None:
        return True
    if announced.tzinfo is None:
        announced = announced.replace(tzinfo=UTC)
    return announced > stored


class SeenArticleMiddleware:
    """Drops requests for archived articles before they are scheduled (a store read, not a dupefilter)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeenArticleMiddleware:
        require_db_url(crawler)
        middleware = cls(crawler)
        crawler.signals.connect(middleware.request_scheduled, signal=signals.request_scheduled)
        return middleware

    def is_known(self, url: str, announced_modified: datetime | None = None) -> bool:
        """True when ``url`` is archived and no newer modification was announced for it."""
        with archive_sessions(self.crawler)() as session:
            known = find_known_article(session, url, canonical_or_none(url))
        return known is not None and not is_newer(announced_modified, known.version_time)

    def known_among(self, urls: list[str]) -> dict[str, KnownArticle]:
        """The archived articles behind ``urls`` (by URL): one query per chunk, not one per URL.

        The spider asks this for a whole feed, listing or sitemap at once and marks the requests it
        then makes as checked. Safe to call from a thread (each call opens its own session).
        """
        with archive_sessions(self.crawler)() as session:
            return find_known_articles(session, [(url, canonical_or_none(url)) for url in urls])

    def _check(self, request: Request) -> None:
        if request.meta.get(KIND) != "article" or request.meta.get(SEEN_CHECKED):
            return
        request.meta[SEEN_CHECKED] = True
        if self.is_known(request.url, request.meta.get(MODIFIED)):
            self.stats.inc_value(STAT_PREFIX + "known_skipped")
            # A request dropped at scheduling reaches no errback: tell the spider it is archived.
            tracker = completeness_of(self.crawler)
            if tracker is not None:
                tracker.article_done(request.meta.get(LINK) or request.url, True)
            raise KnownArticleSkipped(f"already archived: {request.url}")

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        self._check(request)

    def process_request(self, request: Request) -> None:
        # Requests that bypass the scheduler are checked here.
        self._check(request)


class ConditionalRequestMiddleware:
    """If-None-Match / If-Modified-Since for discovery pages; new validators are kept per URL.

    A 304 means "nothing to read here", so validators are written only for what this crawl read
    completely: only for pages whose every article link was stored or already archived (none
    outside the window, missing, failed). They are saved as each page completes (checked every
    ``PLEDGEWATCH_VALIDATOR_FLUSH_INTERVAL`` seconds, written in a thread), so a crawl killed or
    stopped midway keeps what it finished and the next run gets its 304s; the rest is settled
    when the spider closes. The validators of a page read again but not completely are dropped, so
    the next crawl reads it in full. A page that keeps validators had no link outside its crawl's
    window, so a wider window (``--since``) finds nothing more on it and may rightly get its 304.
    """

    def __init__(self, crawler: Crawler, interval: float = 1.0) -> None:
        self.crawler = crawler
        self.pending: dict[str, Validators] = {}
        self.saved: set[str] = set()  # pages whose validators a flush already wrote
        self.interval = interval
        self._loop: Any = None
        self._inflight: Any = None  # the Deferred of a flush being written, if any
        self._changes_seen = -1

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        require_db_url(crawler)
        interval = crawler.settings.getfloat("PLEDGEWATCH_VALIDATOR_FLUSH_INTERVAL", 1.0)
        middleware = cls(crawler, interval)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self, spider: Spider) -> None:
        if self.interval > 0:
            from twisted.internet.task import LoopingCall

            self._loop = LoopingCall(self.flush)
            self._loop.start(self.interval, now=False)

    def has_validators(self, url: str) -> bool:
        with archive_sessions(self.crawler)() as session:
            return get_validators(session, url) is not None

    def process_request(self, request: Request) -> None:
        if request.meta.get(KIND) != "discovery" or request.meta.get("pw_unconditional"):
            return
        if b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
            return
        with archive_sessions(self.crawler)() as session:
            validators = get_validators(session, request.url)
        if validators is None:
            return
        if validators.etag:
            request.headers[b"If-None-Match"] = validators.etag
        if validators.last_modified:
            request.headers[b"If-Modified-Since"] = validators.last_modified

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get(KIND) == "discovery" and response.status == 200:
            etag = response.headers.get(b"ETag")
            last_modified = response.headers.get(b"Last-Modified")
            self.pending[request.url] = Validators(
                url=request.url,
                etag=etag.decode("latin-1") if etag else None,
                last_modified=last_modified.decode("latin-1") if last_modified else None,
            )
        if response.status == 304:
            self.crawler.stats.inc_value(STAT_PREFIX + "not_modified")
        return response

    def _write(self, complete: list[Validators], incomplete: list[str]) -> None:
        with archive_sessions(self.crawler)() as session:
            save_validators(session, complete)
            delete_validators(session, incomplete)
            session.commit()

    def _failed(self, failure: Any) -> None:
        exc = failure.value
        logger.error("could not save HTTP validators", exc_info=(type(exc), exc, exc.__traceback__))
        record_error(self.crawler.stats, f"save validators: {type(exc).__name__}: {exc}")

    def flush(self) -> None:
        """Save the validators of the pages completed since the last flush (on the reactor: cheap).

        Nothing is checked while the tracker has not changed; the write runs in a thread, so a
        store busy with a long transaction never holds up the event loop.
        """
        tracker = completeness_of(self.crawler)
        if self._inflight is not None or tracker is None or tracker.changes == self._changes_seen:
            return
        self._changes_seen = tracker.changes
        complete = [page for page in self.pending.values() if tracker.is_complete(page.url)]
        if not complete:
            return
        for page in complete:
            del self.pending[page.url]
            self.saved.add(page.url)
        from twisted.internet import threads

        deferred = threads.deferToThread(self._write, complete, [])
        deferred.addErrback(self._failed)
        deferred.addBoth(self._flushed)
        self._inflight = deferred

    def _flushed(self, _: Any) -> None:
        self._inflight = None

    def spider_closed(self, spider: Spider, reason: str) -> Any:
        """The last word: pages complete now keep validators, the others lose theirs.

        Waits for a flush still being written (Scrapy waits for a Deferred a handler returns).
        """
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._inflight is not None:
            waiting = self._inflight
            waiting.addBoth(lambda _: self._settle(reason))
            return waiting
        self._settle(reason)
        return None

    def _settle(self, reason: str) -> None:
        try:
            tracker = completeness_of(self.crawler)
            if tracker is None and reason != "finished":
                return  # nothing tells what was read completely
            complete, incomplete = [], []
            for page in self.pending.values():
                if tracker is None or tracker.is_complete(page.url):
                    complete.append(page)
                else:
                    incomplete.append(page.url)
            # A page saved earlier that a later failure made incomplete (rare) loses them again.
            incomplete += [url for url in self.saved if tracker is not None and not tracker.is_complete(url)]
            if incomplete:
                logger.info("%d pages not read completely: fetched in full next time", len(incomplete))
            if complete or incomplete:
                self._write(complete, incomplete)
        except Exception as exc:
            logger.exception("could not save HTTP validators")
            record_error(self.crawler.stats, f"save validators: {type(exc).__name__}: {exc}")


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


class RetryAfterMiddleware(RetryMiddleware):
    """Retries 429/5xx like Scrapy does, but waits for the server's ``Retry-After`` first.

    The wait is an asyncio sleep: other requests go on, the reactor is never blocked. It is capped
    by ``PLEDGEWATCH_MAX_RETRY_AFTER`` seconds so one answer cannot stall a crawl for hours.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("PLEDGEWATCH_MAX_RETRY_AFTER", 300.0)

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait:
            wait = min(wait, self.max_wait)
            logger.info(
                "%s answered %d: retrying in %.1f s (Retry-After)", request.url, response.status, wait
            )
            self.crawler.stats.inc_value(STAT_PREFIX + "retry_after_waits")
            self._pause_site(request, wait)
            await asyncio.sleep(wait)
        return retry

    def _pause_site(self, request: Request, wait: float) -> None:
        """Hold back the site's other queued requests too: a 429 speaks for the whole site.

        Uses the downloader slot's last-request time, which Scrapy's delay logic (and AutoThrottle's
        delay, always above zero here) waits from; without a slot the retry alone waits.
        """
        try:
            downloader = self.crawler.engine.downloader
            slot = downloader.slots.get(request.meta.get(downloader.DOWNLOAD_SLOT, ""))
            if slot is not None and slot.delay > 0:
                slot.lastseen = max(slot.lastseen, time.monotonic() + wait - slot.delay)
        except AttributeError:  # a Scrapy without these internals: the retry still waits
            logger.debug("cannot pause the download slot", exc_info=True)


class PublisherOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's offsite filter, also for redirects, with the dropped URL reported as a crawl error."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:  # type: ignore[override]
        try:
            super().process_request(request)
        except IgnoreRequest:
            redirected_from = (request.meta.get("redirect_urls") or [None])[0]
            where = f" (redirected from {redirected_from})" if redirected_from else ""
            record_error(self.crawler.stats, f"off-site request not followed: {request.url}{where}")
            raise OffsiteRedirectDropped(f"off-site: {request.url}") from None


# RFC 9309 section 2.4: a robots.txt should not be used from a cache for more than 24 hours.
ROBOTS_CACHE_SECONDS = 24 * 3600
ROBOTS_CACHE_STAT = STAT_PREFIX + "robots_from_archive"


def robots_lifetime(cache_control: bytes | None, limit: float) -> float:
    """Seconds a fetched robots.txt may be reused: ``limit``, or less when ``Cache-Control`` says so
    (``max-age``; ``no-store`` / ``no-cache``: not reused at all)."""
    if not cache_control:
        return limit
    lifetime = limit
    for directive in cache_control.decode("latin-1").lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-store", "no-cache", "private"):
            return 0.0
        if name in ("max-age", "s-maxage"):
            try:
                lifetime = min(lifetime, max(0.0, float(value.strip().strip('"'))))
            except ValueError:
                continue
    return lifetime


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's :class:`RobotsTxtMiddleware` that keeps each site's robots.txt in the archive.

    A crawl is one process (the daemon starts one per scheduled run), and Scrapy reads robots.txt
    once per site and process: a daemon crawling every few minutes asked each site for it every
    time, a fifth of an unchanged crawl's requests. The robots.txt answered (2xx or 4xx, not a
    5xx or a failure, which are asked again next time) is stored in ``archive_meta`` with its
    expiry: ``PLEDGEWATCH_ROBOTS_CACHE_SECONDS`` (24 h, the most RFC 9309 allows; 0: always fetch),
    or less when its ``Cache-Control`` says so. A replay is treated as the site it holds (as
    conditional requests are): a later snapshot of the site replayed within the day is read with
    the robots.txt kept from the earlier one, as a live site's changed robots.txt would be. The
    rules are then applied by Scrapy's own parser exactly as for a fetched file.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.cache_seconds = settings.getfloat("PLEDGEWATCH_ROBOTS_CACHE_SECONDS", ROBOTS_CACHE_SECONDS)

    def _key(self, scheme: str, netloc: str) -> str:
        """The ``archive_meta`` name of one site's robots.txt (hashed: names are 64 characters)."""
        where = f"{scheme}://{netloc}/robots.txt".encode()
        return "robots.txt " + hashlib.sha256(where).hexdigest()[:40]

    def _cached(self, scheme: str, netloc: str) -> bytes | None:
        if self.cache_seconds <= 0 or self.crawler.get_extension(ArchiveConnection) is None:
            return None  # no archive to keep it in: Scrapy's behaviour, a fetch per crawl
        with archive_sessions(self.crawler)() as session:
            value = meta.get(session, self._key(scheme, netloc))
        if value is None:
            return None
        try:
            entry = json.loads(value)
            expires = datetime.fromisoformat(entry["expires"])
            body = base64.b64decode(entry["body"])
        except (ValueError, KeyError, TypeError):
            return None
        return body if datetime.now(UTC) < expires else None

    def _store(self, scheme: str, netloc: str, body: bytes, lifetime: float) -> None:
        expires = datetime.now(UTC) + timedelta(seconds=lifetime)
        value = json.dumps({"expires": expires.isoformat(), "body": base64.b64encode(body).decode("ascii")})
        with archive_sessions(self.crawler)() as session:
            meta.put(session, self._key(scheme, netloc), value)
            session.commit()

    async def robot_parser(self, request: Request) -> Any:
        from scrapy.utils.httpobj import urlparse_cached
        from scrapy.utils.misc import build_from_crawler

        url = urlparse_cached(request)
        if url.netloc not in self._parsers:
            body = self._cached(url.scheme, url.netloc)
            if body is not None:
                self._parsers[url.netloc] = build_from_crawler(self._parserimpl, self.crawler, body)
                self._stats.inc_value(ROBOTS_CACHE_STAT)
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        lifetime = robots_lifetime(response.headers.get(b"Cache-Control"), self.cache_seconds)
        archived = self.crawler.get_extension(ArchiveConnection) is not None
        if response.status < 500 and lifetime > 0 and archived:
            from scrapy.utils.defer import maybe_deferred_to_future
            from twisted.internet import threads

            scheme = response.url.split(":", 1)[0]
            try:
                # In a thread: a store busy with the pipeline's transaction does not hold the loop.
                await maybe_deferred_to_future(
                    threads.deferToThread(self._store, scheme, netloc, response.body, lifetime)
                )
            except Exception as exc:  # not kept: the next crawl fetches it again, nothing worse
                logger.warning("could not keep %s in the archive: %s", response.url, exc)
        await super()._parse_robots(response, netloc, request)
