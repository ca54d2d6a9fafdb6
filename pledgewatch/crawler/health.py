"""Source health: is a publisher still being read the way its parser expects, per source and run?

A monitor that runs for months meets layout changes and dead feeds. Without this, a changed layout
means a silent fallback (or silently zero links) and the analyst just stops getting alerts. The
spider counts what it sees into Scrapy's stats (``pledgewatch/health/...`` and the markup layer's
``pledgewatch/<source>/listing_fallbacks``); :func:`counts_from_stats` reads them back, and
:func:`assess` turns one run's counts plus the previous run's dead start URLs into a state:

``ok``
    nothing below.
``degraded`` (the source is read, but not as designed: look at it soon)
    * a listing page's item selector found nothing and every article-pattern link was used instead
      (a listing fallback), or an HTML listing start page held no article link at all;
    * at least :data:`FALLBACK_SHARE` of the articles parsed had a field from a fallback (the
      publisher parser's body selector found nothing and generic extraction took over; a date
      from the URL or the listing instead of the page);
    * at least :data:`FAILED_SHARE` of the article pages could not be parsed, or lacked a field
      (no title, no date anywhere);
    * a start URL (feed, sitemap, listing) answered 404 or 410 in ``dead_after_runs`` consecutive
      runs (one 404 is a hiccup; several are a dead feed);
    * a sitemap limit was reached (``[crawl] sitemap_max_urls``, ``sitemap_max_depth``,
      ``sitemap_max_files``): part of the site's sitemaps was not read.
``broken`` (nothing useful comes from the source)
    * no request was answered (network, DNS, 5xx: the crawl summary's ``failed``);
    * every start URL answered an HTTP error (404/410/...) in this run;
    * article pages were fetched and none of them could be parsed.

The function is pure (counts in, state out) so the thresholds are tested without a crawl, and the
crawl, ``pledgewatch status`` and the daemon's notices all agree on one rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

OK = "ok"
DEGRADED = "degraded"
BROKEN = "broken"
STATES = (OK, DEGRADED, BROKEN)

#: Share of parsed articles with a fallback field from which a source is degraded. One odd page (a
#: photo story whose body is only captions) is not a layout change; a fifth of them is.
FALLBACK_SHARE = 0.2
#: Share of fetched article pages that failed (not parsed, or a field missing) that degrades a source.
FAILED_SHARE = 0.2
#: Consecutive runs in which a start URL answers 404/410 before it is reported as dead.
DEAD_AFTER_RUNS = 2
#: HTTP statuses that mean "this URL is gone" (a 5xx is an outage: counted as a failed request).
DEAD_STATUSES = (404, 410)

#: The fields whose fallback or absence is counted: an article is title, text and date. A missing
#: modification date, byline (agency copy) or outlet is normal, and generic extraction is the
#: designed source of several of those, so counting them would degrade every source.
HEALTH_FIELDS = ("title", "body", "published")

PREFIX = "pledgewatch/health/"
LISTING_PAGES = PREFIX + "listing_pages"
LISTING_LINKS = PREFIX + "listing_links"  # {listing URL: article links found on it}
EMPTY_LISTINGS = PREFIX + "empty_listings"  # [HTML start listings with no article link]
ARTICLES_PARSED = PREFIX + "articles_parsed"
PARSE_FAILURES = PREFIX + "parse_failures"
FIELD_FALLBACKS = PREFIX + "field_fallbacks"  # {"body: generic": n, "published: listing": n}
FALLBACK_ARTICLES = PREFIX + "fallback_articles"  # articles with at least one fallback field
FAILED_FIELDS = PREFIX + "failed_fields"  # {"title": n, "published": n}
START_URL_STATUS = PREFIX + "start_urls"  # {start URL: HTTP status of its answer}
OWN_LISTING_FALLBACKS = PREFIX + "listing_fallbacks"
SITEMAP_LIMITS = PREFIX + "sitemap_limits"  # [why a sitemap or index was not read to the end]


def listing_fallback_stat(source: str) -> str:
    """The stat the listing layer counts its fallbacks under (shared with the markup work)."""
    return f"pledgewatch/{source}/listing_fallbacks"


@dataclass
class HealthCounts:
    """What one run saw of one source (the ``health_counts`` of ``crawl --json``)."""

    listing_pages: int = 0
    # Article links found per listing page read (feeds and sitemaps included), by URL.
    links_per_listing: dict[str, int] = field(default_factory=dict)
    empty_listings: list[str] = field(default_factory=list)
    listing_fallbacks: int = 0
    articles_parsed: int = 0
    parse_failures: int = 0
    # "field: step" -> count, e.g. "body: generic" (the parser's body selector found nothing).
    field_fallbacks: dict[str, int] = field(default_factory=dict)
    fallback_articles: int = 0
    failed_fields: dict[str, int] = field(default_factory=dict)
    # Start URL -> the HTTP status it answered with this run (200, 304, 404...).
    start_urls: dict[str, int] = field(default_factory=dict)
    # A sitemap cut at sitemap_max_urls, an index nested past sitemap_max_depth, or past
    # sitemap_max_files sitemaps in one crawl: what was not read, in words.
    sitemap_limits: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Health:
    """A source's state with the reasons for it, and the dead-start-URL streaks to carry forward."""

    state: str = OK
    reasons: list[str] = field(default_factory=list)
    # Start URL -> consecutive runs (this one included) it answered 404/410.
    dead_start_urls: dict[str, int] = field(default_factory=dict)


def counts_from_stats(stats: Mapping[str, Any], source: str) -> HealthCounts:
    """One source's counts out of its spider's Scrapy stats."""

    def number(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    return HealthCounts(
        listing_pages=number(LISTING_PAGES),
        links_per_listing=dict(stats.get(LISTING_LINKS) or {}),
        empty_listings=list(stats.get(EMPTY_LISTINGS) or []),
        # Both counters name the same event; whichever layer counted it, it counts once.
        listing_fallbacks=max(number(listing_fallback_stat(source)), number(OWN_LISTING_FALLBACKS)),
        articles_parsed=number(ARTICLES_PARSED),
        parse_failures=number(PARSE_FAILURES),
        field_fallbacks=dict(stats.get(FIELD_FALLBACKS) or {}),
        fallback_articles=number(FALLBACK_ARTICLES),
        failed_fields=dict(stats.get(FAILED_FIELDS) or {}),
        start_urls=dict(stats.get(START_URL_STATUS) or {}),
        sitemap_limits=list(stats.get(SITEMAP_LIMITS) or []),
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def assess(
    counts: HealthCounts,
    *,
    reachable: bool = True,
    unreachable_reason: str = "",
    previous_dead: Mapping[str, int] | None = None,
    dead_after_runs: int = DEAD_AFTER_RUNS,
    fallback_share: float = FALLBACK_SHARE,
    failed_share: float = FAILED_SHARE,
) -> Health:
    """The state of one source after one run (see the module docstring for the rules).

    ``reachable``: whether any request was answered; ``previous_dead``: the ``dead_start_urls`` of
    the source's previous run, so a feed answering 404 run after run is seen as dead.
    """
    previous_dead = previous_dead or {}
    broken: list[str] = []
    degraded: list[str] = []
    dead = {
        url: previous_dead.get(url, 0) + 1
        for url, status in counts.start_urls.items()
        if status in DEAD_STATUSES
    }
    if not reachable:
        broken.append(f"no request answered ({unreachable_reason or 'unreachable'})")
    errors = {url: status for url, status in counts.start_urls.items() if status >= 400}
    if counts.start_urls and len(errors) == len(counts.start_urls):
        statuses = ", ".join(sorted({f"HTTP {s}" for s in errors.values()}))
        broken.append(f"every start URL answered an error ({statuses})")
    attempted = counts.articles_parsed + counts.parse_failures
    if counts.parse_failures and not counts.articles_parsed:
        broken.append(f"none of {_plural(attempted, 'article page')} could be parsed")
    for url, runs in sorted(dead.items()):
        if runs >= dead_after_runs and not broken:
            degraded.append(
                f"start URL {url} answered HTTP {counts.start_urls[url]} in {runs} consecutive runs"
            )
    if counts.listing_fallbacks:
        degraded.append(
            f"{_plural(counts.listing_fallbacks, 'listing page')}: item selector found nothing, "
            "every article link used instead (listing fallback)"
        )
    for url in counts.empty_listings:
        degraded.append(f"listing {url}: no article links found")
    for limit in counts.sitemap_limits:
        degraded.append(limit)
    if counts.articles_parsed and counts.fallback_articles / counts.articles_parsed >= fallback_share:
        which = ", ".join(f"{name} {n}" for name, n in sorted(counts.field_fallbacks.items()))
        degraded.append(
            f"{counts.fallback_articles} of {_plural(counts.articles_parsed, 'article')} "
            f"used field fallbacks ({which})"
        )
    failed = counts.parse_failures + sum(counts.failed_fields.values())
    if attempted and counts.articles_parsed and failed / attempted >= failed_share:
        parts = [f"{name} {n}" for name, n in sorted(counts.failed_fields.items())]
        if counts.parse_failures:
            parts.insert(0, f"not parsed {counts.parse_failures}")
        degraded.append(
            f"failed fields or parses in {_plural(attempted, 'article page')} ({', '.join(parts)})"
        )
    if broken:
        return Health(BROKEN, broken + degraded, dead)
    if degraded:
        return Health(DEGRADED, degraded, dead)
    return Health(OK, [], dead)


def worst(states: Iterable[str]) -> str:
    """The worst of several states (``ok`` for none)."""
    ranked = [STATES.index(s) for s in states if s in STATES]
    return STATES[max(ranked)] if ranked else OK
