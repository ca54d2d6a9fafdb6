"""Publishers declared as data: who they are, where their articles live, how to find new ones.

Adding a publisher means one spider module that defines a :class:`Publisher` (plus its parser and
spider), one fixture page and one expected-JSON file. Everything that needs to know about
publishers (URL canonicalisation, allowed domains, the CLI's source names) reads this registry.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
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
    # Matches an article URL; the named group ``id`` is the publisher's article id, which is
    # the same article on any of its hosts.
    article_url: re.Pattern[str]
    feeds: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    # The outlet name as printed when the publisher's own articles carry no other.
    outlet: str = ""
    # (regex, replacement) pairs applied to an article URL's path to reach its canonical form:
    # page 2 of a China Daily article, trailing slashes... (pledgewatch.spiders.urls)
    url_rewrites: tuple[tuple[str, str], ...] = ()
    # Fundus-style field parser for article pages (None: generic extraction).
    parser: type[ArticleParser] | None = None
    # (html, url) -> ListingPage for the listing pages above (None: every article link on the page).
    listing_parser: ListingParser | None = None
    # The language the publisher writes in, when a page does not say.
    language: str = "en"
    # Where the publisher comes in every list shown to a user (the default crawl order, source
    # names in help texts and summaries); ties go by name.
    order: int = 100

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
        return match.group("id") if match else None


_REGISTRY: dict[str, Publisher] = {}


def register(publisher: Publisher) -> Publisher:
    _REGISTRY[publisher.name] = publisher
    return publisher


# Modules in pledgewatch.spiders that hold machinery, not publishers.
_NOT_PUBLISHER_MODULES = frozenset({"publisher", "parsing", "listing", "urls", "configured"})


def _spider_modules() -> tuple[str, ...]:
    """Every publisher module in ``pledgewatch/spiders/``, in name order.

    A new publisher is one new module: nothing else has to list it.
    """
    import pkgutil

    import pledgewatch.spiders as package

    found = [
        f"{package.__name__}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
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
