"""People's Daily English (en.people.cn): RSS, channel index pages, /n3/YYYY/MMDD/cNNNNN-NNNNNNN.html."""

from __future__ import annotations

import re
from datetime import datetime

from pledgewatch.spiders.listing import ListingPage, select_listing
from pledgewatch.spiders.parsing import ArticleParser, parse_datetime, split_authors
from pledgewatch.spiders.publisher import Publisher, register

_TITLE_SUFFIX_RE = re.compile(r"\s*[-|–]\s*People'?s Daily Online\s*$", re.I)
# "By Li Jiabao (People's Daily Overseas Edition) 09:07, April 30, 2020"; "(China Daily) 08:30, ..."
_ORIGIN_TIME_RE = re.compile(r"\d{1,2}:\d{2},\s+[A-Z][a-z]+\.?\s+\d{1,2},\s+\d{4}")
_ORIGIN_SOURCE_RE = re.compile(r"\(([^()]+)\)")


class PeopleParser(ArticleParser):
    """Headline in ``h1``; the "origin" line holds author, source outlet and time; body ``d2txt_con``."""

    body_selector = "div.d2txt_con"

    def _origin(self) -> str:
        return self.text_of("div.d2txtCon div.origin, div.origin") or ""

    def title(self) -> str:
        heading = self.text_of("div.d2txtCon h1, div.w860 h1, h1")
        if heading:
            return heading
        return _TITLE_SUFFIX_RE.sub("", self.text_of("title") or "") or super().title()

    def authors(self) -> list[str]:
        origin = self._origin()
        if not origin:
            return super().authors()
        # Agency copy ("(Xinhua) 10:08, ...") names no author: none, rather than a guess.
        return split_authors(_ORIGIN_TIME_RE.sub("", origin.split("(")[0]))

    def published(self) -> datetime | None:
        match = _ORIGIN_TIME_RE.search(self._origin())
        return (parse_datetime(match.group(0)) if match else None) or super().published()

    def outlet(self) -> str | None:
        sources = _ORIGIN_SOURCE_RE.findall(self._origin())
        return sources[-1].strip() if sources else PUBLISHER.outlet


def parse_listing(html: str | bytes, url: str) -> ListingPage:
    """Channel index pages: ``ul.foreign_list8 li`` (relative links, date in a span), ``div.page_n``."""
    return select_listing(
        html,
        url,
        PUBLISHER,
        item="ul.foreign_list8 li",
        link="a",
        date="span",
        next_page="div.page_n a",
    )


PUBLISHER = register(
    Publisher(
        name="people",
        title="People's Daily Online",
        domain="en.people.cn",
        hosts=("en.people.cn", "en.people.com.cn"),
        article_url=re.compile(
            r"people\.(?:com\.)?cn/n3/\d{4}/\d{4}/(?P<id>c\d+-\d{7,8})(?:-\d+)?\.html", re.I
        ),
        feeds=("https://en.people.cn/rss/90000.xml", "https://en.people.cn/rss/90777.xml"),
        listings=("https://en.people.cn/90777/index.html", "https://en.people.cn/business/index.html"),
        # c90000-9685505-2.html is page 2 of c90000-9685505.html.
        url_rewrites=((r"(/c\d+-\d{7,8})-\d+\.html$", r"\1.html"),),
        outlet="People's Daily Online",
        parser=PeopleParser,
        listing_parser=parse_listing,
        order=3,
    )
)
