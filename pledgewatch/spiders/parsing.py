"""Turn one fetched article page into an :class:`ArticleRecord`, one small method per field.

Fundus style: :class:`ArticleParser` is the generic extractor (trafilatura for the body, page metadata,
trafilatura/htmldate as fallbacks); a publisher's parser subclasses it and overrides only the fields
that generic extraction gets wrong, usually with one CSS selector. Everything here is a plain function
of (html, url): no Scrapy, so the crawl, the ``extract`` command and ``import`` share it.

Precision over recall: a body that carries a byline, a photo caption or "Recent posts" pollutes pledge
detection and deduplication downstream, while a lost short paragraph rarely does.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urljoin

from parsel import Selector
from w3lib.encoding import html_to_unicode, http_content_type_encoding

from pledgewatch.errors import PledgewatchError
from pledgewatch.records import ArticleRecord

if TYPE_CHECKING:
    from pledgewatch.spiders.publisher import Publisher

__all__ = [
    "BEIJING",
    "ArticleParser",
    "ExtractionError",
    "clean_paragraphs",
    "decode_html",
    "extract_article",
    "is_noise",
    "parse_datetime",
    "parser_for",
    "split_authors",
]

# The three publishers print Beijing time without an offset.
BEIJING = timezone(timedelta(hours=8))


class ExtractionError(PledgewatchError):
    """The page holds no article at all (not HTML, an empty shell, an error page)."""

    exit_code = 2


# --------------------------------------------------------------------------------------------------
# Decoding


def _autodetect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:65536]).best()
    return best.encoding if best is not None else None


_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_html(body: bytes | str, content_type: str | None = None) -> tuple[str, str]:
    """Decode a page the way browsers do: BOM, then HTTP charset, then ``<meta>``, then detection.

    ``content_type`` is the HTTP Content-Type header value (or a bare charset name). A GBK page that
    declares its charset only in ``<meta http-equiv>`` decodes right; so does one with none at all.
    Returns (text, encoding).
    """
    if isinstance(body, str):
        return _CONTROL_CHARS_RE.sub("", body), "utf-8"
    header = content_type
    if header and "=" not in header and "/" not in header:
        header = f"text/html; charset={header}"
    # An HTTP header naming a charset the body cannot be is a server bug: trust <meta>/detection then.
    declared = http_content_type_encoding(header) if header else None
    if declared:
        try:
            body.decode(declared)
        except (UnicodeDecodeError, LookupError):
            header = None
    encoding, text = html_to_unicode(header, body, auto_detect_fun=_autodetect)
    # NUL and other C0 controls are never text, and lxml refuses strings that hold them.
    return _CONTROL_CHARS_RE.sub("", text), encoding


# --------------------------------------------------------------------------------------------------
# Dates


_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")


def parse_datetime(value: str | None, tz: timezone = BEIJING) -> datetime | None:
    """A timezone-aware datetime from what a page prints, or None.

    Strings without an offset are the publisher's local time (``tz``, Beijing by default): "Apr 8,
    2020", "09:07, April 30, 2020", "2020-04-09 09:25", ISO 8601, RFC 822 all work. A date without a
    time means midnight local time.
    """
    if not value:
        return None
    text = " ".join(value.replace("\u00a0", " ").split()).strip(" |,")
    if not text:
        return None
    parsed: datetime | None = None
    if _ISO_RE.match(text):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        import dateparser

        offset = tz.utcoffset(None)
        hours, minutes = divmod(int(offset.total_seconds()) // 60, 60)
        settings = {
            "TIMEZONE": f"{'+' if offset >= timedelta(0) else '-'}{abs(hours):02d}{minutes:02d}",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DAY_OF_MONTH": "first",
            "STRICT_PARSING": False,
        }
        try:
            parsed = dateparser.parse(text, languages=["en", "zh"], settings=settings)
        except (ValueError, OverflowError):  # pragma: no cover - dateparser raises on absurd input
            parsed = None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    elif parsed.utcoffset() == tz.utcoffset(None):
        parsed = parsed.astimezone(tz)
    return parsed


# --------------------------------------------------------------------------------------------------
# Authors


_BY_RE = re.compile(r"^\s*(?:[-–—•·]\s*)?(?:written\s+)?by[:\s]+", re.I)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_AUTHOR_SPLIT_RE = re.compile(r"\s*(?:,|;|&|\band\b|\|)\s*", re.I)
_NOT_A_NAME = re.compile(
    r"^(?:staff(?: reporter| writer)?s?|reporters?|correspondents?|updated|web editor|editors?|agencies|"
    r"afp|reuters|ap|.*\b(?:daily|edition|news|times|agency|press|online|post|xinhua|media|"
    r"network|blog|bureau|group|inc|ltd)\b.*)$",
    re.I,
)


def _name_case(name: str) -> str:
    """ "FAN FEIFEI" -> "Fan Feifei"; mixed-case names ("Kelly Dawson", "McDonald") stay as printed."""
    if name.isupper() or name.islower():
        return name.title()
    return name


def split_authors(text: str | Iterable[str] | None) -> list[str]:
    """Author names from a byline: "by Tracy Yang and Rachel Liu" -> ["Tracy Yang", "Rachel Liu"].

    Drops the "By", e-mail addresses, a trailing "(People's Daily Overseas Edition)", the "| China
    Daily | Updated: ..." tail, and outlet names that are not people; title-cases ALL-CAPS names.
    """
    if text is None:
        return []
    if not isinstance(text, str):
        names: list[str] = []
        for item in text:
            for name in split_authors(item):
                if name not in names:
                    names.append(name)
        return names
    value = _EMAIL_RE.sub(" ", text)
    value = value.split("|")[0]
    value = re.sub(r"\([^)]*\)", " ", value)
    value = _BY_RE.sub("", " ".join(value.split()))
    # "By Li Jiabao, People's Daily Overseas Edition": the outlet after a comma is not a person.
    names = []
    for part in _AUTHOR_SPLIT_RE.split(value):
        # "MENG JING in Beijing": the dateline place is not part of the name.
        part = re.sub(r"\s+in\s+[A-Z].*$", "", part, flags=re.I).strip(" .:-–—")
        if not part or _NOT_A_NAME.match(part) or re.search(r"\d", part):
            continue
        if len(part.split()) > 5:  # a sentence, not a name
            continue
        name = _name_case(part)
        if name not in names:
            names.append(name)
    return names


# --------------------------------------------------------------------------------------------------
# Body cleaning


# Paragraphs that are page furniture wherever they appear (compare with the seed texts).
_FURNITURE = {
    "recent posts",
    "topics",
    "trusted by top global brands",
    "discover jd.com brand partners",
    "newspapers in english",
    "newspapers from hong kong",
    "related stories",
    "related news",
    "share",
    "share this",
    "share this article",
    "leave a reply",
    "leave a comment",
    "read more",
    "most popular",
    "most viewed",
    "editor's pick",
    "editor's picks",
    "english news",
}
_EMAILS_ONLY_RE = re.compile(r"^[(\[]?\s*(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+[\s;,/]*)+[)\]]?$")
_TRAILING_EMAIL_RE = re.compile(r"\s*[(\[]?[\w.+-]+@[\w-]+(?:\.[\w-]+)+[)\]]?$")
_WEB_EDITOR_RE = re.compile(r"^\(?\s*web editor\s*:.*\)?$", re.I)
_CAPTION_RE = re.compile(r"\?\?.*\?\?")
_DATE_LINE_RE = re.compile(
    r"^(?:date\s*)?(?:[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}|\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?)\s*\|?$"
)
# "By FAN FEIFEI | China Daily | Updated: 2020-04-09 09:25", "by Tracy Yang and Rachel Liu",
# "- By FAN FEIFEI fanfeifei@chinadaily.com.cn": short lines that only name people.
_BYLINE_RE = re.compile(r"^(?:[-–—•]\s*)?by\s+[A-Z][^.!?]{0,120}$", re.I)
_UPDATED_RE = re.compile(r"\|\s*Updated:", re.I)
# Photo credits: "ZHANG NAN / XINHUA Villagers from ...", "... a warehouse. Wang Zhao / AFP |",
# China Daily's "[Photo/VCG]", "[Photo by Zou Hong/China Daily]".
_CREDIT_START_RE = re.compile(r"^[A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+)* / [A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)*\b")
_CREDIT_END_RE = re.compile(
    r"\b[A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3} / (?:AFP|XINHUA|Xinhua|REUTERS|Reuters|AP|VCG|IC|"
    r"CHINA DAILY|China Daily|for China Daily)\s*\|?$"
)
_PHOTO_TAG_RE = re.compile(r"\[(?:Photo|Photos|Video)(?:/| by )[^\]]*\]", re.I)
_SHARE_RE = re.compile(r"^(?:share (?:on|to|via)\b|follow us\b|copyright\b|©)", re.I)


def is_noise(paragraph: str) -> bool:
    """True for a paragraph that is furniture, a byline, an e-mail line or a caption, not body text."""
    text = paragraph.strip().lstrip("•·▪◦*").strip()
    if not text:
        return True
    low = text.lower().rstrip(":")
    if low in _FURNITURE:
        return True
    if _EMAILS_ONLY_RE.match(text) or _WEB_EDITOR_RE.match(text) or _CAPTION_RE.search(text):
        return True
    if _DATE_LINE_RE.match(text) or _UPDATED_RE.search(text) or _SHARE_RE.match(text):
        return True
    if _CREDIT_START_RE.match(text) or _CREDIT_END_RE.search(text) or _PHOTO_TAG_RE.search(text):
        return True
    return bool(
        _BYLINE_RE.match(text) and (len(text) < 90 or _EMAIL_RE.search(text)) and text[-1] not in '.!?”"'
    )


def normalise_space(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u3000", " ").split())


def clean_paragraphs(paragraphs: Iterable[str]) -> list[str]:
    """Whitespace-normalised paragraphs without furniture, bylines, e-mail lines and captions."""
    cleaned: list[str] = []
    for paragraph in paragraphs:
        # A trailing e-mail address glued to a byline or the last sentence ("... said. xy@chinadaily.com.cn").
        text = _TRAILING_EMAIL_RE.sub("", normalise_space(paragraph))
        if not text or is_noise(text):
            continue
        if cleaned and cleaned[-1] == text:
            continue
        cleaned.append(text)
    return cleaned


# --------------------------------------------------------------------------------------------------
# The parser


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


class ArticleParser:
    """Generic article extraction; subclass and override single fields for a publisher.

    Subclasses usually only set ``body_selector`` (the element whose paragraphs are the article) and
    ``body_exclude`` (its parts that are not: captions, share blocks), and override the one or two
    field methods their pages need. Every method returns what it can find and never raises on
    malformed markup; only :meth:`record` raises :class:`ExtractionError`, when there is no text.
    """

    #: CSS selector of the element holding the article's paragraphs (None: trafilatura decides).
    body_selector: ClassVar[str | None] = None
    #: Descendants of the body element that are not body text.
    body_exclude: ClassVar[str] = (
        "figure, figcaption, script, style, noscript, iframe, form, "
        "[class*=share], [class*=caption], .related, .editor"
    )
    #: Block elements whose text makes up the body inside ``body_selector``.
    body_blocks: ClassVar[str] = "p, h2, h3, h4, li, blockquote"

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

    # ---- helpers for subclasses -----------------------------------------------------------------

    @cached_property
    def selector(self) -> Selector:
        # lxml refuses str input that carries an XML encoding declaration.
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", self.html)
        return Selector(text=text or "<html></html>", type="html")

    def is_html(self) -> bool:
        return bool(_HTML_SNIFF_RE.search(self.html[:20000]))

    def meta(self, *names: str) -> str | None:
        """The first non-empty ``<meta name|property|itemprop=...>`` content among ``names``."""
        for name in names:
            for attr in ("name", "property", "itemprop", "http-equiv"):
                values = self.selector.xpath(
                    f"//meta[translate(@{attr},'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')"
                    f"='{name.lower()}']/@content"
                ).getall()
                for value in values:
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
        """The cleaned paragraphs inside the first element matching ``css``."""
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
        return clean_paragraphs(blocks)

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

    def _strip_site_name(self, title: str) -> str:
        names = [self.meta("og:site_name")]
        if self.publisher is not None:
            names += [self.publisher.title, self.publisher.outlet]
        for name in filter(None, names):
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
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed
        parsed = parse_datetime(self.selector.css("time::attr(datetime)").get())
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
        return parse_datetime(found) if found else None

    def modified(self) -> datetime | None:
        return parse_datetime(
            self.meta("article:modified_time", "og:updated_time", "dateModified", "lastmod")
        )

    def outlet(self) -> str | None:
        """The outlet as printed (a syndicated story names its origin); else the publisher's own."""
        value = self.meta("source", "article:publisher", "og:site_name")
        if value and not value.startswith("http"):
            return value
        return self.publisher.outlet if self.publisher is not None else None

    def body(self) -> str:
        if self.body_selector:
            paragraphs = self.paragraphs_of(self.body_selector)
            if paragraphs:
                return "\n\n".join(paragraphs)
        text = getattr(self._trafilatura, "text", None)
        if not text:
            return ""
        paragraphs = clean_paragraphs(text.split("\n"))
        # trafilatura keeps an <h1> inside <article>: the headline is the title field, not body text.
        if paragraphs and paragraphs[0] == self.title():
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

    def record(self, source: str | None = None) -> ArticleRecord:
        """All fields as one record; ``source`` defaults to the publisher the URL belongs to."""
        if not self.is_html():
            raise ExtractionError(f"{self.url}: not an HTML page")
        text = self.body()
        if not text:
            raise ExtractionError(f"{self.url}: no article text found")
        if source is None and self.publisher is not None:
            source = self.publisher.name
        from pledgewatch.spiders.urls import identify

        return identify(
            ArticleRecord(
                url=self.url,
                source=source or "",
                title=self.title(),
                text=text,
                authors=self.authors(),
                published=self.published(),
                modified=self.modified(),
                outlet=self.outlet(),
                language=self.language(),
                canonical_hint=self.canonical_url(),
            )
        )



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
        # Plain dicts, http.client/warcio headers and Scrapy's Headers (bytes, list values) all work.
        for key, value in headers.items():
            name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
            if name.lower() == "content-type":
                if isinstance(value, list):
                    value = value[0] if value else None
                encoding = value.decode("latin-1") if isinstance(value, bytes) else value
                break
    if publisher is None:
        from pledgewatch.spiders.publisher import publisher_for_url

        publisher = publisher_for_url(url)
    parser = parser_for(url, publisher)(html, url, encoding=encoding, publisher=publisher)
    return parser.record(source)
