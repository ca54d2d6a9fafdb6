"""JD.com's corporate news blog (WordPress): feed, paged archives, sitemap, articles at /<slug>/."""

from __future__ import annotations

import re

from pledgewatch.spiders.publisher import Publisher, register

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
    )
)
