"""Find article URLs in feeds and sitemaps: both become :class:`ListingPage`s, like listing pages.

Every function here is a plain function of (body, url[, publisher]) so the Scrapy spider, WARC import
and tests call the same code. Listing pages are parsed by the publishers' own listing parsers
(:mod:`pledgewatch.spiders.listing`); :func:`parse_listing` is re-exported here so the spider asks
one module for every kind of discovery document.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from pledgewatch.spiders.listing import (
    ListingLink,
    ListingPage,
    absolute_url,
    accept,
    body_text,
    dedupe,
    parse_listing,
)
from pledgewatch.spiders.parsing import parse_datetime

if TYPE_CHECKING:
    from pledgewatch.spiders.publisher import Publisher

logger = logging.getLogger(__name__)

__all__ = ["parse_feed", "parse_listing", "parse_sitemap"]


def _tz(publisher: Publisher | None) -> tzinfo:
    """Dates printed without an offset are the publisher's local time (UTC for unknown sites)."""
    return publisher.timezone if publisher is not None else UTC


# --------------------------------------------------------------------------------------------------
# Feeds


def _struct_time(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)  # type: ignore[index]
    except (TypeError, ValueError):
        return None


def _feed_date(entry: dict, key: str, tz: tzinfo = UTC) -> datetime | None:
    # The printed string keeps the publisher's offset; feedparser's parsed tuple is UTC.
    # dict.get bypasses FeedParserDict's deprecated "updated" -> "published" fallback, which
    # would otherwise report a publication date as a modification.
    raw = dict.get(entry, key)
    parsed = parse_datetime(raw, tz) if isinstance(raw, str) else None
    return parsed or _struct_time(dict.get(entry, f"{key}_parsed"))


def parse_feed(body: str | bytes, url: str, publisher: Publisher | None = None) -> ListingPage:
    """RSS 2.0 / Atom items as links with pubDate/published and updated (feedparser does the dialects)."""
    import feedparser

    try:
        parsed = feedparser.parse(body if isinstance(body, bytes) else body.encode("utf-8"))
    except (UnicodeError, LookupError, ValueError):
        # feedparser trips over a garbled encoding declaration; decode the way browsers do instead.
        try:
            parsed = feedparser.parse(re.sub(r"^\s*<\?xml[^>]*\?>", "", body_text(body)))
        except (UnicodeError, LookupError, ValueError):
            return ListingPage()
    links = []
    for entry in parsed.entries:
        href = absolute_url(entry.get("link") or entry.get("id"), url)
        if href is None or not accept(href, publisher):
            continue
        published = _feed_date(entry, "published", _tz(publisher))
        updated = _feed_date(entry, "updated", _tz(publisher))
        links.append(ListingLink(href, published, updated if updated != published else None))
    next_page = None
    for link in parsed.feed.get("links", []):
        if link.get("rel") == "next":
            next_page = absolute_url(link.get("href"), url)
    return ListingPage(links=dedupe(links), next_page=next_page)


# --------------------------------------------------------------------------------------------------
# Sitemaps


# A gzipped sitemap unfolds to at most this many bytes (the response cap's default); past it, it
# is refused. Without a cap, 1 MB of gzip became 2.2 GB of memory (issue 19).
MAX_SITEMAP_BYTES = 10 * 1024 * 1024


def parse_sitemap(
    body: str | bytes, url: str, publisher: Publisher | None = None, max_bytes: int = MAX_SITEMAP_BYTES
) -> ListingPage:
    """A sitemap index lists child sitemaps (``children``); a urlset lists articles with lastmod.

    A gzipped body is gunzipped up to ``max_bytes``; a larger one (a gzip bomb) gives nothing.
    """
    from scrapy.utils.gz import gunzip
    from scrapy.utils.sitemap import Sitemap

    data = body.encode("utf-8") if isinstance(body, str) else body
    if data[:2] == b"\x1f\x8b":
        try:
            data = gunzip(data, max_size=max_bytes)
        except Exception as exc:  # over the cap, or not gzip after all
            logger.warning("sitemap %s refused: %s", url, exc or "over the size cap when gunzipped")
            return ListingPage()
    try:
        sitemap = Sitemap(data)
    except Exception:  # not XML at all: nothing to discover
        return ListingPage()
    if sitemap.type == "sitemapindex":
        children = [u for u in (absolute_url(entry.get("loc"), url) for entry in sitemap) if u]
        return ListingPage(children=list(dict.fromkeys(children)))
    links = []
    for entry in sitemap:
        href = absolute_url(entry.get("loc"), url)
        if href is None or not accept(href, publisher):
            continue
        links.append(ListingLink(href, None, parse_datetime(entry.get("lastmod"), _tz(publisher))))
    return ListingPage(links=dedupe(links))
