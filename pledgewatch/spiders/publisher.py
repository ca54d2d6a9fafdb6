"""Publishers declared as data: who they are, where their articles live, how to find new ones.

Adding a publisher means one spider module that defines a :class:`Publisher` (plus its parser and
spider), one fixture page and one expected-JSON file. Everything that needs to know about
publishers (URL canonicalisation, allowed domains, the CLI's source names) reads this registry.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from datetime import UTC, date, timedelta, tzinfo
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pledgewatch.spiders.listing import ListingParser
    from pledgewatch.spiders.parsing import ArticleParser


@dataclass(frozen=True)
class Publisher:
    name: str
    title: str
    domain: str
    # Every host the publisher serves articles from (www., m., global., print mirrors...).
    hosts: tuple[str, ...]
    # Matches an article URL; the named group ``id`` (or ``id_<scheme>`` when the site has had
    # several URL schemes) is the publisher's article id, the same article on any of its hosts.
    article_url: re.Pattern[str]
    feeds: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    # The outlet name as printed when the publisher's own articles carry no other.
    outlet: str = ""
    # (regex, replacement) pairs applied to an article URL's path to reach its canonical form:
    # page 2 of a China Daily article, trailing slashes... (pledgewatch.spiders.urls)
    url_rewrites: tuple[tuple[str, str], ...] = ()
    # The page-number suffix of an article's continuation pages (``c90000-9685505-2.html``,
    # ``WS..._2.html``): a regex on the URL path with a group ``page``. Those pages are fetched
    # and joined into the article of page 1 (their canonical form, by ``url_rewrites``).
    page_suffix: re.Pattern[str] | None = None
    # Article paths that are served by the host they were found on (regional editions), so their
    # canonical URL keeps that host instead of ``domain`` (None: every article is on ``domain``).
    own_host_paths: re.Pattern[str] | None = None
    # Fundus-style field parser for article pages (None: generic extraction).
    parser: type[ArticleParser] | None = None
    # (html, url) -> ListingPage for the listing pages above (None: every article link on the page).
    listing_parser: ListingParser | None = None
    # The language the publisher writes in, when a page does not say.
    language: str = "en"
    # The time zone its pages print times in without an offset (the three watched sites: Beijing).
    timezone: tzinfo = UTC
    # Paragraphs that are this site's page furniture, not article text: regexes matched against a
    # whole whitespace-normalised paragraph, case-insensitively ("Recent posts", "(For the latest
    # China news, Please follow ...)"). Generic furniture (bylines, e-mail lines, share prompts)
    # is known to every parser; this is what only this site prints.
    furniture: tuple[str, ...] = ()
    # The publication date an article URL carries: a regex with named groups ``year``, ``month``
    # and ``day`` (None: the URLs carry no date). The sanity check of the published field.
    url_date: re.Pattern[str] | None = None
    # The day the site started publishing: a page claiming an earlier date is wrong.
    founded: date | None = None
    # A page whose text is shorter than this is not an article (a listing, an error page).
    min_body_chars: int = 1
    # How far a printed publication date may stray from the URL's date before the URL wins.
    max_date_drift: timedelta = timedelta(days=3)
    # Where the publisher comes in every list shown to a user (the default crawl order, source
    # names in help texts and summaries); ties go by name.
    order: int = 100

    def date_in_url(self, url: str) -> date | None:
        """The date an article URL carries (``/a/202605/17/``, ``/n3/2020/0430/``), or None."""
        if self.url_date is None:
            return None
        match = self.url_date.search(url)
        if match is None:
            return None
        try:
            return date(int(match.group("year")), int(match.group("month")), int(match.group("day")))
        except ValueError:
            return None

    def page_number(self, url: str) -> int:
        """1 for an article's first page, N for its continuation page N (``page_suffix``)."""
        if self.page_suffix is None:
            return 1
        match = self.page_suffix.search(urlsplit(url).path)
        return int(match.group("page")) if match else 1

    @property
    def furniture_re(self) -> re.Pattern[str] | None:
        """The ``furniture`` patterns as one regex (None when the site declares none)."""
        if not self.furniture:
            return None
        return _compiled_furniture(self.furniture)

    @property
    def start_urls(self) -> tuple[str, ...]:
        return self.feeds + self.sitemaps + self.listings

    def owns(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == h or host.endswith("." + h) for h in self.hosts)

    def article_id(self, url: str) -> str | None:
        if not self.owns(url):
            return None
        match = self.article_url.search(url)
        if match is None:
            return None
        # A pattern with several URL schemes names each scheme's id group ``id``, ``id_<scheme>``.
        for name, value in match.groupdict().items():
            if value and (name == "id" or name.startswith("id_")):
                return value
        return None


def _compiled_furniture(patterns: tuple[str, ...]) -> re.Pattern[str]:
    cached = _FURNITURE_CACHE.get(patterns)
    if cached is None:
        cached = re.compile("|".join(f"(?:{p})" for p in patterns), re.I)
        _FURNITURE_CACHE[patterns] = cached
    return cached


_FURNITURE_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}
_REGISTRY: dict[str, Publisher] = {}


def register(publisher: Publisher) -> Publisher:
    _REGISTRY[publisher.name] = publisher
    return publisher


# Modules in pledgewatch.spiders that hold machinery, not publishers.
_NOT_PUBLISHER_MODULES = frozenset({"publisher", "fields", "parsing", "listing", "urls", "configured"})


def _spider_modules() -> tuple[str, ...]:
    """Every publisher module in ``pledgewatch/spiders/``, in name order.

    A new publisher is one new module: nothing else has to list it. Each folder is listed once
    per process (the package's ``__path__`` is the key, so a folder added to it is seen):
    scanning it on every call made each URL canonicalisation cost 0.2 ms (a 50,000-URL sitemap
    spent 10 s in ``pkgutil``).
    """
    import pledgewatch.spiders as package

    return _modules_in(package.__name__, tuple(package.__path__))


@functools.cache
def _modules_in(package: str, path: tuple[str, ...]) -> tuple[str, ...]:
    import pkgutil

    found = [
        f"{package}.{info.name}"
        for info in pkgutil.iter_modules(list(path))
        if not info.name.startswith("_") and info.name not in _NOT_PUBLISHER_MODULES
    ]
    return tuple(sorted(found))


def all_publishers() -> dict[str, Publisher]:
    """Every registered publisher by name, in their declared ``order``."""
    for module in _spider_modules():
        importlib.import_module(module)
    return {p.name: p for p in sorted(_REGISTRY.values(), key=lambda p: (p.order, p.name))}


def get_publisher(name: str) -> Publisher:
    publishers = all_publishers()
    try:
        return publishers[name]
    except KeyError:
        from pledgewatch.errors import UsageError

        raise UsageError(f"unknown source {name!r}; known: {', '.join(sorted(publishers))}") from None


def publisher_for_url(url: str) -> Publisher | None:
    for publisher in all_publishers().values():
        if publisher.owns(url):
            return publisher
    return None
