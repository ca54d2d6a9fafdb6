"""China Daily English (www.chinadaily.com.cn): RSS, channel listings with page_N.html, WS-id articles."""

from __future__ import annotations

import re
from datetime import datetime

from pledgewatch.spiders.listing import ListingPage, select_listing
from pledgewatch.spiders.parsing import ArticleParser, normalise_space, parse_datetime, split_authors
from pledgewatch.spiders.publisher import Publisher, register

# "By FAN FEIFEI | China Daily | Updated: 2020-04-09 09:25"
_BYLINE_RE = re.compile(
    r"^(?:By\s+(?P<authors>[^|]+?)\s*\|\s*)?(?P<outlet>[^|]*?)\s*\|\s*Updated:\s*(?P<updated>[\d\-: ]+)", re.I
)


class ChinaDailyParser(ArticleParser):
    """Fields come from <meta name=publishdate|author|source>; the body is ``div#Content``."""

    body_selector = "div#Content"

    def _byline(self) -> re.Match[str] | None:
        text = self.text_of("div.lft_art div.info span.info_l, div.info span.info_l, div.info")
        return _BYLINE_RE.search(normalise_space(text)) if text else None

    def title(self) -> str:
        return self.text_of("div.lft_art h1, div.lft_art h2") or super().title()

    def authors(self) -> list[str]:
        names = split_authors(self.meta("author"))
        if not names and (byline := self._byline()) and byline.group("authors"):
            names = split_authors(byline.group("authors"))
        return names

    def published(self) -> datetime | None:
        byline = self._byline()
        return (
            parse_datetime(self.meta("publishdate"))
            or (parse_datetime(byline.group("updated")) if byline else None)
            or super().published()
        )

    def modified(self) -> datetime | None:
        byline = self._byline()
        return parse_datetime(byline.group("updated")) if byline else super().modified()

    def outlet(self) -> str | None:
        byline = self._byline()
        return self.meta("source") or (byline.group("outlet") if byline else None) or PUBLISHER.outlet

    def article_id(self) -> str | None:
        return self.meta("contentid") or PUBLISHER.article_id(self.url)


def parse_listing(html: str | bytes, url: str) -> ListingPage:
    """Channel pages: ``div.tw3_01_2 > span.tw3_01_2_t > h4 > a`` + ``<b>date</b>``, ``#div_currpage``."""
    return select_listing(
        html,
        url,
        PUBLISHER,
        item="div.tw3_01_2 > span.tw3_01_2_t",
        link="h4 > a",
        date="b",
        next_page="div#div_currpage a.pagestyle",
    )


PUBLISHER = register(
    Publisher(
        name="chinadaily",
        title="China Daily",
        domain="www.chinadaily.com.cn",
        hosts=("chinadaily.com.cn",),
        # //www.chinadaily.com.cn/a/YYYYMM/DD/WS<24 hex>.html, the WS id is the article on any host.
        article_url=re.compile(
            r"chinadaily\.com\.cn/a/\d{6}/\d{2}/(?P<id>WS[0-9a-f]{24})(?:_\d+)?\.html", re.I
        ),
        feeds=(
            "https://www.chinadaily.com.cn/rss/china_rss.xml",
            "https://www.chinadaily.com.cn/rss/business_rss.xml",
        ),
        listings=(
            "https://www.chinadaily.com.cn/business/",
            "https://www.chinadaily.com.cn/world/china-us",
        ),
        # WS..._2.html is page 2 of the article WS....html.
        url_rewrites=((r"(/WS[0-9a-f]{24})_\d+\.html$", r"\1.html"),),
        outlet="China Daily",
        parser=ChinaDailyParser,
        listing_parser=parse_listing,
        order=2,
    )
)
