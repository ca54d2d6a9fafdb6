"""Find article URLs in feeds and sitemaps: both become :class:`ListingPage`s, like listing pages.

Every function here is a plain function of (body, url[, publisher]) so the Scrapy spider, WARC import
and tests call the same code. Listing pages are parsed by the publishers' own listing parsers
(:mod:`pledgewatch.spiders.listing`); :func:`parse_listing` is re-exported here so the spider asks
one module for every kind of discovery document.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from io import BytesIO
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

__all__ = ["iter_sitemap", "parse_feed", "parse_listing", "parse_sitemap"]


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
# The sitemap protocol's own limit per file: entries past it are not read (and the page is
# reported as truncated), so a 180k-URL "sitemap" costs what a legal one does.
MAX_SITEMAP_URLS = 50_000

_SITEMAP_ENTRIES = ("url", "sitemap")


def _local(tag: object) -> str:
    """``{namespace}name`` -> ``name`` (sitemaps in the wild use any namespace, or none)."""
    if not isinstance(tag, str):
        return ""  # a comment or processing instruction
    return tag.rsplit("}", 1)[-1]


def iter_sitemap(data: bytes) -> Iterator[tuple[str, str | None, str | None]]:
    """(``url`` | ``sitemap``, loc, lastmod) of each entry, streamed with lxml's ``iterparse``.

    One entry is in memory at a time (each is cleared once read), instead of a DOM of the whole
    file: a 50,000-URL sitemap is 5 MB of XML, and its DOM was several times that. The parser never
    resolves entities, never loads a DTD or anything over the network, and keeps libxml2's
    ``huge_tree`` protection on, so entity bombs, external entities and absurdly deep or long
    nodes are inert. Broken XML yields the entries read before the break (``recover``).
    """
    from lxml import etree

    parser = etree.iterparse(
        BytesIO(data),
        events=("end",),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=True,
    )
    try:
        for _event, element in parser:
            parent = element.getparent()
            # Entries are the root's children: <urlset><url>, <sitemapindex><sitemap>.
            if parent is None or parent.getparent() is not None:
                continue
            name = _local(element.tag)
            if name in _SITEMAP_ENTRIES:
                fields = {_local(child.tag): (child.text or "").strip() for child in element}
                yield name, fields.get("loc") or None, fields.get("lastmod") or None
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError:
        return  # not XML (or broken past recovery): what was read so far stands


def parse_sitemap(
    body: str | bytes,
    url: str,
    publisher: Publisher | None = None,
    max_bytes: int = MAX_SITEMAP_BYTES,
    max_urls: int = MAX_SITEMAP_URLS,
) -> ListingPage:
    """A sitemap index lists child sitemaps (``children``); a urlset lists articles with lastmod.

    A gzipped body is gunzipped up to ``max_bytes``; a larger one (a gzip bomb) gives nothing.
    At most ``max_urls`` entries are read; when more were there, ``reason`` says so (the spider
    logs it and counts it in the source's health).
    """
    from scrapy.utils.gz import gunzip

    data = body.encode("utf-8") if isinstance(body, str) else body
    if data[:2] == b"\x1f\x8b":
        try:
            data = gunzip(data, max_size=max_bytes)
        except Exception as exc:  # over the cap, or not gzip after all
            logger.warning("sitemap %s refused: %s", url, exc or "over the size cap when gunzipped")
            return ListingPage()
    tz = _tz(publisher)
    links: list[ListingLink] = []
    children: list[str] = []
    entries = 0
    reason = ""
    for kind, loc, lastmod in iter_sitemap(data):
        if entries >= max_urls:
            reason = f"sitemap {url} lists more than {max_urls} entries: the rest were not read"
            break
        entries += 1
        href = absolute_url(loc, url)
        if href is None:
            continue
        if kind == "sitemap":
            children.append(href)
        elif accept(href, publisher):
            links.append(ListingLink(href, None, parse_datetime(lastmod, tz) if lastmod else None))
    if children and not links:
        return ListingPage(children=list(dict.fromkeys(children)), reason=reason)
    return ListingPage(links=dedupe(links), children=list(dict.fromkeys(children)), reason=reason)
