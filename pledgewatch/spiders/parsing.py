"""Turn one fetched article page into an :class:`ArticleRecord`, one small method per field.

Fundus style: :class:`ArticleParser` is the generic extractor (trafilatura for the body, page metadata,
trafilatura/htmldate as fallbacks); a publisher's parser subclasses it and overrides only the fields
that generic extraction gets wrong, usually with one CSS selector. Everything here is a plain function
of (html, url): no Scrapy, so the crawl, the ``extract`` command and ``import`` share it.

Precision over recall: a body that carries a byline, a photo caption or "Recent posts" pollutes pledge
detection and deduplication downstream, while a lost short paragraph rarely does.

One concept, the article parser: it is over 700 lines because :class:`ArticleParser` holds one
method per field with its chain of layout versions and fallbacks, and the sanity checks that decide
when a field failed; the small field helpers are in :mod:`pledgewatch.spiders.fields`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urljoin

from parsel import Selector

from pledgewatch.errors import PledgewatchError
from pledgewatch.records import ArticleRecord
from pledgewatch.spiders.fields import (
    BEIJING,
    clean_paragraphs,
    decode_html,
    is_noise,
    normalise_space,
    parse_datetime,
    split_authors,
)

if TYPE_CHECKING:
    from pledgewatch.spiders.publisher import Publisher

# The framework a publisher module builds on, the field helpers of spiders.fields included: a
# publisher module imports everything it needs from here.
__all__ = [
    "BEIJING",
    "ArticleParser",
    "ExtractionError",
    "Layout",
    "NotAnArticle",
    "clean_paragraphs",
    "decode_html",
    "extract_article",
    "is_noise",
    "join_pages",
    "normalise_space",
    "page_text",
    "parse_datetime",
    "parser_for",
    "split_authors",
]


T = TypeVar("T")


class ExtractionError(PledgewatchError):
    """The page holds no article at all (not HTML, an empty shell, an error page)."""

    exit_code = 2


class NotAnArticle(ExtractionError):
    """The page is HTML but not an article: a listing, a home page, a page whose fields all failed.

    Raised instead of returning a record whose "text" is a footer line or a list of headlines.
    """


# --------------------------------------------------------------------------------------------------
# The parser


#: The attributes a ``<meta>`` is named by, in the order :meth:`ArticleParser.meta` tries them.
_META_ATTRIBUTES = ("name", "property", "itemprop", "http-equiv")
# Meta names compare ignoring the case of ASCII letters only (XPath's translate() did the same).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_HTML_SNIFF_RE = re.compile(r"<\s*(?:!doctype\s+html|html|head|body|title|p|div|article|h1|meta)\b", re.I)


def _class_token_xpath(*names: str) -> str:
    """Elements with a class token that is ``name`` or starts with ``name-``/``name_``.

    Token matching, not substring: "editor" must not prune an "editorial" article container, nor
    "comment" a "commentary" one.
    """
    tests = []
    for name in names:
        tests += [
            f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')",
            f"contains(concat(' ', normalize-space(@class)), ' {name}-')",
            f"contains(concat(' ', normalize-space(@class)), ' {name}_')",
        ]
    return f"//*[{' or '.join(tests)}]"


# Page parts trafilatura should never see: captions, share widgets, sidebars, comment forms, bylines.
_PRUNE_XPATH = [
    "//figcaption",
    "//aside",
    "//nav",
    "//footer",
    "//form",
    "//*[contains(@class,'caption') or contains(@class,'sharing') or contains(@class,'sidebar')]",
    _class_token_xpath(
        "share",
        "social",
        "related",
        "comment",
        "comments",
        "editor",
        "post-meta",
        "entry-meta",
        "author",
        "post-author",
        "byline",
        "info",
        "origin",
        "tags",
        "newsletter",
    ),
]


@dataclass(frozen=True)
class Layout:
    """One layout version of a publisher's article pages (Fundus calls them parser versions).

    Sites redesign: a parser may know several layouts, tried in order. A layout applies when its
    ``marker`` (CSS) matches the page and the URL's date (if any) falls within ``since``/``until``;
    the first that applies is the page's layout, and its name is recorded with the article (column
    ``extraction``), so a redesign shows up in the data instead of as silent generic fallback.

    ``selectors`` maps a field name to an ordered chain of selectors, each tried before the next and
    all before the generic extractor. For ``body`` a selector names the element holding the
    paragraphs; one starting with ``xpath:`` selects the paragraphs themselves.
    """

    name: str
    marker: str | None = None
    since: date | None = None
    until: date | None = None
    selectors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def applies(self, parser: ArticleParser, url_date: date | None) -> bool:
        if self.marker and not parser.selector.css(self.marker):
            return False
        if url_date is not None:
            if self.since is not None and url_date < self.since:
                return False
            if self.until is not None and url_date > self.until:
                return False
        return True


#: The layout of a page no declared layout matched (or of a parser that declares none).
GENERIC_LAYOUT = Layout("generic")

#: Without a publisher's own threshold, a page with less text than this is no article to
#: ``pledgewatch extract`` (a listing's or home page's stray footer line).
GENERIC_MIN_BODY_CHARS = 150

#: Fields recorded in ``extraction["fields"]``, in the order record() reads them.
FIELDS = ("title", "authors", "published", "modified", "outlet", "body")


class ArticleParser:
    """Generic article extraction; subclass and override single fields for a publisher.

    Subclasses declare their ``layouts`` (selector chains per field) and override the field methods
    that need more than a selector (a byline to split, a date to read out of a line); each field
    goes through :meth:`chain`, which records which step produced it. Every method returns what it
    can find and never raises on malformed markup; only :meth:`record` raises
    :class:`ExtractionError`, when the page holds no article.
    """

    #: CSS selector of the element holding the article's paragraphs (None: trafilatura decides).
    body_selector: ClassVar[str | None] = None
    #: Descendants of the body element that are not body text.
    body_exclude: ClassVar[str] = (
        "figure, figcaption, script, style, noscript, iframe, form, "
        "[class*=share], [class*=caption], .related, .editor, [style*='display: none'], "
        "[style*='display:none']"
    )
    #: Block elements whose text makes up the body inside ``body_selector``.
    body_blocks: ClassVar[str] = "p, h2, h3, h4, li, blockquote"
    #: The layout versions this parser knows, most recent first (empty: generic only).
    layouts: ClassVar[tuple[Layout, ...]] = ()

    def __init__(
        self,
        html: str | bytes,
        url: str,
        *,
        encoding: str | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self.url = url
        self.html, self.encoding = decode_html(html, encoding)
        if publisher is None:
            from pledgewatch.spiders.publisher import publisher_for_url

            publisher = publisher_for_url(url)
        self.publisher = publisher
        #: field -> the step that produced it ("<layout>#<n>", "generic", "url_date", "failed", ...).
        self.provenance: dict[str, str] = {}
        self._values: dict[str, Any] = {}

    # ---- publisher data -------------------------------------------------------------------------

    @property
    def tz(self) -> tzinfo:
        """The time zone of times printed without an offset: the publisher's, else UTC."""
        return self.publisher.timezone if self.publisher is not None else UTC

    @property
    def furniture(self) -> re.Pattern[str] | None:
        return self.publisher.furniture_re if self.publisher is not None else None

    def date(self, value: str | None) -> datetime | None:
        """:func:`parse_datetime` in the publisher's time zone."""
        return parse_datetime(value, self.tz)

    @cached_property
    def url_date(self) -> date | None:
        return self.publisher.date_in_url(self.url) if self.publisher is not None else None

    @cached_property
    def layout(self) -> Layout:
        """The first declared layout that applies to this page, else :data:`GENERIC_LAYOUT`."""
        for layout in self.layouts:
            if layout.applies(self, self.url_date):
                return layout
        return GENERIC_LAYOUT

    # ---- field chains ---------------------------------------------------------------------------

    def chain(self, name: str, *steps: tuple[str, Callable[[], T]]) -> T:
        """The first non-empty result of ``steps`` (label, function), recording which one it was.

        When every step comes back empty the field is recorded as ``failed`` and the last (empty)
        result is returned. A step may record a more precise label itself (nested chains).
        """
        result: Any = None
        for label, step in steps:
            before = self.provenance.get(name)
            result = step()
            if result:
                if self.provenance.get(name) == before:
                    self.provenance[name] = label
                return result  # type: ignore[no-any-return]
        self.provenance[name] = "failed"
        return result  # type: ignore[no-any-return]

    def layout_steps(self, name: str, read: Callable[[str], T]) -> list[tuple[str, Callable[[], T]]]:
        """One chain step per selector the page's layout declares for ``name``.

        A step is labelled ``<layout>#<n>``: the n-th selector of that layout version, so ``#2``
        and up are fallbacks inside the layout, and the layout's selectors can be looked up.
        """
        return [
            (f"{self.layout.name}#{number}", lambda css=css: read(css))  # type: ignore[misc]
            for number, css in enumerate(self.layout.selectors.get(name, ()), start=1)
        ]

    def field(self, name: str) -> Any:
        """A field's value, computed once (fields read each other: body drops the title)."""
        if name not in self._values:
            value = getattr(self, name)()
            self.provenance.setdefault(name, "generic" if value else "failed")
            self._values[name] = value
        return self._values[name]

    # ---- helpers for subclasses -----------------------------------------------------------------

    @cached_property
    def selector(self) -> Selector:
        # lxml refuses str input that carries an XML encoding declaration.
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", self.html)
        return Selector(text=text or "<html></html>", type="html")

    def is_html(self) -> bool:
        return bool(_HTML_SNIFF_RE.search(self.html[:20000]))

    @cached_property
    def _meta_contents(self) -> dict[tuple[str, str], list[str]]:
        """Every ``<meta>`` content by (attribute, its value in ASCII lower case), in page order.

        Built in one walk of the page: the fields ask :meth:`meta` for some twenty names under four
        attributes each, which as one XPath query per name and attribute was a fifth of the parse.
        """
        contents: dict[tuple[str, str], list[str]] = {}
        for element in self.selector.root.getroottree().iter("meta"):
            content = element.get("content")
            if content is None:
                continue
            for attr in _META_ATTRIBUTES:
                value = element.get(attr)
                if value is not None:
                    contents.setdefault((attr, value.translate(_ASCII_LOWER)), []).append(content)
        return contents

    def meta(self, *names: str) -> str | None:
        """The first non-empty ``<meta name|property|itemprop=...>`` content among ``names``.

        Names compare ignoring ASCII case; ``names`` are tried in order, and for each the
        attributes in :data:`_META_ATTRIBUTES` order, then the page's order.
        """
        contents = self._meta_contents
        for name in names:
            for attr in _META_ATTRIBUTES:
                for value in contents.get((attr, name.translate(_ASCII_LOWER)), ()):
                    value = normalise_space(value)
                    if value:
                        return value
        return None

    def text_of(self, css: str) -> str | None:
        """The whitespace-normalised text of the first element matching ``css`` (None when empty)."""
        for element in self.selector.css(css):
            value = normalise_space(" ".join(element.css("::text").getall()))
            if value:
                return value
        return None

    def paragraphs_of(self, css: str) -> list[str]:
        """The cleaned paragraphs inside the first element matching ``css``.

        ``xpath:EXPR`` selects the paragraph elements themselves (People's Daily: the ``<p>``
        directly inside its article container, between the origin line and the share bar).
        """
        if css.startswith("xpath:"):
            blocks = [" ".join(node.xpath(".//text()").getall()) for node in self.selector.xpath(css[6:])]
            return clean_paragraphs(blocks, self.furniture)
        containers = self.selector.css(css)
        if not containers:
            return []
        # Work on a copy: dropping captions and share blocks must not change the page for other fields.
        container = Selector(root=copy.deepcopy(containers[0].root), type="html")
        if self.body_exclude:
            for element in reversed(container.css(self.body_exclude)):
                element.root.drop_tree()
        blocks = []
        for block in container.css(self.body_blocks):
            if len(block.css(self.body_blocks)) > 1:  # a <li>/<blockquote> holding <p>s: take those
                continue
            blocks.append(" ".join(block.css("::text").getall()))
        if not blocks:
            # Text directly in the container, paragraphs separated by <br>.
            blocks = container.xpath(".//text()").getall()
        return clean_paragraphs(blocks, self.furniture)

    @cached_property
    def _trafilatura(self):  # type: ignore[no-untyped-def]
        import trafilatura

        try:
            return trafilatura.bare_extraction(
                self.html,
                url=self.url,
                favor_precision=True,
                include_comments=False,
                include_tables=False,
                include_images=False,
                include_links=False,
                with_metadata=True,
                prune_xpath=_PRUNE_XPATH,
            )
        except Exception:  # trafilatura raises assorted errors on pathological markup
            return None

    def _traf(self, field: str) -> str | None:
        document = self._trafilatura
        value = getattr(document, field, None) if document is not None else None
        return normalise_space(value) if isinstance(value, str) and value.strip() else None

    # ---- fields ---------------------------------------------------------------------------------

    def title(self) -> str:
        for candidate in (
            self.meta("og:title", "twitter:title"),
            self.text_of("article h1, h1.entry-title, main h1"),
            self._traf("title"),
            self.text_of("h1"),
            self.text_of("title"),
        ):
            if candidate:
                return self._strip_site_name(candidate)
        return ""

    def site_names(self) -> list[str]:
        """What the site calls itself: a title that is only this is no article's headline."""
        names = [self.meta("og:site_name")]
        if self.publisher is not None:
            names += [self.publisher.title, self.publisher.outlet]
        return [name for name in names if name]

    def _strip_site_name(self, title: str) -> str:
        for name in self.site_names():
            for sep in (" - ", " | ", " – ", " — "):
                if title.endswith(sep + name):
                    return title[: -len(sep + name)].strip()
        return title

    def authors(self) -> list[str]:
        for candidate in (self.meta("author", "article:author", "dc.creator"), self._traf("author")):
            names = split_authors(candidate)
            if names:
                return names
        return []

    def published(self) -> datetime | None:
        value = self.meta(
            "article:published_time",
            "og:article:published_time",
            "publishdate",
            "pubdate",
            "datePublished",
            "dc.date",
            "date",
        )
        parsed = self.date(value)
        if parsed is not None:
            return parsed
        parsed = self.date(self.selector.css("time::attr(datetime)").get())
        if parsed is not None:
            return parsed
        return self._htmldate(original=True)

    def _htmldate(self, original: bool) -> datetime | None:
        from htmldate import find_date

        try:
            found = find_date(
                self.html,
                url=self.url,
                original_date=original,
                extensive_search=True,
                outputformat="%Y-%m-%dT%H:%M:%S",
            )
        except Exception:  # htmldate is best effort; a crash there must not lose the article
            return None
        return self.date(found) if found else None

    def modified(self) -> datetime | None:
        return self.date(self.meta("article:modified_time", "og:updated_time", "dateModified", "lastmod"))

    def outlet(self) -> str | None:
        """The outlet as printed (a syndicated story names its origin); else the publisher's own."""
        value = self.meta("source", "article:publisher", "og:site_name")
        if value and not value.startswith("http"):
            return value
        return self.publisher.outlet if self.publisher is not None else None

    def body(self) -> str:
        steps: list[tuple[str, Callable[[], str]]] = self.layout_steps(
            "body", lambda css: "\n\n".join(self.paragraphs_of(css))
        )
        if self.body_selector:
            selector = self.body_selector
            steps.append(("body_selector", lambda: "\n\n".join(self.paragraphs_of(selector))))
        steps.append(("generic", self._generic_body))
        return self.chain("body", *steps)

    def _generic_body(self) -> str:
        text = getattr(self._trafilatura, "text", None)
        if not text:
            return ""
        paragraphs = clean_paragraphs(text.split("\n"), self.furniture)
        # trafilatura keeps an <h1> inside <article>: the headline is the title field, not body text.
        if paragraphs and paragraphs[0] == self.field("title"):
            paragraphs = paragraphs[1:]
        return "\n\n".join(paragraphs)

    def language(self) -> str | None:
        lang = self.selector.xpath("/html/@lang | //html/@lang").get() or self.meta(
            "content-language", "language"
        )
        if lang:
            return lang.strip().split("-")[0].split("_")[0].lower() or None
        if self.publisher is not None:
            return self.publisher.language
        return self._traf("language")

    def canonical_url(self) -> str | None:
        href = self.selector.xpath(
            "//link[translate(@rel,'CANONICAL','canonical')='canonical']/@href"
        ).get() or self.meta("og:url")
        if not href or not href.strip():
            return None
        try:
            return urljoin(self.url, href.strip())
        except ValueError:  # a garbled href ("http://[x/") is no canonical URL
            return None

    def page_urls(self) -> list[str]:
        """The URLs of this article's further pages (2..N) as its pager links them, in order.

        Empty for a one-page article and on any page but the first (page 1 gathers the others).
        A publisher parser with multi-page articles overrides :meth:`pager_links`.
        """
        if self.publisher is None or self.publisher.page_number(self.url) != 1:
            return []
        from pledgewatch.spiders.urls import canonical_or_none

        own = canonical_or_none(self.url)
        urls: list[str] = []
        for href in self.pager_links():
            absolute = urljoin(self.url, href).split("#")[0]
            other = canonical_or_none(absolute)
            if own is None or other is None or other.url != own.url:
                continue  # a pager link to another article is no page of this one
            if self.publisher.page_number(absolute) > 1 and absolute not in urls:
                urls.append(absolute)
        return urls

    def pager_links(self) -> list[str]:
        """The hrefs of the article's own pager (none: a one-page article)."""
        return []

    # ---- sanity checks --------------------------------------------------------------------------

    def checked_published(self) -> datetime | None:
        """The published field, unless it is implausible: then the URL's date (a fallback).

        A printed date more than ``max_date_drift`` away from the date in the URL, in the future,
        or before the site existed is wrong (a Buddhist-era "2569-05-17" for an article whose URL
        says 2026-05-17, a CMS default of 1970): the URL's date, midnight local time, replaces it
        and the field is recorded as ``url_date``. Without a date in the URL an implausible date
        is dropped (``failed``): the crawl then keeps the date the listing printed.
        """
        published = self.field("published")
        url_day = self.url_date
        if published is None:
            if url_day is not None:
                self.provenance["published"] = "url_date"
                return datetime.combine(url_day, time(0), self.tz)
            return None
        if self._plausible(published, url_day):
            return published
        if url_day is not None:
            self.provenance["published"] = "url_date"
            return datetime.combine(url_day, time(0), self.tz)
        self.provenance["published"] = "failed"
        return None

    def _plausible(self, when: datetime, url_day: date | None) -> bool:
        aware = when if when.tzinfo is not None else when.replace(tzinfo=self.tz)
        if aware > datetime.now(UTC) + timedelta(days=1):
            return False
        founded = self.publisher.founded if self.publisher is not None else None
        if founded is not None and aware.astimezone(self.tz).date() < founded:
            return False
        if url_day is not None and self.publisher is not None:
            drift = abs(aware.astimezone(self.tz).date() - url_day)
            if drift > self.publisher.max_date_drift:
                return False
        return True

    def checked_title(self) -> str:
        """The title, or "" (``failed``) when it is only the site's name: a home page, not a headline."""
        title = self.field("title")
        names = {normalise_space(n).casefold() for n in self.site_names()}
        if self.publisher is not None:
            names.add(self.publisher.name.casefold())
            names.add(self.publisher.domain.casefold())
        if title and normalise_space(title).casefold() in names:
            self.provenance["title"] = "failed"
            return ""
        return title

    def checked_body(self) -> str:
        """The body, or "" (``failed``) when shorter than the publisher's ``min_body_chars``."""
        text = self.field("body")
        minimum = self.publisher.min_body_chars if self.publisher is not None else 1
        if text and len(text) < minimum:
            self.provenance["body"] = "failed"
            return ""
        return text

    @property
    def extraction(self) -> dict[str, Any]:
        """Which parser and layout version produced the fields, and which step each field came from.

        Stored with the article (``articles.extraction``): a layout change shows up as fields that
        suddenly come from ``generic``, ``url_date`` or ``failed``.
        """
        parser = type(self).__name__
        return {
            "parser": parser,
            "version": self.layout.name,
            "fields": {name: self.provenance.get(name, "failed") for name in FIELDS},
        }

    def not_an_article_reason(self) -> str | None:
        """Why this page is no article (None: it is one). Reads the fields, with their checks."""
        if not self.is_html():
            return "not an HTML page"
        if self.publisher is not None and self.publisher.article_id(self.url) is None:
            return f"not an article page: {self.url} is no article URL of {self.publisher.title}"
        text = self.checked_body()
        minimum = self.publisher.min_body_chars if self.publisher is not None else GENERIC_MIN_BODY_CHARS
        if not text and not self.field("body"):
            return "not an article page: no article text found"
        if not text or len(text) < minimum:
            return (
                f"not an article page (a listing or a home page?): {len(self.field('body'))} characters "
                f"of text, fewer than {minimum}"
            )
        if not self.checked_title() and self.field("title"):
            return f"not an article page: its title is the site's name ({self.field('title')!r})"
        return None

    def record(self, source: str | None = None) -> ArticleRecord:
        """All fields as one record; ``source`` defaults to the publisher the URL belongs to.

        Raises :class:`ExtractionError` for a page that is not HTML or holds no text, and
        :class:`NotAnArticle` for one whose title is the site's name or whose text is too short.
        """
        if not self.is_html():
            raise ExtractionError(f"{self.url}: not an HTML page")
        text = self.checked_body()
        if not text:
            if self.field("body"):
                raise NotAnArticle(
                    f"{self.url}: not an article ({len(self.field('body'))} characters of text, "
                    f"fewer than {self.publisher.min_body_chars if self.publisher else 1})"
                )
            raise ExtractionError(f"{self.url}: no article text found")
        title = self.checked_title()
        if not title and self.field("title"):
            raise NotAnArticle(f"{self.url}: not an article (its title is the site's name)")
        if source is None and self.publisher is not None:
            source = self.publisher.name
        from pledgewatch.spiders.urls import identify

        published = self.checked_published()
        return identify(
            ArticleRecord(
                url=self.url,
                source=source or "",
                title=title,
                text=text,
                authors=self.field("authors"),
                published=published,
                modified=self.field("modified"),
                outlet=self.field("outlet"),
                language=self.language(),
                canonical_hint=self.canonical_url(),
                page_urls=self.page_urls(),
                extraction=self.extraction,
            )
        )



def _content_type(headers: Mapping[Any, Any]) -> str | None:
    # Plain dicts, http.client/warcio headers and Scrapy's Headers (bytes, list values) all work.
    for key, value in headers.items():
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if name.lower() == "content-type":
            if isinstance(value, list):
                value = value[0] if value else None
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


def parser_for(url: str, publisher: Publisher | None = None) -> type[ArticleParser]:
    """The parser class for a URL: its publisher's, else the generic one."""
    if publisher is None:
        from pledgewatch.spiders.publisher import publisher_for_url

        publisher = publisher_for_url(url)
    parser = getattr(publisher, "parser", None) if publisher is not None else None
    return parser or ArticleParser


def extract_article(
    html: str | bytes,
    url: str,
    *,
    headers: Mapping[Any, Any] | None = None,
    encoding: str | None = None,
    publisher: Publisher | None = None,
    source: str | None = None,
) -> ArticleRecord:
    """One call for crawl, import and the CLI: the right parser for the URL, then its record.

    ``headers`` (HTTP response headers) supplies the Content-Type charset unless ``encoding`` does.
    """
    if encoding is None and headers:
        encoding = _content_type(headers)
    if publisher is None:
        from pledgewatch.spiders.publisher import publisher_for_url

        publisher = publisher_for_url(url)
    parser = parser_for(url, publisher)(html, url, encoding=encoding, publisher=publisher)
    return parser.record(source)


def page_text(
    html: str | bytes,
    url: str,
    *,
    headers: Mapping[Any, Any] | None = None,
    encoding: str | None = None,
    publisher: Publisher | None = None,
) -> str:
    """The body text of one continuation page (2..N) of a multi-page article ("" if none).

    No length threshold and no title check: the last page of an article may be one paragraph.
    """
    if encoding is None and headers:
        encoding = _content_type(headers)
    if publisher is None:
        from pledgewatch.spiders.publisher import publisher_for_url

        publisher = publisher_for_url(url)
    parser = parser_for(url, publisher)(html, url, encoding=encoding, publisher=publisher)
    return parser.field("body") if parser.is_html() else ""


def join_pages(record: ArticleRecord, pages: Iterable[tuple[str, str]]) -> ArticleRecord:
    """``record`` (page 1) with the text of its further pages appended: one article, one text.

    ``pages`` are (url, text) in page order; the URLs of the pages actually read stay on the
    record (``page_urls``) so the store keeps them as aliases. A paragraph repeated at a page
    boundary (a CMS that reprints the last one) is kept once.
    """
    paragraphs = record.text.split("\n\n")
    urls: list[str] = []
    for url, text in pages:
        urls.append(url)
        for paragraph in text.split("\n\n") if text else []:
            if paragraph and paragraph != paragraphs[-1]:
                paragraphs.append(paragraph)
    record.text = "\n\n".join(paragraphs)
    record.page_urls = urls
    return record
