"""The three sites' URL layout and page rendering: articles + templates -> pages of one snapshot.

Each site's structure (listings and their pagination scheme, feeds, sitemaps, robots.txt) is
declared here as data; the look of each page lives in the Jinja2 templates. The result is a list of
:class:`Page` objects in crawl order, which ``warc.py`` writes out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

from pledgewatch.sampleweb.content import HOSTS, SITES, Article

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
BEIJING = timezone(timedelta(hours=8))

# When each snapshot was "crawled": the WARC-Date of every record, and the cut-off for articles.
SNAPSHOTS = {
    "first": datetime(2021, 6, 1, 2, 0, 0, tzinfo=UTC),
    "later": datetime(2021, 6, 20, 2, 0, 0, tzinfo=UTC),
}

# robots.txt, feeds and sitemaps were last changed long ago unless their content says otherwise.
ROBOTS_LAST_MODIFIED = datetime(2019, 3, 1, 0, 0, 0, tzinfo=UTC)


@dataclass
class Page:
    url: str
    body: bytes
    content_type: str
    kind: str  # robots | feed | sitemap | listing | article
    site: str
    last_modified: datetime | None = None
    # ETag + Last-Modified are sent for feeds, listings and sitemaps (conditional requests).
    validators: bool = False
    server: str = "nginx"

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'


@dataclass(frozen=True)
class Listing:
    site: str
    name: str
    title: str
    first_url: str
    page_url: Callable[[int], str]
    per_page: int
    # None: every article of the site; else articles with this channel.
    channel: str | None
    # Stories page 1 shows in a featured block above the list (China Daily's div.tw2), not
    # repeated in the list itself.
    featured: int = 0
    # The site prints no pager: the page after the last is served, empty (People's Daily).
    empty_last_page: bool = False
    # The listing's template in each snapshot ("" = the site's listing template): a redesign.
    templates: tuple[tuple[str, str], ...] = ()

    def template(self, snapshot: str) -> str:
        return dict(self.templates).get(snapshot, f"{self.site}_listing.html.j2")


LISTINGS: tuple[Listing, ...] = (
    Listing(
        "jd",
        "home",
        "Home",
        "https://jdcorporateblog.com/",
        lambda n: f"https://jdcorporateblog.com/page/{n}/",
        5,
        None,
    ),
    Listing(
        "jd",
        "topic",
        "Topics: Sustainability",
        "https://jdcorporateblog.com/topic/",
        lambda n: f"https://jdcorporateblog.com/topic/page/{n}/",
        5,
        "topic",
    ),
    Listing(
        "chinadaily",
        "business",
        "Business",
        "https://www.chinadaily.com.cn/business/",
        lambda n: f"https://www.chinadaily.com.cn/business/page_{n}.html",
        4,
        "business",
        # The later snapshot has the business channel redesigned: the parser's listing layout no
        # longer matches and the crawl reaches its articles through the fallback.
        templates=(("later", "chinadaily_listing_redesign.html.j2"),),
    ),
    Listing(
        "chinadaily",
        "china-us",
        "China-US",
        "https://www.chinadaily.com.cn/world/china-us",
        lambda n: f"https://www.chinadaily.com.cn/world/china-us/page_{n}.html",
        2,
        "china-us",
        featured=2,
    ),
    Listing(
        "people",
        "90777",
        "China",
        "https://en.people.cn/90777/index.html",
        lambda n: f"https://en.people.cn/90777/index{n}.html",
        4,
        "90777",
        empty_last_page=True,
    ),
    Listing(
        "people",
        "business",
        "Business",
        "https://en.people.cn/business/index.html",
        lambda n: f"https://en.people.cn/business/index{n}.html",
        4,
        "business",
        empty_last_page=True,
    ),
)


@dataclass(frozen=True)
class Feed:
    site: str
    url: str
    title: str
    link: str
    channels: tuple[str, ...] | None  # None: every article of the site
    limit: int


FEEDS: tuple[Feed, ...] = (
    Feed(
        "jd",
        "https://jdcorporateblog.com/feed/",
        "JD Corporate Blog",
        "https://jdcorporateblog.com",
        None,
        10,
    ),
    Feed(
        "chinadaily",
        "https://www.chinadaily.com.cn/rss/china_rss.xml",
        "China Daily - China",
        "https://www.chinadaily.com.cn/china/",
        ("china", "china-us"),
        20,
    ),
    Feed(
        "chinadaily",
        "https://www.chinadaily.com.cn/rss/business_rss.xml",
        "China Daily - Business",
        "https://www.chinadaily.com.cn/business/",
        ("business",),
        20,
    ),
    Feed(
        "people",
        "https://en.people.cn/rss/90000.xml",
        "People's Daily Online - China",
        "https://en.people.cn/",
        None,
        20,
    ),
    Feed(
        "people",
        "https://en.people.cn/rss/90777.xml",
        "People's Daily Online - China Society",
        "https://en.people.cn/90777/",
        ("90777",),
        20,
    ),
)

JD_SITEMAP_INDEX = "https://jdcorporateblog.com/wp-sitemap.xml"
JD_SITEMAP_POSTS = "https://jdcorporateblog.com/wp-sitemap-posts-post-1.xml"
SERVERS = {"jd": "nginx", "chinadaily": "Tengine", "people": "nginx/1.16.1"}
HTML_TYPE = {
    "jd": "text/html; charset=UTF-8",
    "chinadaily": "text/html; charset=utf-8",
    "people": "text/html;charset=UTF-8",
}
FEED_TYPE = {
    "jd": "application/rss+xml; charset=UTF-8",
    "chinadaily": "text/xml; charset=utf-8",
    "people": "text/xml;charset=UTF-8",
}


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["bj"] = lambda dt: dt.astimezone(BEIJING)
    env.filters["rfc822"] = lambda dt: format_datetime(dt.astimezone(UTC), usegmt=False).replace(
        "-0000", "+0000"
    )
    env.filters["rfc822_bj"] = lambda dt: format_datetime(dt.astimezone(BEIJING))
    env.filters["w3c"] = lambda dt: dt.astimezone(BEIJING).isoformat()
    env.filters["jd_date"] = lambda dt: f"{dt.astimezone(BEIJING):%b} {dt.astimezone(BEIJING).day}, {dt:%Y}"
    env.filters["cd_date"] = lambda dt: f"{dt.astimezone(BEIJING):%Y-%m-%d %H:%M}"
    env.filters["people_date"] = lambda dt: people_date(dt)
    env.filters["people_day"] = lambda dt: f"{dt.astimezone(BEIJING):%Y-%m-%d}"
    env.filters["path"] = lambda url: re.sub(r"^https?://[^/]+", "", url)
    env.filters["protocol_relative"] = lambda url: re.sub(r"^https?:", "", url)
    env.filters["and_join"] = and_join
    return env


def people_date(dt: datetime) -> str:
    local = dt.astimezone(BEIJING)
    return f"{local:%H:%M}, {local:%B} {local.day:02d}, {local:%Y}"


def and_join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def in_snapshot(article: Article, snapshot: str) -> bool:
    return article.published <= SNAPSHOTS[snapshot]


def newest_first(articles: list[Article]) -> list[Article]:
    return sorted(articles, key=lambda a: (a.published, a.key), reverse=True)


def listing_pages(listing: Listing, articles: list[Article]) -> list[tuple[str, list[Article]]]:
    chosen = newest_first(
        [
            a
            for a in articles
            if a.site == listing.site and (listing.channel is None or listing.channel in a.channels)
        ]
    )
    pages = []
    first = listing.featured + listing.per_page
    pages.append((listing.first_url, chosen[:first]))
    for index in range(first, len(chosen), listing.per_page):
        pages.append((listing.page_url(len(pages) + 1), chosen[index : index + listing.per_page]))
    if listing.empty_last_page and chosen:
        pages.append((listing.page_url(len(pages) + 1), []))
    return pages


def feed_items(feed: Feed, articles: list[Article]) -> list[Article]:
    chosen = [
        a
        for a in articles
        if a.site == feed.site and (feed.channels is None or any(c in a.channels for c in feed.channels))
    ]
    return newest_first(chosen)[: feed.limit]


def _newest(articles: list[Article], snapshot: str) -> datetime:
    return max((a.lastmod(snapshot) for a in articles), default=ROBOTS_LAST_MODIFIED).astimezone(UTC)


class SiteRenderer:
    """Renders every page of every site for one snapshot."""

    def __init__(self, articles: list[Article], snapshot: str) -> None:
        self.snapshot = snapshot
        self.all_articles = articles
        self.articles = [a for a in articles if in_snapshot(a, snapshot)]
        self.by_key = {a.key: a for a in articles}
        self.env = environment()
        # Per site's list of articles (by identity): it, newest first, and each key's place there.
        self._timelines: dict[int, tuple[list[Article], list[Article], dict[str, int]]] = {}

    def render(self, template: str, **context: object) -> str:
        return self.env.get_template(template).render(snapshot=self.snapshot, **context)

    def pages(self) -> list[Page]:
        out: list[Page] = []
        for site in SITES:
            out.extend(self.site_pages(site))
        return out

    def site_pages(self, site: str) -> list[Page]:
        site_articles = [a for a in self.articles if a.site == site]
        pages = [
            Page(
                f"https://{HOSTS[site]}/robots.txt",
                self.render(f"{site}_robots.txt.j2").encode(),
                "text/plain; charset=utf-8",
                "robots",
                site,
                ROBOTS_LAST_MODIFIED,
                validators=True,
                server=SERVERS[site],
            )
        ]
        for feed in FEEDS:
            if feed.site != site:
                continue
            items = feed_items(feed, self.articles)
            body = self.render(
                f"{site}_feed.xml.j2", feed=feed, items=items, built=_newest(items, self.snapshot)
            )
            pages.append(
                Page(
                    feed.url,
                    body.encode(),
                    FEED_TYPE[site],
                    "feed",
                    site,
                    _newest(items, self.snapshot),
                    True,
                    SERVERS[site],
                )
            )
        if site == "jd":
            posts = newest_first(site_articles)
            newest = _newest(posts, self.snapshot)
            index = self.render("jd_sitemap_index.xml.j2", sitemaps=[(JD_SITEMAP_POSTS, newest)])
            pages.append(
                Page(
                    JD_SITEMAP_INDEX,
                    index.encode(),
                    "application/xml; charset=UTF-8",
                    "sitemap",
                    site,
                    newest,
                    True,
                )
            )
            urlset = self.render("jd_sitemap_posts.xml.j2", posts=posts)
            pages.append(
                Page(
                    JD_SITEMAP_POSTS,
                    urlset.encode(),
                    "application/xml; charset=UTF-8",
                    "sitemap",
                    site,
                    newest,
                    True,
                )
            )
        for listing in LISTINGS:
            if listing.site != site:
                continue
            numbered = listing_pages(listing, self.articles)
            for number, (url, items) in enumerate(numbered, start=1):
                next_url = numbered[number][0] if number < len(numbered) else None
                prev_url = numbered[number - 2][0] if number > 1 else None
                featured = items[: listing.featured] if number == 1 else []
                body = self.render(
                    listing.template(self.snapshot),
                    listing=listing,
                    url=url,
                    featured=featured,
                    items=items[len(featured) :],
                    page_count=len(numbered),
                    number=number,
                    page_urls=[u for u, _ in numbered],
                    next_url=next_url,
                    prev_url=prev_url,
                    recent=newest_first(site_articles)[:5],
                )
                pages.append(
                    Page(
                        url,
                        body.encode(),
                        HTML_TYPE[site],
                        "listing",
                        site,
                        _newest(items, self.snapshot),
                        True,
                        SERVERS[site],
                    )
                )
        for article in site_articles:
            pages.extend(self.article_pages(article, site_articles))
        return pages

    def article_pages(self, article: Article, site_articles: list[Article]) -> list[Page]:
        """The article's page 1 and, for a multi-page article, its continuation pages."""
        split = article.page_paragraphs(self.snapshot)
        urls = article.page_urls[: len(split)]
        return [
            self.article_page(
                article, site_articles, url=url, number=number, paragraphs=chunk, page_urls=urls
            )
            for number, (url, chunk) in enumerate(zip(urls, split, strict=True), start=1)
        ]

    def _timeline(self, site_articles: list[Article]) -> tuple[list[Article], dict[str, int]]:
        """The site's articles newest first and each one's place there, computed once per site."""
        cache = self._timelines
        cached = cache.get(id(site_articles))
        if cached is None or cached[0] is not site_articles:
            ordered = newest_first(site_articles)
            cached = (site_articles, ordered, {a.key: i for i, a in enumerate(ordered)})
            cache[id(site_articles)] = cached
        return cached[1], cached[2]

    def article_page(
        self,
        article: Article,
        site_articles: list[Article],
        *,
        url: str,
        number: int,
        paragraphs: list[str],
        page_urls: list[str],
    ) -> Page:
        version = article.version(self.snapshot)
        ordered, positions = self._timeline(site_articles)
        position = positions[article.key]
        # "Related" links: the nearest stories in time on the same site, as CMSes tend to pick. The
        # four nearest in time are among the four on either side in time order (the same four, in
        # the same order, as sorting the whole site: once per article, that was quadratic).
        around = [a for a in ordered[max(0, position - 4) : position + 5] if a.key != article.key]
        related = sorted(around, key=lambda a: abs((a.published - article.published).total_seconds()))[:4]
        charset = "gbk" if article.special == "gbk" else "utf-8"
        # One page keeps People's Daily's older article layout (body in div.d2txt_con).
        template = f"{article.site}_article.html.j2"
        if article.special == "gbk":
            template = f"{article.site}_article_old.html.j2"
        html = self.render(
            template,
            a=article,
            v=version,
            url=url,
            page_number=number,
            page_urls=page_urls,
            # The malformed page is rendered whole, then cut (see _truncate).
            paragraphs=version.paragraphs if article.special == "malformed" else paragraphs,
            charset=charset,
            malformed=article.special == "malformed",
            # The site's five newest stories besides this one.
            recent=[a for a in ordered[:6] if a.key != article.key][:5],
            related=related,
            newer=ordered[position - 1] if position > 0 else None,
            older=ordered[position + 1] if position + 1 < len(ordered) else None,
            origin=self.by_key.get(article.syndicated_from) if article.syndicated_from else None,
        )
        if article.special == "malformed":
            html = _truncate(html, article)
        if charset == "gbk":
            body = html.encode("gbk")
            content_type = "text/html"
        else:
            body = html.encode("utf-8")
            content_type = HTML_TYPE[article.site]
        return Page(
            url,
            body,
            content_type,
            "article",
            article.site,
            article.lastmod(self.snapshot).astimezone(UTC),
            validators=False,
            server=SERVERS[article.site],
        )


def _truncate(html: str, article: Article) -> str:
    """Cut the page where the CMS's output was cut: mid-body, no closing tags after that point."""
    marker = article.truncate_at or ""
    escaped = str(escape(marker))
    position = html.find(escaped)
    if position < 0:
        raise ValueError(f"{article.key}: truncate_at phrase not found in the rendered page")
    return html[:position].rstrip() + "\n"
