"""Publishers declared in the configuration: ``[sources.NAME] kind = "generic"``.

A user adds a fourth site without writing Python: its feeds, sitemaps and listings, CSS selectors for
listing items, links, dates and the next page, an article URL pattern and a time zone become a
:class:`Publisher` at run time, registered beside the built-in ones. It then goes through the same
spider, generic extraction, URL canonicalisation, dedup and source health as they do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timezone
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pledgewatch.spiders.listing import (
    ListingLink,
    ListingPage,
    _next_page,
    _selector,
    absolute_url,
    accept,
    dedupe,
)
from pledgewatch.spiders.parsing import ArticleParser, normalise_space, parse_datetime
from pledgewatch.spiders.publisher import Publisher, all_publishers, register

if TYPE_CHECKING:
    from pledgewatch.config import Config, ListingSelectors, SourceConfig

__all__ = ["build_publisher", "register_configured_sources"]

# Built-in publisher names, seen before any configured source is registered.
_BUILT_IN: set[str] = set()


def fixed_zone(name: str) -> timezone:
    """The zone's current UTC offset: what ``parse_datetime`` reads offset-less times in."""
    offset = ZoneInfo(name).utcoffset(datetime.now())
    return timezone(offset) if offset is not None else UTC


class ConfiguredParser(ArticleParser):
    """Generic extraction, with offset-less page times read in the source's time zone."""

    zone: ClassVar[timezone] = UTC
    # Generic extraction is how a configured source is read, not a fallback (source health).
    reads_generically: ClassVar[bool] = True

    def published(self) -> datetime | None:
        value = self.meta(
            "article:published_time", "og:article:published_time", "publishdate", "pubdate",
            "datePublished", "dc.date", "date",
        )  # fmt: skip
        found = parse_datetime(value, self.zone) or parse_datetime(
            self.selector.css("time::attr(datetime)").get(), self.zone
        )
        return found or super().published()


def _listing_parser(publisher_ref: list[Publisher], selectors: ListingSelectors, zone: timezone):
    """(html, url) -> ListingPage with the configured selectors (dates in the source's zone)."""

    def parse(body: str | bytes, url: str) -> ListingPage:
        publisher = publisher_ref[0]
        page = _selector(body)
        links: list[ListingLink] = []
        for entry in page.css(selectors.item):
            anchor = entry.css(selectors.link)
            href = absolute_url(anchor.attrib.get("href") if anchor else None, url)
            if href is None or not accept(href, publisher):
                continue
            published = None
            if selectors.date:
                stamp = entry.css(selectors.date)
                if stamp:
                    published = parse_datetime(stamp.attrib.get("datetime"), zone) or parse_datetime(
                        normalise_space(" ".join(stamp[0].css("::text").getall())), zone
                    )
            links.append(ListingLink(href, published))
        return ListingPage(links=dedupe(links), next_page=_next_page(page, url, selectors.next_page or None))

    return parse


def build_publisher(name: str, source: SourceConfig) -> Publisher:
    """The :class:`Publisher` a ``kind = "generic"`` source describes."""
    starts = [*source.generic_start_urls, *source.start_urls]
    hosts = list(source.hosts) or list(dict.fromkeys(urlsplit(u).hostname or "" for u in starts))
    hosts = [h.lower().removeprefix("www.") for h in hosts if h]
    pattern = re.compile(source.article_url, re.I)
    if "id" not in pattern.groupindex and not any(g.startswith("id_") for g in pattern.groupindex):
        # The whole match is the article id: the same path on any of the site's hosts.
        pattern = re.compile(f"(?P<id>{source.article_url})", re.I)
    zone = fixed_zone(source.timezone)
    parser = type(f"{name.title()}ConfiguredParser", (ConfiguredParser,), {"zone": zone})
    ref: list[Publisher] = []
    publisher = Publisher(
        name=name,
        title=source.title or name,
        domain=hosts[0] if hosts else name,
        hosts=tuple(hosts),
        article_url=pattern,
        feeds=tuple(source.feeds),
        listings=tuple(source.listings),
        sitemaps=tuple(source.sitemaps),
        outlet=source.outlet or source.title or name,
        parser=parser,
        listing_parser=_listing_parser(ref, source.listing, zone) if source.listing else None,
        language=source.language,
    )
    ref.append(publisher)
    return publisher


def built_in_names() -> set[str]:
    """The publishers that are Python modules (a configured source may not take their names)."""
    if not _BUILT_IN:
        _BUILT_IN.update(all_publishers())
    return set(_BUILT_IN)


def register_configured_sources(config: Config) -> list[str]:
    """Register every ``kind = "generic"`` source of ``config``; returns their names.

    Idempotent: registering again replaces the earlier declaration (a reloaded configuration).
    """
    built_in = built_in_names()
    names = []
    for name, source in config.sources.items():
        if source.kind != "generic" or name in built_in:
            continue
        register(build_publisher(name, source))
        names.append(name)
    return names
