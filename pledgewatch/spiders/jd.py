"""JD.com's corporate news blog (WordPress): feed, paged archives, sitemap, articles at /<slug>/.

Little of its markup is confirmed (docs/extraction.md, "JD blog"): the visible order "Apr 3,
2020|", title, "By <authors>", body, and ``main article a[href]`` on listings. So every field is a
chain from the theme's likely class names to structure-only selectors to generic extraction, and
the listing falls back to every article link on the page.
"""

from __future__ import annotations

import re
from datetime import datetime

from pledgewatch.spiders.listing import ListingLayout, ListingPage, select_listing_layouts
from pledgewatch.spiders.parsing import BEIJING, ArticleParser, Layout, split_authors
from pledgewatch.spiders.publisher import Publisher, register

# "Apr 3, 2020|" at the top of a post
_DATE_LINE_RE = re.compile(r"^[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}")
# "By Ella Kidron", "by Tracy Yang and Rachel Liu"
_BY_LINE_RE = re.compile(r"^by\s+\S", re.I)


class JDParser(ArticleParser):
    """The page reads "Apr 8, 2020|", the title, "by <authors>", then the post's paragraphs."""

    layouts = (
        Layout(
            "wordpress",
            selectors={
                "title": ("article h1.entry-title", "h1.entry-title", "article h1", "main h1"),
                "authors": ("article .post-author", ".post-author", "article .author", ".byline"),
                "date": ("article .post-meta .date", ".post-meta", "article time", "time.entry-date"),
                "body": ("article div.entry-content", "div.entry-content", "main article"),
            },
        ),
    )

    def title(self) -> str:
        return self.chain("title", *self.layout_steps("title", self.text_of), ("generic", super().title))

    def authors(self) -> list[str]:
        return self.chain(
            "authors",
            *self.layout_steps("authors", lambda css: split_authors(self.text_of(css))),
            ("by-line", self._by_line_authors),
            ("generic", super().authors),
        )

    def _by_line_authors(self) -> list[str]:
        for text in self.selector.css("article ::text, main ::text").getall()[:200]:
            text = text.strip()
            if _BY_LINE_RE.match(text) and len(text) < 90:
                return split_authors(text)
        return []

    def published(self) -> datetime | None:
        return self.chain(
            "published",
            ("meta:article:published_time", lambda: self.date(self.meta("article:published_time"))),
            *self.layout_steps("date", lambda css: self.date(self.text_of(css))),
            ("generic", super().published),
        )

    def outlet(self) -> str | None:
        self.provenance["outlet"] = "publisher"
        return PUBLISHER.outlet


LISTING_LAYOUTS = (
    ListingLayout(
        "wordpress",
        "article.post-item",
        "h2.entry-title a, .entry-title a, a",
        "time.entry-date, time",
        "a.next.page-numbers, .nav-links a.next",
    ),
    # The one selector a scraper of the live site uses.
    ListingLayout("main-article", "main article", "h2 a, h1 a, a", "time", "a.next, a[rel~=next]"),
)


def parse_listing(html: str | bytes, url: str) -> ListingPage:
    """Front page, /page/N/, /topic/page/N/: ``article.post-item`` entries, ``a.next.page-numbers``."""
    return select_listing_layouts(html, url, PUBLISHER, LISTING_LAYOUTS)


PUBLISHER = register(
    Publisher(
        name="jd",
        title="JD Corporate Blog",
        domain="jdcorporateblog.com",
        hosts=("jdcorporateblog.com",),
        # /<slug>/ at the site root; paging, topics, feeds and WordPress internals are not articles.
        article_url=re.compile(
            r"^https?://(?:www\.)?jdcorporateblog\.com/"
            r"(?!(?:page|topic|feed|category|tag|author|wp-[a-z-]+|comments)(?:/|$))(?P<id>[a-z0-9][a-z0-9-]*)/?(?:[?#].*)?$"
        ),
        feeds=("https://jdcorporateblog.com/feed/",),
        listings=("https://jdcorporateblog.com/", "https://jdcorporateblog.com/topic/"),
        sitemaps=("https://jdcorporateblog.com/wp-sitemap.xml",),
        # /slug and /slug/ are the same WordPress post.
        url_rewrites=((r"^(/[a-z0-9][a-z0-9-]*)$", r"\1/"),),
        outlet="JD Corporate Blog",
        parser=JDParser,
        listing_parser=parse_listing,
        timezone=BEIJING,
        furniture=(r"trusted by top global brands", r"discover jd\.com brand partners"),
        # No threshold: the blog's archive pages print whole posts (the title and URL checks tell a
        # listing from a post), and a one-line post is still a post.
        order=1,
    )
)
