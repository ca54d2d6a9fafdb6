"""Which discovery pages were crawled completely, so that only they earn a 304 next time.

A feed, listing or sitemap page answered 304 is not parsed, so nothing it links to is requested
again. Its ETag / Last-Modified may therefore be kept only when every article it announced is in
the archive: stored by this crawl or already known. A page is *incomplete* when one of its links
was skipped as older than the publication window, went missing (a 404, a replay archive without
it), failed after retries or could not be parsed or stored, or when a discovery page it leads to
(the next listing page, a child sitemap) is incomplete. Incomplete pages are fetched in full by the
next crawl, which then requests the articles that were lost.

The tracker is a Scrapy extension: the crawl owns one, and the spider, the seen-URL middleware,
the store pipeline and the conditional-request middleware reach it through the crawler
(:func:`completeness_of`), instead of reading and writing an attribute of the spider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


@dataclass
class CompletenessTracker:
    """Per discovery page, the article links and discovery pages it led to and what became of them."""

    articles: dict[str, set[str]] = field(default_factory=dict)  # page -> article links
    children: dict[str, set[str]] = field(default_factory=dict)  # page -> discovery links
    skipped: set[str] = field(default_factory=set)  # pages with a link outside the window
    parsed: set[str] = field(default_factory=set)  # pages read to the end (200, or 304)
    outcome: dict[str, bool] = field(default_factory=dict)  # article link -> archived?
    item_links: dict[str, str] = field(default_factory=dict)  # extracted record's URL -> its link
    #: Bumped by every event that can make a page complete: the validator flush skips its check
    #: while this has not moved.
    changes: int = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CompletenessTracker:
        return cls()

    def article_linked(self, page: str, link: str) -> None:
        self.changes += 1
        self.articles.setdefault(page, set()).add(link)

    def page_linked(self, page: str, link: str) -> None:
        self.changes += 1
        self.children.setdefault(page, set()).add(link)

    def link_skipped(self, page: str) -> None:
        self.changes += 1
        self.skipped.add(page)

    def page_parsed(self, *urls: str) -> None:
        self.changes += 1
        self.parsed.update(urls)

    def article_done(self, link: str, archived: bool) -> None:
        """Record an article's fate; a failure wins over a success reached another way."""
        self.changes += 1
        self.outcome[link] = archived and self.outcome.get(link, True)

    def item_extracted(self, item_url: str, link: str) -> None:
        """The page of ``link`` gave a record; the store decides (:meth:`item_stored`)."""
        self.item_links[item_url] = link

    def item_stored(self, item_url: str, stored: bool) -> None:
        link = self.item_links.get(item_url, item_url)
        self.article_done(link, stored)

    def is_complete(self, page: str) -> bool:
        """Whether ``page`` and every page reachable from it were read and all their articles archived.

        A walk with an explicit stack, not recursion: a listing's pager chain is one page deep per
        page, and an archive of 100,000 articles has chains of thousands of pages. A page met again (a
        pager pointing back) is judged where it was first met.
        """
        seen = {page}
        stack = [page]
        while stack:
            here = stack.pop()
            if here not in self.parsed or here in self.skipped:
                return False
            if not all(self.outcome.get(link) is True for link in self.articles.get(here, ())):
                return False
            for child in self.children.get(here, ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return True


def completeness_of(crawler: Crawler) -> CompletenessTracker | None:
    """The crawl's tracker (None when the extension is not enabled, e.g. a bare spider test)."""
    return crawler.get_extension(CompletenessTracker)
