"""People's Daily English (en.people.cn): RSS, channel index pages, /n3/YYYY/MMDD/cNNNNN-NNNNNNN.html.

Follows the markup public scrapers select on the live site (docs/extraction.md, "People's Daily"):
the article is ``div.w860.d2txtCon.cf`` with the ``h1``, the origin line ``div.origin.cf`` and the
body as the ``<p>`` elements directly inside it, before ``div.share_text.cf``. ``div.d2txt_con``
belongs to the Chinese-language sites; pages that have it are read by the older layout version.
Listings page as index.html, index2.html, ... with no pager element.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from pledgewatch.spiders.listing import ListingLayout, ListingPage, select_listing_layouts
from pledgewatch.spiders.parsing import BEIJING, ArticleParser, Layout, split_authors
from pledgewatch.spiders.publisher import Publisher, register

_TITLE_SUFFIX_RE = re.compile(r"\s*[-|–]\s*People'?s Daily Online\s*$", re.I)
# "By Liu Xinwu, Bi Jingjin ( People's Daily ) 09:01, November 19, 2020"; "( Xinhua ) 09:42, ..."
_ORIGIN_TIME_RE = re.compile(r"\d{1,2}:\d{2},\s+[A-Z][a-z]+\.?\s+\d{1,2},\s+\d{4}")
_ORIGIN_SOURCE_RE = re.compile(r"\(([^()]+)\)")
_PAGER_TEXT_RE = re.compile(r"^\s*【\s*\d+\s*】\s*$")


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_CONTAINER = f"//div[{_has_class('d2txtCon')}]"
# The <p> directly inside the article container, after the origin line, before the share bar.
_BODY_BETWEEN = (
    f"xpath:{_CONTAINER}/p[preceding-sibling::div[{_has_class('origin')}]]"
    f"[not(preceding-sibling::div[{_has_class('share_text')}])]"
)
_BODY_DIRECT = f"xpath:{_CONTAINER}/p[not(preceding-sibling::div[{_has_class('share_text')}])]"


class PeopleParser(ArticleParser):
    """Headline ``h1``; the origin line holds author, outlet and time; body: the container's own ``<p>``."""

    layouts = (
        # The Chinese-language sites' container (and the sample web's first guess): a page that
        # has it is read from it. Listed first: its marker is the more specific one.
        Layout(
            "d2txt_con",
            marker="div.d2txt_con",
            selectors={
                "title": ("div.d2txtCon h1", "div.w860 h1", "h1"),
                "origin": ("div.d2txtCon div.origin", "div.origin"),
                "body": ("div.d2txt_con",),
            },
        ),
        # en.people.cn since at least 2020 (six scrapers of 2023-2025 agree).
        Layout(
            "w860-d2txtCon",
            marker="div.w860.d2txtCon",
            selectors={
                "title": ("div.w860.d2txtCon > h1", "div.w860.d2txtCon h1"),
                "origin": ("div.w860.d2txtCon > div.origin", "div.origin"),
                "body": (_BODY_BETWEEN, _BODY_DIRECT),
            },
        ),
    )

    def _origin(self) -> str:
        return self.chain("origin", *self.layout_steps("origin", self.text_of), ("generic", lambda: "")) or ""

    def title(self) -> str:
        return self.chain(
            "title",
            *self.layout_steps("title", self.text_of),
            ("title-tag", lambda: _TITLE_SUFFIX_RE.sub("", self.text_of("title") or "")),
            ("generic", super().title),
        )

    def authors(self) -> list[str]:
        origin = self._origin()
        if not origin:
            return self.chain("authors", ("generic", super().authors))
        # Agency copy ("( Xinhua ) 10:08, ...") names no author: none, rather than a guess.
        self.provenance["authors"] = "origin"
        return split_authors(_ORIGIN_TIME_RE.sub("", origin.split("(")[0]))

    def published(self) -> datetime | None:
        match = _ORIGIN_TIME_RE.search(self._origin())
        return self.chain(
            "published",
            ("origin", lambda: self.date(match.group(0)) if match else None),
            ("generic", super().published),
        )

    def outlet(self) -> str | None:
        sources = _ORIGIN_SOURCE_RE.findall(self._origin())
        if sources and sources[-1].strip():
            self.provenance["outlet"] = "origin"
            return sources[-1].strip()
        self.provenance["outlet"] = "publisher"
        return PUBLISHER.outlet

    def pager_links(self) -> list[str]:
        """The 【1】 【2】 【3】 pager inside the article container links pages 2..N."""
        return [
            anchor.attrib["href"]
            for anchor in self.selector.css("div.d2txtCon a[href]")
            if _PAGER_TEXT_RE.match(" ".join(anchor.css("::text").getall()))
        ]


_INDEX_RE = re.compile(r"/index(\d*)\.html$")


def next_index_page(url: str, page: ListingPage) -> str | None:
    """index.html -> index2.html -> index3.html: the site prints no pager; an empty page ends it."""
    if not page.links:
        return None
    match = _INDEX_RE.search(url)
    if match is None:
        if url.endswith("/"):
            return url + "index2.html"
        return None
    number = int(match.group(1) or 1)
    return url[: match.start()] + f"/index{number + 1}.html"


LISTING_LAYOUTS = (
    ListingLayout(
        "foreign_list8",
        "div.foreign_d2list ul.foreign_list8 li, ul.foreign_list8 li",
        "a",
        "span",
        "div.page_n a",
        container="ul.foreign_list8",
    ),
    # channel 102775
    ListingLayout("foreign_list7", "ul.foreign_list7 li", "a", "span", container="ul.foreign_list7"),
    ListingLayout("tiles", "div#tiles li", "p a, a", "span"),  # english.people.com.cn/518252
    ListingLayout("on1", "div.on1.clear h3", "a", None),  # an older template
)


def parse_listing(html: str | bytes, url: str) -> ListingPage:
    """Channel index pages in any of the known layouts; the next page is indexN+1 while items come."""
    return select_listing_layouts(html, url, PUBLISHER, LISTING_LAYOUTS, next_page_rule=next_index_page)


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
        page_suffix=re.compile(r"/c\d+-\d{7,8}-(?P<page>\d+)\.html$"),
        outlet="People's Daily Online",
        parser=PeopleParser,
        listing_parser=parse_listing,
        timezone=BEIJING,
        furniture=(
            # photo captions: "... (People's Daily Online/Wang Jianfeng)", "(Xinhua/Li Xin)"
            r".*\((?:People['’]s Daily Online|Xinhua|Photo|VCG|CFP|IC)\s*/[^()]*\)",
            r"(?:【\s*\d+\s*】\s*)+",  # the pager of a multi-page article
            r"\(\s*For the latest China news,? Please follow People['’]s Daily on Twitter and Facebook\s*\)",
        ),
        url_date=re.compile(r"/n3/(?P<year>\d{4})/(?P<month>\d{2})(?P<day>\d{2})/"),
        founded=date(1998, 1, 1),
        # The shortest real article seen is several sentences; a page with less is furniture.
        min_body_chars=80,
        order=3,
    )
)
