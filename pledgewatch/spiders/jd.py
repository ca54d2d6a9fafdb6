"""JD.com's corporate news blog (WordPress): feed, paged archives, sitemap, articles at /<slug>/."""

from __future__ import annotations

import re
from datetime import datetime

from pledgewatch.spiders.listing import ListingPage, select_listing
from pledgewatch.spiders.parsing import ArticleParser, parse_datetime, split_authors
from pledgewatch.spiders.publisher import Publisher, register


class JDParser(ArticleParser):
    """The page reads "Apr 8, 2020|", the title, "by <authors>", then the post's paragraphs."""

    body_selector = "article div.entry-content, div.entry-content"

    def title(self) -> str:
        return self.text_of("article h1.entry-title, h1.entry-title") or super().title()

    def authors(self) -> list[str]:
        return split_authors(self.text_of("article .post-author, .post-author")) or super().authors()

    def published(self) -> datetime | None:
        return (
            parse_datetime(self.meta("article:published_time"))
            or parse_datetime(self.text_of("article .post-meta .date, .post-meta"))
            or super().published()
        )

    def outlet(self) -> str | None:
        return PUBLISHER.outlet


def parse_listing(html: str | bytes, url: str) -> ListingPage:
    """Front page, /page/N/, /topic/page/N/: ``article.post-item`` entries, ``a.next.page-numbers``."""
    return select_listing(
        html,
        url,
        PUBLISHER,
        item="article.post-item",
        link="h2.entry-title a, .entry-title a, a",
        date="time.entry-date, time",
        next_page="a.next.page-numbers, .nav-links a.next",
    )


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
        order=1,
    )
)
