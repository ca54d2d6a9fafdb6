"""Read sample-web WARCs the way a replaying crawler would: URL -> HTTP status, headers and body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from lxml import etree, html
from warcio.archiveiterator import ArchiveIterator


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    warc_date: str

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        charset = "utf-8"
        if "charset=" in self.content_type:
            charset = self.content_type.split("charset=", 1)[1].strip()
        return self.body.decode(charset)


def read_warc(path: Path) -> dict[str, Response]:
    responses: dict[str, Response] = {}
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type != "response":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            headers = {name.lower(): value for name, value in record.http_headers.headers}
            responses[url] = Response(
                url,
                int(record.http_headers.get_statuscode()),
                headers,
                record.content_stream().read(),
                record.rec_headers.get_header("WARC-Date"),
            )
    return responses


# The listing structures of docs/sampleweb.md: (item link XPath, next-page link XPath) per site.
# China Daily's class attribute really is "mb10 tw3_01_2 " and its featured block (div.tw2) comes
# first; People's Daily prints no pager (index.html, index2.html, ... until a page is empty).
_HAS = "contains(concat(' ', normalize-space(@class), ' '), ' {} ')".format
LISTING_XPATHS = {
    "jd": (
        "//article[contains(@class,'post-item')]//h2[contains(@class,'entry-title')]/a/@href",
        "//div[@class='nav-links']/a[contains(@class,'next')]/@href",
    ),
    "chinadaily": (
        f"//div[{_HAS('tw2_l')}]/span[{_HAS('tw2_l_t')}]/a/@href"
        f" | //div[{_HAS('tw2_r')}]/div[{_HAS('tBox2')}]/a/@href"
        f" | //div[{_HAS('tw3_01_2')}]/span[{_HAS('tw3_01_2_t')}]/h4/a/@href"
        " | //div[@class='news-list']/ul/li/a/@href",
        "//div[@id='div_currpage']/a[@class='pagestyle' and normalize-space(.)='Next']/@href",
    ),
    "people": (
        "//div[@class='foreign_d2list']/ul[contains(@class,'foreign_list8')]/li/a/@href",
        None,
    ),
}


def listing_links(site: str, response: Response) -> tuple[list[str], str | None]:
    tree = html.fromstring(response.body)
    items_xpath, next_xpath = LISTING_XPATHS[site]
    items = [urljoin(response.url, href) for href in tree.xpath(items_xpath)]
    if next_xpath is None:  # indexN.html -> index(N+1).html while the page holds items
        if not items:
            return items, None
        match = re.search(r"/index(\d*)\.html$", response.url)
        assert match, response.url
        return items, response.url[: match.start()] + f"/index{int(match.group(1) or 1) + 1}.html"
    next_links = [urljoin(response.url, href) for href in tree.xpath(next_xpath)]
    return items, (next_links[0] if next_links else None)


def feed_links(response: Response) -> list[str]:
    root = etree.fromstring(response.body)
    return [link.text.strip() for link in root.iter("link") if link.getparent().tag == "item"]


def sitemap_locs(response: Response) -> list[str]:
    root = etree.fromstring(response.body)
    return [loc.text.strip() for loc in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
