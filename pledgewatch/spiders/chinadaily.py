"""China Daily English (www.chinadaily.com.cn): RSS, channel listings with page_N.html, articles.

Follows the one real listing page and the scrapers of 2019-2022 (docs/extraction.md, "China
Daily"): a channel page has a featured block ``div.tw2`` whose stories the main list does not
repeat, then ``div.mb10.tw3_01_2`` items, 20 a page, and ``div#div_currpage`` "Next". An article
has its title in ``div.lft_art h1``, the byline "By A/B in City | China Daily | Updated: ..." in
``div.info span.info_l`` and the body in ``div#Content``; long ones continue at ``..._2.html``.
Two URL schemes: ``/a/YYYYMM/DD/WS<24 hex>.html`` since about 2017, and before that
``/<section>/YYYY-MM/DD/content_<N>.htm``, also on regional hosts (europe., usa., africa.).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from pledgewatch.spiders.listing import ListingLayout, ListingPage, select_listing_layouts
from pledgewatch.spiders.parsing import BEIJING, ArticleParser, Layout, normalise_space, split_authors
from pledgewatch.spiders.publisher import Publisher, register

# "By FAN FEIFEI | China Daily | Updated: 2020-04-09 09:25"; "Xinhua | Updated: 2022-03-10 21:37"
_BYLINE_RE = re.compile(
    r"^(?:By\s+(?P<authors>[^|]+?)\s*\|\s*)?(?P<outlet>[^|]*?)\s*\|\s*Updated:\s*(?P<updated>[\d\-: ]+)", re.I
)


class ChinaDailyParser(ArticleParser):
    """The byline line gives authors, outlet and the only printed time; the body is ``div#Content``."""

    layouts = (
        # "2017www" templates: "tags inside main_art are not always the same", hence the chains.
        Layout(
            "2017www",
            marker="div.main_art, div.lft_art, #lft-art",
            selectors={
                "title": ("div.lft_art h1", "#lft-art h1", "div.main_art h1", "div.lft_art h2"),
                "byline": ("div.lft_art div.info span.info_l", "div.info span.info_l", "div.info"),
                "body": ("div#Content",),
            },
        ),
    )

    def _byline(self) -> re.Match[str] | None:
        text = self.chain("byline", *self.layout_steps("byline", self.text_of), ("generic", lambda: None))
        return _BYLINE_RE.search(normalise_space(text)) if text else None

    def title(self) -> str:
        return self.chain("title", *self.layout_steps("title", self.text_of), ("generic", super().title))

    def authors(self) -> list[str]:
        byline = self._byline()
        named = byline.group("authors") if byline else None
        return self.chain(
            "authors",
            ("byline", lambda: split_authors(named)),
            # <meta name=author>: seen on the Chinese edition of the CMS, not confirmed in English.
            ("meta:author", lambda: split_authors(self.meta("author"))),
        )

    def published(self) -> datetime | None:
        byline = self._byline()
        # The only time the English pages print is "Updated:"; <meta name=publishdate> is not
        # confirmed there, and the sanity check (checked_published) guards both against the URL.
        return self.chain(
            "published",
            ("byline", lambda: self.date(byline.group("updated")) if byline else None),
            ("meta:publishdate", lambda: self.date(self.meta("publishdate"))),
            ("generic", super().published),
        )

    def modified(self) -> datetime | None:
        byline = self._byline()
        return self.chain(
            "modified",
            ("byline", lambda: self.date(byline.group("updated")) if byline else None),
            ("generic", super().modified),
        )

    def outlet(self) -> str | None:
        byline = self._byline()
        return self.chain(
            "outlet",
            ("byline", lambda: (byline.group("outlet") or None) if byline else None),
            ("meta:source", lambda: self.meta("source")),
            ("publisher", lambda: PUBLISHER.outlet),
        )

    def article_id(self) -> str | None:
        return self.meta("contentid") or PUBLISHER.article_id(self.url)

    def pager_links(self) -> list[str]:
        """An article's pager is the CMS pager of listings: ``div#div_currpage`` links to ``_N.html``."""
        return self.selector.css("div#div_currpage a::attr(href)").getall()


LISTING_LAYOUTS = (
    # The real 2019 /world/china-us page (template 2017www_world_page_en): featured block first
    # (lead story and the tBox2 stories, not repeated below), then the main list.
    ListingLayout(
        "2017www",
        "div.tw2 div.tw2_l span.tw2_l_t a, div.tw2 div.tw2_r div.tBox2 a, div.tw3_01_2 > span.tw3_01_2_t",
        "h4 > a",
        "b",
        "div#div_currpage a.pagestyle",
    ),
)


def parse_listing(html: str | bytes, url: str) -> ListingPage:
    """Channel pages: featured ``div.tw2``, then ``div.mb10.tw3_01_2`` items with ``<b>date</b>``."""
    return select_listing_layouts(html, url, PUBLISHER, LISTING_LAYOUTS)


PUBLISHER = register(
    Publisher(
        name="chinadaily",
        title="China Daily",
        domain="www.chinadaily.com.cn",
        hosts=("chinadaily.com.cn",),
        # //www.chinadaily.com.cn/a/YYYYMM/DD/WS<24 hex>.html (the WS id is the article on any host),
        # and before 2018 /<section>[/<sub>]/YYYY-MM/DD/content_<N>.htm on www. or a regional host.
        article_url=re.compile(
            r"chinadaily\.com\.cn/(?:a/\d{6}/\d{2}/(?P<id>WS[0-9a-f]{24})(?:_\d+)?\.html"
            r"|(?:[a-z0-9_-]+/)+\d{4}-\d{2}/\d{2}/(?P<id_old>content_\d+)(?:_\d+)?\.html?)",
            re.I,
        ),
        feeds=(
            "https://www.chinadaily.com.cn/rss/china_rss.xml",
            "https://www.chinadaily.com.cn/rss/business_rss.xml",
        ),
        listings=(
            "https://www.chinadaily.com.cn/business/",
            "https://www.chinadaily.com.cn/world/china-us",
        ),
        # WS..._2.html is page 2 of the article WS....html; content_N_2.htm of content_N.htm.
        url_rewrites=(
            (r"(/WS[0-9a-f]{24})_\d+\.html$", r"\1.html"),
            (r"(/content_\d+)_\d+(\.html?)$", r"\1\2"),
        ),
        page_suffix=re.compile(r"(?:/WS[0-9a-f]{24}|/content_\d+)_(?P<page>\d+)\.html?$"),
        # Pre-2018 pages of europe., usa., africa. ... live on their regional host.
        own_host_paths=re.compile(r"/content_\d+\.html?$"),
        outlet="China Daily",
        parser=ChinaDailyParser,
        listing_parser=parse_listing,
        timezone=BEIJING,
        # /a/202605/17/ and (pre-2018) /2016-01/04/
        url_date=re.compile(r"/(?P<year>(?:19|20)\d{2})-?(?P<month>\d{2})/(?P<day>\d{2})/"),
        founded=date(1995, 12, 1),
        # The shortest real article seen is several sentences; a page with less is furniture.
        min_body_chars=80,
        order=2,
    )
)
