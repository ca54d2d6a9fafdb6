"""What a listing page yields, and the CSS-selector listing parser every publisher's is made of.

Publisher modules build their listing parsers from :func:`select_listing`; the crawler's discovery
(:mod:`pledgewatch.crawler.discovery`) adds feeds and sitemaps on the same :class:`ListingPage`.
Links come out absolute (China Daily prints protocol-relative ``//www...`` links, People's Daily
relative ones) and, when a publisher is given, only URLs its ``article_url`` pattern accepts count
as articles: pagers, topic pages and ads never reach the article queue. Plain functions of
(body, url[, publisher]), no Scrapy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from parsel import Selector
from w3lib.url import safe_url_string

from pledgewatch.spiders.parsing import decode_html, normalise_space, parse_datetime

if TYPE_CHECKING:
    from pledgewatch.spiders.publisher import Publisher

__all__ = [
    "ListingLayout",
    "ListingLink",
    "ListingPage",
    "ListingParser",
    "absolute_url",
    "accept",
    "dedupe",
    "parse_generic_listing",
    "parse_listing",
    "select_listing",
]


@dataclass(frozen=True)
class ListingLink:
    """One article URL found on a listing, feed or sitemap, with the dates printed next to it."""

    url: str
    published: datetime | None = None
    modified: datetime | None = None


@dataclass
class ListingPage:
    """What one discovery document yields.

    ``links``: article URLs in page order, each once. ``next_page``: the following page of the same
    listing (pagination), if any. ``children``: further discovery documents to fetch (the child
    sitemaps of a sitemap index).
    """

    links: list[ListingLink] = field(default_factory=list)
    next_page: str | None = None
    children: list[str] = field(default_factory=list)
    #: True when the listing's item selectors found nothing and the links are every link on the
    #: page that the publisher's article pattern accepts: the site's markup changed (or this is
    #: not the page it used to be). ``reason`` says so in words; source health counts it.
    fallback: bool = False
    reason: str = ""
    #: The listing layout whose selectors matched ("" for feeds, sitemaps and the fallback).
    layout: str = ""

    @property
    def urls(self) -> list[str]:
        return [link.url for link in self.links]


#: A publisher's listing parser: (html, url) -> ListingPage.
ListingParser = Callable[[str | bytes, str], ListingPage]

_NEXT_WORD_RE = re.compile(r"\bnext\b|\bolder\b|下一页|下页", re.I)
_NEXT_ARROW_RE = re.compile(r"[»›>→]+")
_NOT_NEXT_RE = re.compile(r"\blast\b|\bprev|\bfirst\b|末页|尾页|上一页|首页|[«‹<←]", re.I)


def absolute_url(href: str | None, base: str) -> str | None:
    """An absolute, fragment-free http(s) URL for ``href`` found on ``base``, or None for junk links."""
    from urllib.parse import urljoin, urlsplit

    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    try:
        url = safe_url_string(urljoin(base, href))
        parts = urlsplit(url)
    except ValueError:  # "http://[broken/": not a URL anyone can fetch
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts._replace(fragment="").geturl()


def accept(url: str, publisher: Publisher | None) -> bool:
    return publisher is None or publisher.article_id(url) is not None


def dedupe(links: Iterable[ListingLink]) -> list[ListingLink]:
    seen: dict[str, int] = {}
    result: list[ListingLink] = []
    for link in links:
        if link.url in seen:
            # Keep the first position but the dates of whichever occurrence printed them.
            index = seen[link.url]
            old = result[index]
            result[index] = ListingLink(
                old.url, old.published or link.published, old.modified or link.modified
            )
            continue
        seen[link.url] = len(result)
        result.append(link)
    return result


def body_text(body: str | bytes) -> str:
    return decode_html(body)[0]


def _selector(body: str | bytes) -> Selector:
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", body_text(body))
    return Selector(text=text or "<html></html>", type="html")


# --------------------------------------------------------------------------------------------------
# Listing pages


@dataclass(frozen=True)
class ListingLayout:
    """One markup of a publisher's listing pages: CSS for its items, their link, date and pager.

    ``item`` selects one entry per article (an ``<a>`` entry is its own link), ``link`` the ``<a>``
    inside it, ``date`` the element (or ``<time datetime>``) with its publication time,
    ``next_page`` the pager's links. A publisher lists its layouts newest first; the first whose
    items match a page parses it (see :func:`select_listing_layouts`).
    """

    name: str
    item: str
    link: str = "a"
    date: str | None = None
    next_page: str | None = None
    #: The element that holds the items: present but empty, the listing has simply run out (the
    #: page after the last), which is no layout change and no reason for the fallback.
    container: str | None = None


def select_listing(
    body: str | bytes,
    url: str,
    publisher: Publisher | None,
    *,
    item: str,
    link: str = "a",
    date: str | None = None,
    next_page: str | None = None,
) -> ListingPage:
    """A listing parsed with CSS selectors: what each publisher's listing parser is made of.

    ``item`` selects one entry per article, ``link`` the ``<a>`` inside it, ``date`` the element (or
    ``<time datetime>``) with its publication time, ``next_page`` the pager's links; the one whose
    text reads "Next" (or rel=next) is the next page. When ``item`` finds nothing on the page of a
    known publisher, every link its article pattern accepts is used instead (``fallback``).
    """
    return select_listing_layouts(
        body, url, publisher, (ListingLayout("selectors", item, link, date, next_page),)
    )


def select_listing_layouts(
    body: str | bytes,
    url: str,
    publisher: Publisher | None,
    layouts: Iterable[ListingLayout],
    *,
    next_page_rule: Callable[[str, ListingPage], str | None] | None = None,
) -> ListingPage:
    """The page parsed by the first of ``layouts`` whose items match; else the fallback.

    A redesign that renames the listing's classes must not silently yield zero links: the fallback
    takes every link on the page that the publisher's article pattern accepts, in page order, and
    marks the page ``fallback`` with the reason, so the crawl still reaches the articles and the
    change is counted. ``next_page_rule(url, page)`` computes the next page for sites that print no
    pager (People's Daily: ``index2.html`` after ``index.html``); it is asked only when a layout
    matched and the page printed no next link.
    """
    page = _selector(body)
    tried: list[str] = []
    pager_css: list[str] = []
    for layout in layouts:
        tried.append(layout.name)
        if layout.next_page:
            pager_css.append(layout.next_page)
        links = _select_items(page, url, publisher, layout)
        if not links and layout.container and page.css(layout.container):
            return ListingPage(next_page=_next_page(page, url, layout.next_page), layout=layout.name)
        if links:
            result = ListingPage(
                links=dedupe(links), next_page=_next_page(page, url, layout.next_page), layout=layout.name
            )
            if result.next_page is None and next_page_rule is not None:
                result.next_page = next_page_rule(url, result)
            return result
    next_link = _next_page(page, url, ", ".join(pager_css) or None)
    if publisher is None:
        return ListingPage(next_page=next_link)
    fallback = [
        ListingLink(href)
        for href in (absolute_url(a.attrib.get("href"), url) for a in page.css("a[href]"))
        if href is not None and accept(href, publisher)
    ]
    if not fallback:
        return ListingPage(next_page=next_link)
    return ListingPage(
        links=dedupe(fallback),
        next_page=next_link,
        fallback=True,
        reason=f"no listing item matched ({', '.join(tried)}): "
        f"{len(dedupe(fallback))} article links taken from the whole page",
    )


def _select_items(
    page: Selector, url: str, publisher: Publisher | None, layout: ListingLayout
) -> list[ListingLink]:
    links: list[ListingLink] = []
    for entry in page.css(layout.item):
        anchor = entry if entry.root.tag == "a" else entry.css(layout.link)
        href = absolute_url(anchor.attrib.get("href") if anchor else None, url)
        if href is None or not accept(href, publisher):
            continue
        published = None
        if layout.date:
            stamp = entry.css(layout.date)
            if stamp:
                tz = publisher.timezone if publisher is not None else UTC
                published = parse_datetime(stamp.attrib.get("datetime"), tz) or parse_datetime(
                    normalise_space(" ".join(stamp[0].css("::text").getall())), tz
                )
        links.append(ListingLink(href, published))
    return links


def _next_page(page: Selector, url: str, css: str | None) -> str | None:
    """The pager link to the following page: rel/class "next", else the text "Next", else an arrow.

    "Last »" and "Previous" links sit in the same pagers and must never win.
    """
    candidates = page.css(css) if css else []
    candidates = candidates or page.css("a[rel~=next], link[rel~=next]")
    best: tuple[int, str] | None = None
    for anchor in candidates:
        text = normalise_space(" ".join(anchor.css("::text").getall()))
        if _NOT_NEXT_RE.search(text):
            continue
        rel = anchor.attrib.get("rel", "").split()
        cls = anchor.attrib.get("class", "").split()
        if "next" in rel or "next" in cls:
            rank = 0
        elif _NEXT_WORD_RE.search(text):
            rank = 1
        elif _NEXT_ARROW_RE.fullmatch(text):
            rank = 2
        else:
            continue
        href = absolute_url(anchor.attrib.get("href"), url)
        if href and href != url and (best is None or rank < best[0]):
            best = (rank, href)
    return best[1] if best else None


def parse_generic_listing(body: str | bytes, url: str, publisher: Publisher | None = None) -> ListingPage:
    """Every link the publisher's article pattern accepts, in page order; rel=next as the next page.

    For a publisher that declares no listing parser this is the parser, not a fallback.
    """
    return select_listing_layouts(body, url, publisher, (ListingLayout("all-links", "a[href]"),))


def parse_listing(body: str | bytes, url: str, publisher: Publisher | None = None) -> ListingPage:
    """Parse a listing page with the publisher's own listing parser, else the generic one."""
    if publisher is None:
        from pledgewatch.spiders.publisher import publisher_for_url

        publisher = publisher_for_url(url)
    parser = getattr(publisher, "listing_parser", None) if publisher is not None else None
    if parser is not None:
        return parser(body, url)
    return parse_generic_listing(body, url, publisher)
