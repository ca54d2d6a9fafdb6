"""Read sample-web WARCs the way a replaying crawler would: URL -> HTTP status, headers and body."""

from __future__ import annotations

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
LISTING_XPATHS = {
    "jd": (
        "//article[contains(@class,'post-item')]//h2[contains(@class,'entry-title')]/a/@href",
        "//div[@class='nav-links']/a[contains(@class,'next')]/@href",
    ),
    "chinadaily": (
        "//div[@class='tw3_01_2']/span[@class='tw3_01_2_t']/h4/a/@href",
        "//div[@id='div_currpage']/a[@class='pagestyle' and normalize-space(.)='Next']/@href",
    ),
    "people": (
        "//ul[contains(@class,'foreign_list8')]/li/a/@href",
        "//div[@class='page_n']/a[normalize-space(.)='Next']/@href",
    ),
}


def listing_links(site: str, response: Response) -> tuple[list[str], str | None]:
    tree = html.fromstring(response.body)
    items_xpath, next_xpath = LISTING_XPATHS[site]
    items = [urljoin(response.url, href) for href in tree.xpath(items_xpath)]
    next_links = [urljoin(response.url, href) for href in tree.xpath(next_xpath)]
    return items, (next_links[0] if next_links else None)


def feed_links(response: Response) -> list[str]:
    root = etree.fromstring(response.body)
    return [link.text.strip() for link in root.iter("link") if link.getparent().tag == "item"]


def sitemap_locs(response: Response) -> list[str]:
    root = etree.fromstring(response.body)
    return [loc.text.strip() for loc in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
