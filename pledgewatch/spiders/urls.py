"""One canonical URL per article, whatever variant of it a feed, listing or share button links to.

The same article reaches the crawler as ``http://`` and ``https://``, on ``www.``, ``m.`` and
``global.`` hosts, with ``utm_*`` and share parameters, with fragments, as ``.../index.html``, as a
print or AMP version, and (on China Daily and People's Daily) on several hosts of the publisher.
Fetching or storing each variant as its own article would put the same story in the digest twice,
so every URL is reduced to one canonical form before the archive is asked about it.

Generic rules come from the libraries made for them and live in :mod:`pledgewatch.records`; the
publisher-specific knowledge (canonical host, page and print suffixes, the article id) is data on
the :class:`~pledgewatch.spiders.publisher.Publisher` declarations. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlunsplit

from pledgewatch.records import VARIANT_HOST_LABELS, ArticleRecord, CanonicalUrl, generic_canonical, url_parts
from pledgewatch.spiders.publisher import Publisher, publisher_for_url

__all__ = ["CanonicalUrl", "canonical_or_none", "canonical_url", "canonicalize", "identify", "same_article"]


def canonicalize(url: str) -> CanonicalUrl:
    """The canonical form of ``url`` and, for a known publisher's article, its article id.

    Raises ValueError for something that is not an http(s) URL.
    """
    parts = url_parts(url)
    publisher = publisher_for_url(f"https://{parts.host}/")
    if publisher is None:
        return generic_canonical(url)
    return _publisher_canonical(publisher, parts.path, parts.query, parts.host)


def canonical_or_none(url: str | None) -> CanonicalUrl | None:
    """The canonical form of ``url``, or None for no URL or one that is not http(s)."""
    if not url:
        return None
    try:
        return canonicalize(url)
    except ValueError:
        return None


def identify(record: ArticleRecord) -> ArticleRecord:
    """``record`` with its canonical URL forms filled in, as the store expects them."""
    return replace(
        record, canonical=canonical_or_none(record.url), hint=canonical_or_none(record.canonical_hint)
    )


def _publisher_canonical(publisher: Publisher, path: str, query: str, host: str = "") -> CanonicalUrl:
    for pattern, replacement in publisher.url_rewrites:
        path = re.sub(pattern, replacement, path)
    domain = publisher.domain
    if (
        publisher.own_host_paths is not None
        and publisher.own_host_paths.search(path)
        and host
        and host.split(".")[0] not in VARIANT_HOST_LABELS
    ):
        # A regional edition's page (europe.chinadaily.com.cn/.../content_N.htm) lives on its own
        # host: a canonical URL on the main host might not exist.
        domain = host
    bare = urlunsplit(("https", domain, path, "", ""))
    article_id = publisher.article_id(bare)
    if article_id is not None:
        # The id lives in the path: any query string is a view of the same article.
        return CanonicalUrl(bare, publisher.name, article_id)
    url = urlunsplit(("https", domain, path, query, ""))
    return CanonicalUrl(url, publisher.name, publisher.article_id(url))


def canonical_url(url: str) -> str:
    """The canonical form of ``url`` (see :func:`canonicalize`)."""
    return canonicalize(url).url


def same_article(url_a: str, url_b: str) -> bool:
    """Whether two URLs are variants of one article (same canonical URL or same publisher article id)."""
    a, b = canonicalize(url_a), canonicalize(url_b)
    return a.url == b.url or (a.article_key is not None and a.article_key == b.article_key)
