"""One canonical URL per article, whatever variant of it a feed, listing or share button links to.

The same article reaches the crawler as ``http://`` and ``https://``, on ``www.``, ``m.`` and
``global.`` hosts, with ``utm_*`` and share parameters, with fragments, as ``.../index.html``, as a
print or AMP version, and (on China Daily and People's Daily) on several hosts of the publisher.
Fetching or storing each variant as its own article would put the same story in the digest twice,
so every URL is reduced to one canonical form before the archive is asked about it.

Generic rules come from the libraries made for them (w3lib's ``canonicalize_url`` for encoding,
dot segments, query order and fragments; courlan's tracker list for tracking parameters); the
publisher-specific knowledge (canonical host, page and print suffixes, the article id) is data on
the :class:`~pledgewatch.spiders.publisher.Publisher` declarations. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan.clean import TRACKERS_RE
from w3lib.url import canonicalize_url as w3lib_canonicalize_url

from pledgewatch.spiders.publisher import Publisher, publisher_for_url

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


def canonicalize(url: str) -> CanonicalUrl:
    """The canonical form of ``url`` and, for a known publisher's article, its article id.

    Raises ValueError for something that is not an http(s) URL.
    """
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    parts = urlsplit(w3lib_canonicalize_url(url, keep_fragments=False))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname.lower().rstrip(".")
    port = parts.port
    netloc = host if port in {None, 80, 443} else f"{host}:{port}"
    path = _clean_path(parts.path)
    query = _clean_query(parts.query)

    publisher = publisher_for_url(f"https://{host}/")
    if publisher is None:
        generic_host = _strip_variant_labels(host)
        netloc = generic_host if port in {None, 80, 443} else f"{generic_host}:{port}"
        return CanonicalUrl(urlunsplit(("https", netloc, path, query, "")))
    return _publisher_canonical(publisher, path, query)


def _publisher_canonical(publisher: Publisher, path: str, query: str) -> CanonicalUrl:
    for pattern, replacement in publisher.url_rewrites:
        path = re.sub(pattern, replacement, path)
    bare = urlunsplit(("https", publisher.domain, path, "", ""))
    article_id = publisher.article_id(bare)
    if article_id is not None:
        # The id lives in the path: any query string is a view of the same article.
        return CanonicalUrl(bare, publisher.name, article_id)
    url = urlunsplit(("https", publisher.domain, path, query, ""))
    return CanonicalUrl(url, publisher.name, publisher.article_id(url))


def canonical_url(url: str) -> str:
    """The canonical form of ``url`` (see :func:`canonicalize`)."""
    return canonicalize(url).url


def same_article(url_a: str, url_b: str) -> bool:
    """Whether two URLs are variants of one article (same canonical URL or same publisher article id)."""
    a, b = canonicalize(url_a), canonicalize(url_b)
    return a.url == b.url or (a.article_key is not None and a.article_key == b.article_key)
