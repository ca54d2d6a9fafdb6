"""What flows from the spiders into the pipeline: one extracted article, and canonical URLs.

Plain data and pure functions; nothing of pledgewatch is imported here, so every layer may use it.
The generic URL rules live here (w3lib's ``canonicalize_url`` for encoding, dot segments, query
order and fragments; courlan's tracker list for tracking parameters; index files, print and AMP
variants, mirror host labels); a publisher's own rules (its canonical host, page suffixes, article
id) are applied on top by :func:`pledgewatch.spiders.urls.canonicalize`, which fills
:attr:`ArticleRecord.canonical` before a record reaches the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonicalize_url

from pledgewatch.importing import submodule_alone

# courlan's pattern of tracking parameters, without the rest of courlan (pledgewatch.importing).
TRACKERS_RE: re.Pattern[str] = submodule_alone("courlan.clean").TRACKERS_RE

# Host labels that name a mobile, print or regional mirror of the same site.
VARIANT_HOST_LABELS = ("www", "m", "mobile", "wap", "global", "amp", "print")

# Query parameters that only say how or through what the page was shared or shown; courlan's
# TRACKERS_RE covers utm_*, fbclid, gclid, ref, source... these are the ones it leaves and Chinese
# sites add (WeChat/Weibo shares, Alibaba's spm) plus the print/mobile/AMP switches.
NOISE_PARAMS = frozenset(
    {
        "spm",
        "from",
        "share",
        "shareid",
        "share_token",
        "isappinstalled",
        "scene",
        "wxshare",
        "wxfrom",
        "timestamp",
        "print",
        "printable",
        "amp",
        "mobile",
        "output",
        "outputtype",
        "platform",
        "_ga",
    }
)
# Parameter values that mark a display variant whatever the parameter is called (?view=print).
VARIANT_VALUES = frozenset({"print", "printable", "amp", "mobile"})

# Path endings of directory indexes and of print/AMP variants: /a/index.html -> /a/, /post/amp/ -> /post/.
_INDEX_FILE = re.compile(r"/(?:index|default)\.(?:html?|shtml|php|aspx?)$", re.I)
_VARIANT_SUFFIX = re.compile(r"/(?:amp|print|mobile)/?$", re.I)
_VARIANT_EXTENSION = re.compile(r"[._-](?:amp|print)(\.html?)$", re.I)


@dataclass(frozen=True)
class CanonicalUrl:
    """A URL in canonical form; on a known publisher's host, its name and (for an article) the article id."""

    url: str
    publisher: str | None = None
    article_id: str | None = None

    @property
    def article_key(self) -> str | None:
        """``publisher:id``, the same on any host and under any URL variant of the article."""
        if self.publisher is None or self.article_id is None:
            return None
        return f"{self.publisher}:{self.article_id}"


def _strip_variant_labels(host: str) -> str:
    labels = host.split(".")
    while len(labels) > 2 and labels[0] in VARIANT_HOST_LABELS:
        labels = labels[1:]
    return ".".join(labels)


def _clean_query(query: str) -> str:
    kept = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        name = key.lower()
        if TRACKERS_RE.search(name) or name in NOISE_PARAMS or value.lower() in VARIANT_VALUES:
            continue
        kept.append((key, value))
    return urlencode(sorted(kept))


def _clean_path(path: str) -> str:
    path = _INDEX_FILE.sub("/", path)
    path = _VARIANT_SUFFIX.sub("/", path)
    path = _VARIANT_EXTENSION.sub(r"\1", path)
    return path or "/"


@dataclass(frozen=True)
class UrlParts:
    """A URL after the generic rules: scheme-less parts a publisher's rules continue from."""

    host: str
    port: int | None
    path: str
    query: str


def url_parts(url: str) -> UrlParts:
    """The generic rules applied to ``url``. Raises ValueError for something that is not http(s)."""
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    parts = urlsplit(w3lib_canonicalize_url(url, keep_fragments=False))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname.lower().rstrip(".")
    return UrlParts(host, parts.port, _clean_path(parts.path), _clean_query(parts.query))


def generic_canonical(url: str) -> CanonicalUrl:
    """The canonical form of a URL on no known publisher's host (mirror host labels dropped)."""
    parts = url_parts(url)
    host = _strip_variant_labels(parts.host)
    netloc = host if parts.port in {None, 80, 443} else f"{host}:{parts.port}"
    return CanonicalUrl(urlunsplit(("https", netloc, parts.path, parts.query, "")))


@dataclass
class ArticleRecord:
    """An article as extracted from one fetched page, before the store decides what it is.

    Times are timezone-aware (publishers print Beijing time; the store keeps UTC).
    """

    url: str
    source: str
    title: str
    text: str
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    modified: datetime | None = None
    # The outlet as printed when it differs from the publisher (syndication): "Xinhua".
    outlet: str | None = None
    language: str | None = None
    # rel=canonical / og:url of the page, if any: another alias of the same article.
    canonical_hint: str | None = None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The canonical forms of ``url`` and of ``canonical_hint`` with the publisher's rules applied
    # (pledgewatch.spiders.urls.identify); the store falls back to the generic rules without them.
    canonical: CanonicalUrl | None = None
    hint: CanonicalUrl | None = None
    # The article's further pages (2..N) when it is printed on several: their text is joined into
    # ``text`` and the store keeps their URLs as aliases of the one article.
    page_urls: list[str] = field(default_factory=list)
    # Which parser, layout version and fallback step produced each field (stored as JSON on the
    # article): {"parser": ..., "version": ..., "fields": {"title": "generic", ...}}.
    extraction: dict[str, Any] | None = None
