"""Generic extraction: decoding, noisy and malformed pages, field helpers, discovery, the extract CLI."""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_parsers import NOISE_MARKERS, PUBLISHERS_DIR, seed_path

from pledgewatch.crawler.discovery import parse_feed, parse_listing, parse_sitemap
from pledgewatch.spiders.parsing import (
    ArticleParser,
    ExtractionError,
    decode_html,
    extract_article,
    parse_datetime,
    split_authors,
)
from pledgewatch.spiders.publisher import get_publisher

BEIJING = timezone(timedelta(hours=8))
GBK_CASE = PUBLISHERS_DIR / "people" / "extra" / "gbk"
MALFORMED_CASE = PUBLISHERS_DIR / "chinadaily" / "extra" / "malformed"


def seed_lines(name: str) -> list[str]:
    return [line.strip() for line in seed_path(name).read_text(encoding="utf-8").splitlines() if line.strip()]


# ---- decoding ----------------------------------------------------------------------------------------


def test_gbk_page_declared_only_in_meta_decodes_with_chinese_intact() -> None:
    body = (GBK_CASE / "article.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # the fixture really is GBK, not UTF-8

    record = extract_article(body, "https://en.people.cn/n3/2016/0104/c98649-8998877.html")

    assert "poverty alleviation (扶贫) in the country's rural areas" in record.text
    assert "\ufffd" not in record.text
    assert record.title == "JD.com to help lift 2 million out of poverty"


def test_gbk_page_decodes_when_server_sends_no_charset_but_a_content_type() -> None:
    body = (GBK_CASE / "article.html").read_bytes()
    text, encoding = decode_html(body, "text/html")
    assert encoding in {"gbk", "gb18030"}
    assert "人民网版权所有" in text


def test_http_charset_wins_over_meta_and_a_lying_header_does_not_garble() -> None:
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>Hubei’s 湖北</p></body></html>'
    assert "Hubei’s 湖北" in decode_html(page.encode("utf-8"), "text/html; charset=utf-8")[0]
    gbk = page.replace("iso-8859-1", "gbk").encode("gbk")
    # The server claims UTF-8 but the bytes are GBK: the page's own declaration is used instead.
    assert "湖北" in decode_html(gbk, "text/html; charset=utf-8")[0]


def test_page_without_any_declaration_is_detected() -> None:
    page = (
        "<html><body><h1>湖北经济复苏</h1>"
        + "<p>京东集团宣布将在未来三年投资六十亿元支持湖北经济发展。</p>" * 5
    )
    text, _ = decode_html((page + "</body></html>").encode("gb18030"))
    assert "湖北经济复苏" in text


# ---- noisy and malformed pages ------------------------------------------------------------------------


def test_malformed_page_still_yields_title_and_body() -> None:
    body = (MALFORMED_CASE / "article.html").read_bytes()
    assert not body.rstrip().endswith(b"</html>")  # truncated, unclosed tags
    url = "https://www.chinadaily.com.cn/a/201601/04/WS5a2b9c1ea3101a5ad3201bbb.html"
    for parser in (get_publisher("chinadaily").parser, ArticleParser):
        assert parser is not None
        record = parser(body, url).record()
        assert record.title.startswith("E-commerce projects planned in 200 counties")
        assert record.text.startswith("JD.com Inc, the e-commerce major, and the State Council")
        assert "mengjing@chinadaily.com.cn" not in record.text
        assert "Related stories" not in record.text


def _seed_page(lines: list[str], title: str) -> str:
    """A page whose body container holds a seed's raw text lines, noise and all, as paragraphs."""
    paragraphs = "\n".join(f"<p>{html.escape(line, quote=False)}</p>" for line in lines)
    return (
        f"<html lang='en'><head><title>{html.escape(title)}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{html.escape(title)}</h1>"
        f"<div class='entry-content'>{paragraphs}</div></article>"
        "<footer>Copyright 2021</footer></body></html>"
    )


@pytest.mark.parametrize(
    ("seed", "title", "url", "first_words", "last_words"),
    [
        (
            "000_87c92a4e2c955b78.txt",
            "JD.com to Invest over RMB 6 Billion in Hubei",
            "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/",
            "JD.com announced today that it would invest",
            "the development of specialty stores.",
        ),
        (
            "002_95abd2d7b559822c.txt",
            "JD ESG: JD’s Ongoing Commitment to Rural Revitalization",
            "https://jdcorporateblog.com/jd-esg-jds-ongoing-commitment-to-rural-revitalization/",
            "JD.com’s 2020 ESG report released today",
            "around 3.75 million people.",
        ),
        (
            "001_c282de24248220e8.txt",
            "JD plans to add jobs in northeastern region",
            "https://example.org/news/jd-plans-to-add-jobs.html",
            "China’s second-largest e-commerce player JD",
            "supply chain and internet finance.",
        ),
        (
            "004_53da56a8763ae14c.txt",
            "E-commerce projects planned in 200 counties with 25,000 villages to boost employment",
            "https://www.chinadaily.com.cn/a/201601/04/WS5a2b9c1ea3101a5ad3201ccc.html",
            "JD.com Inc, the e-commerce major, and the State Council",
            "if they run into personal difficulties.",
        ),
    ],
)
def test_seed_noise_never_reaches_the_body(
    seed: str, title: str, url: str, first_words: str, last_words: str | None
) -> None:
    lines = [line for line in seed_lines(seed) if line not in {title, "China Daily"}]
    record = extract_article(_seed_page(lines, title), url)

    assert record.text.startswith(first_words)
    if last_words:
        assert record.text.endswith(last_words)
    for marker in NOISE_MARKERS:
        assert marker not in record.text, marker
    assert "Apr 8, 2020|" not in record.text
    assert "by Tracy Yang" not in record.text and "By FAN FEIFEI" not in record.text
    assert "by Kelly Dawson" not in record.text


def test_web_editor_line_and_origin_are_not_body_on_a_people_page() -> None:
    record = extract_article(
        (PUBLISHERS_DIR / "people" / "extra" / "seed003" / "article.html").read_bytes(),
        "https://en.people.cn/n3/2020/0430/c90000-9685505.html",
    )
    assert "Web editor" not in record.text
    assert "People's Daily Overseas Edition" not in record.text
    assert "09:07, April 30, 2020" not in record.text


def test_page_without_article_raises_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="no article text"):
        extract_article(
            "<html><head><title>404</title></head><body><nav>Home</nav></body></html>", "https://x.org/"
        )
    with pytest.raises(ExtractionError, match="not an HTML page"):
        extract_article(b"%PDF-1.7 binary", "https://x.org/a.pdf")


# ---- field helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("by Tracy Yang and Rachel Liu", ["Tracy Yang", "Rachel Liu"]),
        ("By FAN FEIFEI", ["Fan Feifei"]),
        ("- By FAN FEIFEI fanfeifei@chinadaily.com.cn", ["Fan Feifei"]),
        ("By FAN FEIFEI | China Daily | Updated: 2020-04-09 09:25", ["Fan Feifei"]),
        ("By Li Jiabao (People's Daily Overseas Edition)", ["Li Jiabao"]),
        ("By Li Jiabao, People’s Daily Overseas Edition", ["Li Jiabao"]),
        ("By ZHONG NAN and MENG JING in Beijing", ["Zhong Nan", "Meng Jing"]),
        ("Xinhua", []),
        ("", []),
    ],
)
def test_split_authors(byline: str, names: list[str]) -> None:
    assert split_authors(byline) == names


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("Apr 8, 2020", datetime(2020, 4, 8, tzinfo=BEIJING)),
        ("09:07, April 30, 2020", datetime(2020, 4, 30, 9, 7, tzinfo=BEIJING)),
        ("2020-04-09 09:25", datetime(2020, 4, 9, 9, 25, tzinfo=BEIJING)),
        ("2020-04-08T10:00:00+08:00", datetime(2020, 4, 8, 10, tzinfo=BEIJING)),
        ("Wed, 08 Apr 2020 02:00:00 +0000", datetime(2020, 4, 8, 10, tzinfo=BEIJING)),
        ("not a date", None),
    ],
)
def test_printed_times_are_beijing_time(printed: str, expected: datetime | None) -> None:
    parsed = parse_datetime(printed)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() is not None


# ---- discovery -------------------------------------------------------------------------------------


def test_listing_links_are_absolute_and_only_articles() -> None:
    cd = "//www.chinadaily.com.cn"
    page = f"""<html><body>
      <div class="tw3_01_2"><span class="tw3_01_2_t"><h4>
      <a href="{cd}/a/202004/09/WS5e8e7a0ba310aeaeeed50e01.html">JD</a></h4><b>2020-04-09 09:25</b>
      </span></div>
      <div class="tw3_01_2"><span class="tw3_01_2_t"><h4><a href="{cd}/business/">Business</a></h4>
      </span></div>
      <div id="div_currpage"><a href="{cd}/business/page_2.html" class="pagestyle">1</a>
      <a href="{cd}/business/page_2.html" class="pagestyle">Previous</a></div></body></html>"""
    listing = parse_listing(page, "https://www.chinadaily.com.cn/business/page_3.html")
    assert listing.urls == ["https://www.chinadaily.com.cn/a/202004/09/WS5e8e7a0ba310aeaeeed50e01.html"]
    assert listing.links[0].published == datetime(2020, 4, 9, 9, 25, tzinfo=BEIJING)
    assert listing.next_page is None  # the last page has a pager without "Next"


def test_sitemap_index_lists_children_and_urlset_lists_articles_with_lastmod() -> None:
    index = b"""<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://jdcorporateblog.com/wp-sitemap-posts-post-1.xml</loc></sitemap>
      <sitemap><loc>https://jdcorporateblog.com/wp-sitemap-taxonomies-category-1.xml</loc></sitemap></sitemapindex>"""
    jd = get_publisher("jd")
    page = parse_sitemap(index, "https://jdcorporateblog.com/wp-sitemap.xml", jd)
    assert page.children == [
        "https://jdcorporateblog.com/wp-sitemap-posts-post-1.xml",
        "https://jdcorporateblog.com/wp-sitemap-taxonomies-category-1.xml",
    ]
    assert page.links == []

    urlset = b"""<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/</loc>
      <lastmod>2020-04-09T08:20:00+00:00</lastmod></url>
      <url><loc>https://jdcorporateblog.com/topic/</loc></url></urlset>"""
    page = parse_sitemap(urlset, "https://jdcorporateblog.com/wp-sitemap-posts-post-1.xml", jd)
    assert page.urls == ["https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/"]
    assert page.links[0].modified == datetime(2020, 4, 9, 16, 20, tzinfo=BEIJING)
    assert page.children == []


# ---- the extract command -----------------------------------------------------------------------------


@pytest.mark.slow
def test_extract_cli_prints_the_article_as_json() -> None:
    page = PUBLISHERS_DIR / "jd" / "extra" / "seed000" / "article.html"
    url = "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/"
    result = run_cli("extract", str(page), "--url", url)

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["url"] == url
    assert data["source"] == "jd"
    assert data["title"] == "JD.com to Invest over RMB 6 Billion in Hubei"
    assert data["authors"] == ["Tracy Yang", "Rachel Liu"]
    assert data["published"] == "2020-04-08T10:00:00+08:00"
    assert data["outlet"] == "JD Corporate Blog"
    assert data["text"].startswith("JD.com announced today that it would invest more than RMB 6 billion")


@pytest.mark.slow
def test_extract_cli_unknown_url_uses_generic_extraction(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes((GBK_CASE / "article.html").read_bytes())
    result = run_cli("extract", str(page), "--url", "https://news.example.org/jd-poverty.html")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["source"] is None
    assert "(扶贫)" in data["text"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["missing", "binary", "not-html", "empty-shell", "unknown-source"])
def test_extract_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "page.html"
    args = ["--url", "https://en.people.cn/n3/2020/0430/c90000-9685505.html"]
    if kind == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    elif kind == "not-html":
        path.write_text("just some notes, no markup at all\n")
    elif kind == "empty-shell":
        path.write_text("<html><head><title>Error</title></head><body></body></html>")
    elif kind == "unknown-source":
        path.write_text((PUBLISHERS_DIR / "jd" / "extra" / "seed000" / "article.html").read_text())
        args += ["--source", "nytimes"]
    result = run_cli("extract", str(path), *args)

    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


# ---- robustness --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["jd", "chinadaily", "people"])
def test_truncated_and_corrupted_pages_never_crash(name: str) -> None:
    folder = PUBLISHERS_DIR / name
    url = json.loads((folder / "article.expected.json").read_text(encoding="utf-8"))["url"]
    for filename in ("article.html", "listing.html", "feed.xml"):
        body = (folder / filename).read_bytes()
        variants = [body[: len(body) * k // 7] for k in range(7)]
        variants.append(body.replace(b"<p>", b"<p>\x00\x07[", 3).replace(b'href="', b'href="http://[', 5))
        variants.append(body.replace(b"charset", b"chars\xa4t").replace(b"encoding=", b"encoding=\xa4"))
        for variant in variants:
            parse_listing(variant, url)
            parse_feed(variant, url)
            parse_sitemap(variant, url)
            try:
                record = extract_article(variant, url)
            except ExtractionError:
                continue
            assert isinstance(record.title, str) and record.text


@pytest.mark.parametrize(
    ("pager", "expected"),
    [
        ('<a href="/90777/index9.html">Last »</a><a href="/90777/index3.html">Next</a>', "index3.html"),
        ('<a href="/90777/index1.html">« Prev</a><a href="/90777/index3.html">›</a>', "index3.html"),
        ('<a href="/90777/index1.html">上一页</a><a href="/90777/index3.html">下一页</a>', "index3.html"),
        ('<a href="/90777/index1.html">Previous</a><a href="/90777/index9.html">Last</a>', None),
    ],
)
def test_next_page_is_the_next_link_never_last_or_previous(pager: str, expected: str | None) -> None:
    page = f'<html><body><ul class="foreign_list8"></ul><div class="page_n">{pager}</div></body></html>'
    next_page = parse_listing(page, "https://en.people.cn/90777/index2.html").next_page
    assert next_page == (f"https://en.people.cn/90777/{expected}" if expected else None)


def test_generic_extraction_prunes_furniture_by_class_token_not_substring() -> None:
    article = "".join(
        f"<p>JD.com said it will build {n} new warehouses in western China over the next five years, "
        f"adding jobs in logistics and delivery for rural communities.</p>"
        for n in range(2, 7)
    )
    page = (
        "<html lang='en'><head><title>JD warehouses</title></head><body>"
        f"<div class='editorial-body commentary'><h1>JD warehouses</h1>{article}</div>"
        "<div class='comments'><p>Great news, I hope they come to my town soon and hire people.</p></div>"
        "<div class='post-author'>By Zhang San</div></body></html>"
    )
    record = extract_article(page, "https://news.example.org/jd-warehouses")
    assert record.text.startswith("JD.com said it will build 2 new warehouses")
    assert record.text.endswith("for rural communities.")
    assert "Great news" not in record.text and "Zhang San" not in record.text


def test_http_headers_in_any_shape_supply_the_charset() -> None:
    from scrapy.http import Headers

    text = "京东将在湖北投资六十亿元。JD invests in Hubei."
    page = f"<html><head><title>湖北</title></head><body><p>{text}</p></body></html>"
    body = page.encode("gbk")  # no <meta> charset: only the HTTP header says what it is
    url = "https://news.example.org/hubei"
    for headers in (
        {"Content-Type": "text/html; charset=GBK"},
        Headers({"Content-Type": "text/html; charset=gbk"}),
        {b"content-type": [b"text/html; charset=gbk"]},
    ):
        assert (
            extract_article(body, url, headers=headers).text
            == "京东将在湖北投资六十亿元。JD invests in Hubei."
        )
    # The header really is read: bytes that are also valid Big5 follow a header that says Big5.
    assert text not in extract_article(body, url, headers={"Content-Type": "text/html; charset=big5"}).text
