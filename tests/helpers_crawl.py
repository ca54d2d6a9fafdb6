"""Tiny publisher-like sites for crawl tests: pages in the JD blog's structure, written to real WARCs.

The sample web is the realistic fixture; these are small enough that a test can say exactly which
page is where (a page missing from the archive, an edited article, a changed feed).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SITE = "https://jdcorporateblog.com"


@dataclass
class Page:
    url: str
    body: bytes
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


def article_html(title: str, date_iso: str, paragraphs: list[str], authors: str = "Tracy Yang") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8">
<title>{title} - JD Corporate Blog</title>
<meta property="article:published_time" content="{date_iso}">
</head><body><header><nav><a href="{SITE}/">Home</a></nav></header>
<article class="post"><div class="post-meta"><span class="date">{date_iso[:10]}</span>|</div>
<h1 class="entry-title">{title}</h1><div class="post-author">by {authors}</div>
<div class="entry-content">{body}</div></article>
<aside><h2>Recent posts</h2></aside><footer>Trusted by Top Global Brands</footer></body></html>""".encode()


def listing_html(items: list[tuple[str, str, str]], next_url: str | None) -> bytes:
    entries = "".join(
        f'<article class="post-item"><h2 class="entry-title"><a href="{url}">{title}</a></h2>'
        f'<time class="entry-date" datetime="{date}">{date[:10]}</time></article>'
        for url, title, date in items
    )
    pager = ""
    if next_url:
        pager = f'<div class="nav-links"><a class="next page-numbers" href="{next_url}">Next</a></div>'

    return f"""<!DOCTYPE html><html><head><meta charset="UTF-8"><title>JD Corporate Blog</title></head>
<body><main>{entries}{pager}</main></body></html>""".encode()


def sitemap_xml(entries: list[tuple[str, str]]) -> bytes:
    urls = "".join(f"<url><loc>{url}</loc><lastmod>{lastmod}</lastmod></url>" for url, lastmod in entries)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


HTML = [("Content-Type", "text/html; charset=UTF-8")]
XML = [("Content-Type", "application/xml; charset=UTF-8")]
TEXT = [("Content-Type", "text/plain")]


def write_warc(path: Path, pages: list[Page]) -> Path:
    """A gzipped WARC holding one response record per page (what a crawler would have recorded)."""
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for page in pages:
            reason = {200: "OK", 404: "Not Found", 301: "Moved Permanently"}.get(page.status, "OK")
            headers = [*page.headers, ("Content-Length", str(len(page.body)))]
            http_headers = StatusAndHeaders(f"{page.status} {reason}", headers, protocol="HTTP/1.1")
            record = writer.create_warc_record(
                page.url, "response", payload=BytesIO(page.body), http_headers=http_headers
            )
            writer.write_record(record)
    return path


ARTICLES = {
    "hubei": (
        f"{SITE}/jd-com-to-invest-over-rmb-6-billion-in-hubei/",
        "JD.com to Invest over RMB 6 Billion in Hubei",
        "2020-04-08T10:00:00+08:00",
        [
            "JD.com will invest more than RMB 6 billion in Hubei over the next three years.",
            "The investment supports the province's recovery after the epidemic.",
        ],
    ),
    "wuhan": (
        f"{SITE}/jd-opens-asia-no-1-in-wuhan/",
        "JD Opens Asia No. 1 in Wuhan",
        "2020-03-02T14:30:00+08:00",
        [
            "JD Logistics opened its Asia No. 1 warehouse in Wuhan on Monday.",
            "The site handles a million parcels a day.",
        ],
    ),
    "weather": (
        f"{SITE}/spring-weather-update/",
        "Spring weather update",
        "2020-02-01T09:00:00+08:00",
        ["Spring arrived early in Beijing this year.", "Parks filled with visitors over the weekend."],
    ),
}


def tiny_site(edited: bool = False, drop: tuple[str, ...] = ()) -> list[Page]:
    """robots.txt, a sitemap with lastmod, a two-page listing and three articles.

    ``edited``: the later snapshot, in which the Hubei article gained a paragraph and the sitemap
    (with a new ETag) announces the newer lastmod. ``drop``: URLs left out of the archive.
    """
    hubei_lastmod = "2020-04-20T08:00:00+08:00" if edited else "2020-04-08T10:00:00+08:00"
    lastmods = {
        ARTICLES["hubei"][0]: hubei_lastmod,
        ARTICLES["wuhan"][0]: "2020-03-02T14:30:00+08:00",
        ARTICLES["weather"][0]: "2020-02-01T09:00:00+08:00",
    }
    pages = [
        Page(f"{SITE}/robots.txt", b"User-agent: *\nDisallow: /wp-admin/\n", headers=TEXT),
        Page(
            f"{SITE}/wp-sitemap.xml",
            sitemap_xml(list(lastmods.items())),
            headers=[*XML, ("ETag", '"sitemap-v2"' if edited else '"sitemap-v1"')],
        ),
        Page(
            f"{SITE}/",
            listing_html([ARTICLES[k][:3] for k in ("hubei", "wuhan")], f"{SITE}/page/2/"),
            headers=[*HTML, ("ETag", '"home-v1"'), ("Last-Modified", "Wed, 08 Apr 2020 02:00:00 GMT")],
        ),
        Page(
            f"{SITE}/page/2/",
            listing_html([(ARTICLES["weather"][0], ARTICLES["weather"][1], ARTICLES["weather"][2])], None),
            headers=HTML,
        ),
    ]
    for key, (url, title, date, paragraphs) in ARTICLES.items():
        text = list(paragraphs)
        if edited and key == "hubei":
            text.append("The company later said the plan includes 20 new logistics parks.")
        pages.append(Page(url, article_html(title, date, text), headers=HTML))
    return [page for page in pages if page.url not in drop]


def tiny_config(path: Path, start_urls: list[str] | None = None, extra: str = "") -> Path:
    urls = start_urls if start_urls is not None else [f"{SITE}/wp-sitemap.xml", f"{SITE}/"]
    path.write_text(
        "[sources.jd]\nstart_urls = " + json.dumps(urls) + "\n"
        "[sources.chinadaily]\nenabled = false\n[sources.people]\nenabled = false\n"
        "[crawl]\nwindow_days = 0\n" + extra,
        encoding="utf-8",
    )
    return path


def proxy_env(proxy_url: str, inherit: bool = False) -> dict[str, str]:
    """The environment of a crawl that reaches every site through a test's HTTP server on 127.0.0.1
    (as an HTTP proxy: the publishers' real URLs stay unchanged). ``inherit`` starts from this
    process's environment, without a PLEDGEWATCH_CONFIG that would override the test's config."""
    base = {k: v for k, v in os.environ.items() if k != "PLEDGEWATCH_CONFIG"} if inherit else {}
    return {**base, "http_proxy": proxy_url, "HTTP_PROXY": proxy_url, "no_proxy": "", "NO_PROXY": ""}


def crawl_argv(db: Path, config: Path, source: str = "jd") -> list[str]:
    """`pledgewatch crawl SOURCE --json` as a child process, on ``db`` with ``config``."""
    return [
        sys.executable,
        "-m",
        "pledgewatch",
        "--db",
        str(db),
        "--config",
        str(config),
        "crawl",
        source,
        "--json",
    ]


def db_rows(db_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(sql).fetchall()


def warc_urls(path: Path, rec_type: str = "response") -> list[tuple[str, int]]:
    """(URL, HTTP status) of every record of ``rec_type`` in a WARC."""
    from warcio.archiveiterator import ArchiveIterator

    found = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == rec_type:
                status = int(record.http_headers.get_statuscode()) if record.http_headers else 0
                found.append((record.rec_headers.get_header("WARC-Target-URI"), status))
    return found
