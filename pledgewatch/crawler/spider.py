"""One generic spider for every publisher: discovery pages in, article records out.

The spider knows nothing about any particular site. It reads the :class:`Publisher` declaration
(start URLs, article URL pattern, parsers) and the configuration, fetches feeds, sitemaps and
listings, follows listing pagination until a page holds nothing new, requests the article pages
and yields :class:`ArticleRecord` items built by the publisher's parser.

What it does not fetch is decided elsewhere and switched by settings: the store's seen-URL check
(:class:`~pledgewatch.crawler.middlewares.SeenArticleMiddleware`), conditional requests, robots.txt,
offsite filtering.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

from pledgewatch.crawler import discovery, health
from pledgewatch.crawler.completeness import CompletenessTracker, completeness_of
from pledgewatch.crawler.middlewares import (
    KIND,
    LINK,
    MODIFIED,
    SEEN_CHECKED,
    ConditionalRequestMiddleware,
    KnownArticleSkipped,
    OffsiteRedirectDropped,
    SeenArticleMiddleware,
    is_newer,
)
from pledgewatch.crawler.summary import STAT_PREFIX, record_answered, record_error, record_request_failed
from pledgewatch.records import ArticleRecord
from pledgewatch.spiders.listing import ListingLink
from pledgewatch.spiders.parsing import ExtractionError, extract_article, join_pages, page_text, parser_for
from pledgewatch.spiders.publisher import Publisher, get_publisher
from pledgewatch.spiders.urls import canonical_url
from pledgewatch.store.archive import KnownArticle

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

PAGE = "pw_page"
# A continuation page (2..N) of a multi-page article: neither the seen-URL check nor conditional
# requests apply to it (its article is being assembled, not yet stored).
ARTICLE_PAGE = "article_page"
PUBLISHED = "pw_published"  # the publication time the listing or feed printed
SITEMAP_DEPTH = "pw_sitemap_depth"  # how many sitemap indexes led to this sitemap (0: a start URL)
# Discovery pages first: their dates decide which articles are worth a request.
FEED_PRIORITY = 30
LISTING_PRIORITY = 20
ARTICLE_PRIORITY = 0


def _aware(value: datetime | date | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


# Network failures in words a user recognises (Twisted's class names are not).
_NETWORK_REASONS = {
    "ConnectionRefusedError": "connection refused",
    "DownloadConnectionRefusedError": "connection refused",
    "CannotResolveHostError": "DNS lookup failed",
    "DownloadTimeoutError": "timed out",
    "DownloadCancelledError": "download cancelled",
    "DownloadFailedError": "download failed",
    "ResponseDataLossError": "connection lost",
    "DNSLookupError": "DNS lookup failed",
    "TimeoutError": "timed out",
    "TCPTimedOutError": "timed out",
    "ConnectionLost": "connection lost",
    "ConnectionDone": "connection lost",
    "ResponseNeverReceived": "connection lost",
    "ResponseFailed": "connection lost",
    "NoRouteError": "no route to host",
}


def failure_reason(error: BaseException) -> str:
    """Why a request got no answer, in a few words (the summary groups failed requests by it)."""
    return _NETWORK_REASONS.get(type(error).__name__, type(error).__name__)


def sniff_kind(response: Response) -> str:
    """feed | sitemap | html, from the content itself (configured start URLs may be anything)."""
    head = response.body[:2048].lstrip().lower()
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "sitemap"
    if b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head:
        return "feed"
    return "html"


class PublisherSpider(scrapy.Spider):
    """Crawls one publisher; ``name`` is the publisher's name (``jd``, ``chinadaily``, ``people``)."""

    name = "publisher"

    def __init__(self, publisher: str, config: Any = None, **kwargs: Any) -> None:
        if config is not None:
            # A source defined in the configuration ([sources.NAME] kind = "generic").
            from pledgewatch.spiders.configured import register_configured_sources

            register_configured_sources(config)
        self.publisher: Publisher = get_publisher(publisher)
        super().__init__(name=self.publisher.name, **kwargs)
        self.start_urls_configured: list[str] = []
        self.since: datetime | None = None
        self.max_pages = 20
        # Modification dates announced by feeds/sitemaps, by article URL: an article page that
        # prints no modification date still gets one, so the next crawl can tell edits apart.
        self.announced: dict[str, datetime] = {}
        self.seen_check: SeenArticleMiddleware | None = None
        # Sitemap indexes: how deep a chain of them is followed, how many sitemaps one crawl reads
        # in all, how many entries one sitemap may list (issue 19: a chain of 1,451 indexes was
        # followed in 120 s; a 180k-URL sitemap blocked the crawl).
        self.sitemap_max_depth = 3
        self.sitemap_max_files = 500
        self.sitemap_max_urls = discovery.MAX_SITEMAP_URLS
        self.sitemaps_requested = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PublisherSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        config = settings.get("PLEDGEWATCH_CONFIG")
        if config is not None:
            spider.start_urls_configured = list(config.source(spider.publisher.name).start_urls)
        spider.since = _aware(settings.get("PLEDGEWATCH_SINCE"))
        spider.max_pages = settings.getint("PLEDGEWATCH_MAX_PAGES_PER_LISTING", 20)
        spider.sitemap_max_depth = settings.getint("PLEDGEWATCH_SITEMAP_MAX_DEPTH", 3)
        spider.sitemap_max_files = settings.getint("PLEDGEWATCH_SITEMAP_MAX_FILES", 500)
        spider.sitemap_max_urls = settings.getint("PLEDGEWATCH_SITEMAP_MAX_URLS", discovery.MAX_SITEMAP_URLS)
        hosts = set(spider.publisher.hosts)
        # Configured start URLs on other hosts (a mirror, a test server) are part of the site too.
        hosts.update(urlsplit(url).hostname or "" for url in spider.start_urls_configured)
        spider.allowed_domains = sorted(h for h in hosts if h)
        crawler.signals.connect(spider._engine_started, signal=scrapy.signals.engine_started)
        crawler.signals.connect(spider._callback_failed, signal=scrapy.signals.spider_error)
        return spider

    def _callback_failed(self, failure: Failure, response: Response | None, spider: scrapy.Spider) -> None:
        error = failure.value
        where = response.url if response is not None else "start requests"
        record_error(self.crawler.stats, f"processing {where}: {type(error).__name__}: {error}")

    def _engine_started(self) -> None:
        self.seen_check = self.crawler.get_downloader_middleware(SeenArticleMiddleware)

    @property
    def completeness(self) -> CompletenessTracker:
        """Which discovery pages led only to archived articles (the crawl's extension owns it).

        Without the extension (a bare spider), a throwaway tracker: nothing keeps validators then.
        """
        tracker = completeness_of(self.crawler)
        return tracker if tracker is not None else CompletenessTracker()

    # -- requests -------------------------------------------------------------------------------

    def start_url_list(self) -> list[str]:
        return self.start_urls_configured or list(self.publisher.start_urls)

    async def start(self) -> AsyncIterator[Any]:
        feeds = set(self.publisher.feeds) | set(self.publisher.sitemaps)
        for url in self.start_url_list():
            if self.publisher.article_id(url):
                yield self.article_request(url, None)
            else:
                priority = FEED_PRIORITY if url in feeds else LISTING_PRIORITY
                yield self.discovery_request(url, page=1, priority=priority)

    def discovery_request(
        self, url: str, page: int, priority: int = LISTING_PRIORITY, sitemap_depth: int = 0
    ) -> scrapy.Request:
        meta = {KIND: "discovery", LINK: url, PAGE: page, "handle_httpstatus_list": [304]}
        if sitemap_depth:
            meta[SITEMAP_DEPTH] = sitemap_depth
        return scrapy.Request(
            url, callback=self.parse_discovery, errback=self.on_error, priority=priority, meta=meta
        )

    def article_request(
        self, url: str, modified: datetime | None, published: datetime | None = None
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.on_error,
            priority=ARTICLE_PRIORITY,
            meta={KIND: "article", LINK: url, MODIFIED: modified, PUBLISHED: published},
        )

    # -- discovery ------------------------------------------------------------------------------

    async def parse_discovery(self, response: Response) -> AsyncIterator[scrapy.Request]:
        """Read a feed, sitemap or listing; request its new articles and its next pages.

        A sitemap (up to 50,000 URLs) is parsed and checked against the archive in a thread, so
        the event loop goes on downloading meanwhile; feeds and listings (tens of links) are read
        here. Either way the seen-URL check is one query per chunk of links, not one per link.
        """
        record_answered(self.crawler.stats)
        tracker = self.completeness
        here = response.meta.get(LINK) or response.url
        self.count_start_url(here, response.meta.get(PAGE, 1), response.status)
        if response.status == 304:
            logger.info("unchanged since the last crawl: %s", response.url)
            tracker.page_parsed(here, response.url)
            return
        kind = sniff_kind(response)
        page = int(response.meta.get(PAGE, 1))
        next_page = None
        in_order = False  # whether the links are the listing's own items, in its order
        if kind == "sitemap":
            deferred = threads.deferToThread(self.read_sitemap_checked, response)
            links, children, known, truncated = await maybe_deferred_to_future(deferred)
            if truncated:
                self.sitemap_limit_hit(here, truncated)
            for child in self.sitemap_children(here, response, children):
                yield child
        else:
            if kind == "feed":
                links = self.article_links(self.read_feed(response))
            else:
                raw, next_page, in_order = self.read_listing(response)
                links = self.article_links(raw)
            known = self.known_among(links)
        self.crawler.stats.inc_value(f"{STAT_PREFIX}discovery/{kind}")
        self.count_listing(here, kind, page, links)
        for link in links:
            url = link.url
            modified = _aware(link.modified)
            if modified is not None and (url not in self.announced or self.announced[url] < modified):
                self.announced[url] = modified
            if self.is_stale(link):
                self.crawler.stats.inc_value(STAT_PREFIX + "outside_window")
                tracker.link_skipped(here)
                continue
            tracker.article_linked(here, url)
            stored = known.get(url)
            if stored is not None and not is_newer(modified, stored.version_time):
                # Archived and unchanged: what the seen-URL middleware would drop, decided for
                # the whole page by one batched query instead of one query per request.
                self.crawler.stats.inc_value(STAT_PREFIX + "known_skipped")
                tracker.article_done(url, True)
                continue
            request = self.article_request(url, modified, _aware(link.published))
            if self.seen_check is not None:
                request.meta[SEEN_CHECKED] = True
            yield request
        if next_page and page < self.max_pages:
            if not links:
                logger.info("no article links on %s: not paginating further", response.url)
            elif all(self.is_stale(link) or self.is_known(link, known) for link in links) and (
                any(self.is_stale(link) for link in links)
                or self.was_read_completely(response.urljoin(next_page))
            ):
                logger.info("%s holds only known or old articles: not paginating further", response.url)
            elif (
                in_order
                and self.reaches_archived(links, known)
                and self.was_read_completely(response.urljoin(next_page))
            ):
                logger.info("%s ends with archived articles: not paginating further", response.url)
            else:
                next_url = response.urljoin(next_page)
                tracker.page_linked(here, next_url)
                yield self.discovery_request(next_url, page=page + 1)
        tracker.page_parsed(here, response.url)

    def article_links(self, links: Iterable[ListingLink]) -> list[ListingLink]:
        """The article links among ``links``; a link to page 2+ of an article becomes its page 1.

        (The article is read from its page 1, which gathers the other pages.)
        """
        result = []
        for link in links:
            url = link.url
            if not self.publisher.article_id(url):
                continue
            if self.publisher.page_number(url) > 1:
                link = ListingLink(canonical_url(url), link.published, link.modified)
            result.append(link)
        return result

    def known_among(self, links: list[ListingLink]) -> dict[str, KnownArticle]:
        """The archived articles among ``links``, by URL (empty without the seen-URL check)."""
        if self.seen_check is None or not links:
            return {}
        return self.seen_check.known_among([link.url for link in links])

    def read_sitemap_checked(
        self, response: Response
    ) -> tuple[list[ListingLink], list[str], dict[str, KnownArticle], str]:
        """Runs in a thread: the sitemap's article links, child sitemaps, which links are archived,
        and why the sitemap was cut short ("" when it was not)."""
        page = discovery.parse_sitemap(
            response.body, response.url, self.publisher, max_urls=self.sitemap_max_urls
        )
        links = self.article_links(page.links)
        return links, list(page.children), self.known_among(links), page.reason

    def sitemap_children(self, here: str, response: Response, children: list[str]) -> list[scrapy.Request]:
        """Requests for a sitemap index's children, within the depth and count limits."""
        if not children:
            return []
        depth = int(response.meta.get(SITEMAP_DEPTH, 0)) + 1
        if depth > self.sitemap_max_depth:
            self.sitemap_limit_hit(
                here,
                f"sitemap index {here} is nested {depth} deep (sitemap_max_depth = "
                f"{self.sitemap_max_depth}): its {len(children)} sitemaps were not read",
            )
            return []
        room = max(self.sitemap_max_files - self.sitemaps_requested, 0)
        if len(children) > room:
            self.sitemap_limit_hit(
                here,
                f"sitemap index {here}: {len(children) - room} of its {len(children)} sitemaps not read "
                f"(sitemap_max_files = {self.sitemap_max_files} per crawl)",
            )
            children = children[:room]
        self.sitemaps_requested += len(children)
        requests = []
        for child in children:
            self.completeness.page_linked(here, child)
            requests.append(
                self.discovery_request(child, page=1, priority=FEED_PRIORITY, sitemap_depth=depth)
            )
        return requests

    def sitemap_limit_hit(self, url: str, reason: str) -> None:
        """Logged, counted in the source's health, and the page is not complete (no 304 next time)."""
        logger.warning("%s", reason)
        self.completeness.link_skipped(url)
        limits = self.crawler.stats.get_value(health.SITEMAP_LIMITS)
        if limits is None:
            limits = []
            self.crawler.stats.set_value(health.SITEMAP_LIMITS, limits)
        limits.append(reason)

    def is_stale(self, link: ListingLink) -> bool:
        """Published (or, lacking that, modified) before the wanted window."""
        if self.since is None:
            return False
        when = _aware(link.published) or _aware(link.modified)
        return when is not None and when < self.since

    def reaches_archived(self, links: list[ListingLink], known: dict[str, KnownArticle]) -> bool:
        """Whether a listing page's oldest item is already archived: the pages after it hold older,
        archived items, so new articles only ever push pages along.

        The oldest item is the last one, and no item printed with a date is older than it (a
        pinned old story at the top, or a listing in ascending order, keeps the pagination going).
        Paired with :meth:`was_read_completely` for the next page, as for a page of known items only:
        new articles at the top of page 1 no longer cost the page 2 they pushed items onto.
        """
        last = links[-1]
        if not self.is_known(last, known):
            return False
        when = _aware(last.published)
        return when is None or all(
            (_aware(link.published) or when) >= when for link in links if link.published is not None
        )

    def was_read_completely(self, url: str) -> bool:
        """Whether an earlier crawl read ``url`` completely (it kept validators for it).

        A next page that lost an article last time is followed even when this page is all known.
        """
        conditional = self.crawler.get_downloader_middleware(ConditionalRequestMiddleware)
        return conditional is None or conditional.has_validators(url)

    def is_known(self, link: ListingLink, known: dict[str, KnownArticle]) -> bool:
        """Archived (per the page's batched check) and not announced as modified since."""
        stored = known.get(link.url)
        return stored is not None and not is_newer(_aware(link.modified), stored.version_time)

    def read_feed(self, response: Response) -> list[ListingLink]:
        return list(discovery.parse_feed(response.body, response.url, self.publisher).links)

    def read_listing(self, response: Response) -> tuple[list[ListingLink], str | None, bool]:
        """(links, next page, whether the links are the listing's items in its order).

        Not in order when the layout was not recognised: the links are then every article link
        on the page, sidebars included, whose order says nothing about the listing's.
        """
        page = discovery.parse_listing(response.text, response.url, self.publisher)
        if page.fallback:
            # The listing's markup changed (or the page is not the listing it was): the links come
            # from the article URL pattern alone. Counted per source for source health.
            self.crawler.stats.inc_value(f"{STAT_PREFIX}{self.publisher.name}/listing_fallbacks")
            logger.warning("listing layout not recognised on %s: %s", response.url, page.reason)
        return list(page.links), page.next_page, not page.fallback

    # -- source health --------------------------------------------------------------------------

    def count_listing(self, url: str, kind: str, page: int, links: list[ListingLink]) -> None:
        """Article links found on one discovery page; an HTML start page with none is noted."""
        stats = self.crawler.stats
        found = sum(1 for link in links if self.publisher.article_id(link.url))
        stats.inc_value(health.LISTING_PAGES)
        per_listing = stats.get_value(health.LISTING_LINKS)
        if per_listing is None:
            per_listing = {}
            stats.set_value(health.LISTING_LINKS, per_listing)
        per_listing[url] = per_listing.get(url, 0) + found
        if not found and kind == "html" and page == 1:
            empty = stats.get_value(health.EMPTY_LISTINGS)
            if empty is None:
                empty = []
                stats.set_value(health.EMPTY_LISTINGS, empty)
            empty.append(url)

    def count_start_url(self, url: str, page: Any, status: int) -> None:
        """The HTTP status a start URL answered with: a feed answering 404 run after run is dead."""
        if int(page or 1) != 1 or url not in self.start_url_list():
            return
        statuses = self.crawler.stats.get_value(health.START_URL_STATUS)
        if statuses is None:
            statuses = {}
            self.crawler.stats.set_value(health.START_URL_STATUS, statuses)
        statuses[url] = status

    def count_article(self, record: ArticleRecord, response: Response, dated_by_listing: bool) -> None:
        """Which fields of a parsed article came from a fallback, and which are missing."""
        stats = self.crawler.stats
        stats.inc_value(health.ARTICLES_PARSED)
        fallbacks, failed = health_of_fields(record, response, self.publisher)
        if dated_by_listing:
            fallbacks.append("published: listing")
        for key, names in ((health.FIELD_FALLBACKS, fallbacks), (health.FAILED_FIELDS, failed)):
            if not names:
                continue
            counter = stats.get_value(key)
            if counter is None:
                counter = {}
                stats.set_value(key, counter)
            for name in names:
                counter[name] = counter.get(name, 0) + 1
        if fallbacks:
            stats.inc_value(health.FALLBACK_ARTICLES)

    # -- articles -------------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterable[Any]:
        record_answered(self.crawler.stats)
        link = response.meta.get(LINK) or response.url
        try:
            record = self.publisher_parser(response)
        except ExtractionError as exc:
            self.crawler.stats.inc_value(health.PARSE_FAILURES)
            record_error(self.crawler.stats, f"no article found: {response.url}: {exc}")
            self.completeness.article_done(link, False)
            return
        except Exception as exc:
            logger.exception("could not parse %s", response.url)
            self.crawler.stats.inc_value(health.PARSE_FAILURES)
            record_error(self.crawler.stats, f"parse {response.url}: {type(exc).__name__}: {exc}")
            self.completeness.article_done(link, False)
            return
        dated_by_listing = False
        if record.published is None:
            # A page that prints no date (a malformed one) keeps the date its listing printed.
            record.published = _aware(response.meta.get(PUBLISHED))
            dated_by_listing = record.published is not None
        self.count_article(record, response, dated_by_listing)
        if self.since is not None and record.published is not None and _aware(record.published) < self.since:
            # Linked without a date (China Daily's featured block prints none): the page's own date
            # puts it outside the window. Not stored, and not complete: a backfill fetches it.
            self.crawler.stats.inc_value(STAT_PREFIX + "outside_window")
            self.completeness.article_done(link, False)
            return
        announced = _aware(response.meta.get(MODIFIED)) or self.announced.get(response.url)
        if announced is not None and (record.modified is None or record.modified < announced):
            record.modified = announced
        if record.page_urls:
            # A multi-page article: fetch pages 2..N one after the other, then yield one record.
            yield self.page_request(record, link, list(record.page_urls), [])
            return
        self.completeness.item_extracted(record.url, link)
        yield record

    def page_request(
        self, record: ArticleRecord, link: str, remaining: list[str], done: list[tuple[str, str]]
    ) -> scrapy.Request:
        """The request for the next page of ``record``; the partial article travels in cb_kwargs."""
        url = remaining[0]
        kwargs = {"record": record, "link": link, "remaining": remaining[1:], "done": done}
        return scrapy.Request(
            url,
            callback=self.parse_article_page,
            errback=self.on_page_error,
            priority=ARTICLE_PRIORITY + 1,  # finish an article before starting the next
            meta={KIND: ARTICLE_PAGE, LINK: url},
            cb_kwargs=kwargs,
        )

    def parse_article_page(
        self,
        response: Response,
        record: ArticleRecord,
        link: str,
        remaining: list[str],
        done: list[tuple[str, str]],
    ) -> Iterable[Any]:
        record_answered(self.crawler.stats)
        self.crawler.stats.inc_value(f"{STAT_PREFIX}article_pages")
        content_type = response.headers.get(b"Content-Type")
        try:
            text = page_text(
                response.body,
                response.url,
                encoding=content_type.decode("latin-1") if content_type else None,
                publisher=self.publisher,
            )
        except Exception as exc:  # one bad page must not lose the pages already read
            logger.exception("could not parse page %s", response.url)
            record_error(self.crawler.stats, f"parse {response.url}: {type(exc).__name__}: {exc}")
            text = ""
        done = [*done, (response.url, text)]
        if remaining:
            yield self.page_request(record, link, remaining, done)
            return
        yield self.finish_pages(record, link, done)

    def finish_pages(self, record: ArticleRecord, link: str, done: list[tuple[str, str]]) -> ArticleRecord:
        record = join_pages(record, done)
        self.completeness.item_extracted(record.url, link)
        return record

    def on_page_error(self, failure: Failure) -> Iterable[Any]:
        """A continuation page that could not be fetched: the article is stored with the pages read.

        The error is counted; the missing page's text is lost for this crawl, not the article.
        """
        request = failure.request  # type: ignore[attr-defined]
        kwargs = request.cb_kwargs
        record_error(self.crawler.stats, f"page of {kwargs['record'].url} not fetched: {request.url}")
        done = list(kwargs["done"])
        if kwargs["remaining"]:
            yield self.page_request(kwargs["record"], kwargs["link"], kwargs["remaining"], done)
            return
        yield self.finish_pages(kwargs["record"], kwargs["link"], done)

    def publisher_parser(self, response: Response) -> ArticleRecord:
        # The raw bytes and the HTTP charset: the parser decodes exactly as `pledgewatch import` does
        # (header, <meta> charset, detection), so the GBK page reads the same both ways.
        content_type = response.headers.get(b"Content-Type")
        return extract_article(
            response.body,
            response.url,
            encoding=content_type.decode("latin-1") if content_type else None,
            publisher=self.publisher,
            source=self.publisher.name,
        )

    # -- failures -------------------------------------------------------------------------------

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        error = failure.value
        stats = self.crawler.stats
        if isinstance(error, KnownArticleSkipped):
            self.completeness.article_done(request.meta.get(LINK) or request.url, True)
            return
        if request.meta.get(KIND) == "article":
            # Whatever kept it out (a 404, retries used up, robots.txt), it is not archived: the
            # pages that link to it must be read again next time.
            self.completeness.article_done(request.meta.get(LINK) or request.url, False)
        if isinstance(error, OffsiteRedirectDropped):
            return  # already reported by the offsite middleware
        if isinstance(error, HttpError):  # (a subclass of IgnoreRequest)
            response = error.response
            if "missing" not in response.flags and request.meta.get(KIND) == "discovery":
                link = request.meta.get(LINK) or request.url
                self.count_start_url(link, request.meta.get(PAGE), response.status)
            missing = stats.get_value(STAT_PREFIX + "missing")
            if "missing" in response.flags and missing is not None:
                return  # replay: listed in the summary's `missing`
            if response.status >= 500:
                record_request_failed(stats, f"HTTP {response.status}")
            else:
                record_answered(stats)  # a 404 is an answer: the site is there
            record_error(stats, f"HTTP {response.status}: {response.url}")
            return
        if isinstance(error, IgnoreRequest):
            # robots.txt and other deliberate refusals: polite, not a failure.
            stats.inc_value(STAT_PREFIX + "ignored")
            logger.info("not fetched: %s (%s)", request.url, error)
            return
        record_request_failed(stats, failure_reason(error))
        record_error(stats, f"{type(error).__name__}: {request.url}: {error}".rstrip(": "))


def health_of_fields(
    record: ArticleRecord, response: Response, publisher: Publisher
) -> tuple[list[str], list[str]]:
    """(fallback fields as "field: step", failed field names) of one parsed article.

    Only :data:`health.HEALTH_FIELDS` count. A record that says how each field was produced
    (``extraction["fields"]``: "generic", "url_date", "failed"...) is read as it says. Otherwise
    the one fallback today's parsers have is checked: a publisher parser whose body selector found
    nothing, so generic extraction gave the text. A missing title or date is a failed field.
    """
    fallbacks: list[str] = []
    failed: list[str] = []
    extraction = getattr(record, "extraction", None)
    steps = extraction.get("fields") if isinstance(extraction, dict) else None
    if isinstance(steps, dict):
        # A publisher with no parser of its own (a generic source from the configuration) is read
        # by generic extraction by design: that is not a fallback.
        generic_parser = (
            publisher.parser is None or getattr(publisher.parser, "reads_generically", False)
        ) or extraction.get("parser") in (
            None,
            "",
            "generic",
            "ArticleParser",
        )
        for name, step in steps.items():
            if name not in health.HEALTH_FIELDS:
                continue
            if step == "failed":
                failed.append(name)
            elif step == "generic" and not generic_parser:
                fallbacks.append(f"{name}: generic")
            elif step in ("url_date", "listing"):
                fallbacks.append(f"{name}: {step}")
    else:
        parser_class = parser_for(response.url, publisher)
        if parser_class.body_selector:
            parser = parser_class(response.body, response.url, publisher=publisher)
            if not parser.paragraphs_of(parser_class.body_selector):
                fallbacks.append("body: generic")
    if not (record.title or "").strip() and "title" not in failed:
        failed.append("title")
    if record.published is None and "published" not in failed:
        failed.append("published")
    return fallbacks, failed
