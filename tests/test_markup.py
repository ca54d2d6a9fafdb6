"""The parsers follow the real sites' markup, survive a layout change and say when they fell back.

Pages are the per-publisher fixtures (tests/data/publishers, built to docs/extraction.md's evidence)
and the shipped sample web read back from its real WARC files.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from helpers_parsers import PUBLISHERS_DIR
from helpers_sampleweb import read_warc

from pledgewatch.crawler.discovery import parse_listing
from pledgewatch.sampleweb import FIRST_WARC, LATER_WARC, load_manifest
from pledgewatch.spiders.parsing import NotAnArticle, extract_article, parser_for, split_authors
from pledgewatch.spiders.publisher import get_publisher
from pledgewatch.spiders.urls import canonicalize

BEIJING = timezone(timedelta(hours=8))
PEOPLE_3PAGES = PUBLISHERS_DIR / "people" / "extra" / "evidence-3pages"
CD = PUBLISHERS_DIR / "chinadaily" / "extra"


@pytest.fixture(scope="module")
def first() -> dict:
    return read_warc(FIRST_WARC)


@pytest.fixture(scope="module")
def later() -> dict:
    return read_warc(LATER_WARC)


# ---- People's Daily ------------------------------------------------------------------------------


def test_people_body_is_the_containers_own_paragraphs_without_captions_pager_or_follow_line() -> None:
    url = "http://en.people.cn/n3/2020/1119/c90000-9780123.html"
    record = extract_article((PEOPLE_3PAGES / "article.html").read_bytes(), url)

    assert record.text.split("\n\n") == [
        "JD.com opened a smart logistics park in Xi'an, Northwest China's Shaanxi province, on Wednesday, "
        "the company's largest in the region.",
        "The park covers 200,000 square meters and can handle 1.5 million parcels a day, the company said.",
    ]
    assert (record.authors, record.outlet) == (["Liu Xinwu", "Bi Jingjin"], "People's Daily")
    assert record.published == datetime(2020, 11, 19, 9, 1, tzinfo=BEIJING)
    assert record.page_urls == [
        "http://en.people.cn/n3/2020/1119/c90000-9780123-2.html",
        "http://en.people.cn/n3/2020/1119/c90000-9780123-3.html",
    ]
    assert record.extraction is not None
    assert record.extraction["version"] == "w860-d2txtCon"
    assert record.extraction["fields"]["body"] == "w860-d2txtCon#1"  # the first selector of the layout
    assert record.extraction["fields"]["published"] == "origin"


def test_people_agency_copy_names_no_author() -> None:
    page = (PEOPLE_3PAGES / "article.html").read_text(encoding="utf-8")
    page = page.replace("By Liu Xinwu, Bi Jingjin ( People's Daily )", "( Xinhua )")
    record = extract_article(page, "http://en.people.cn/n3/2020/1119/c90000-9780123.html")
    assert (record.authors, record.outlet) == ([], "Xinhua")


def test_a_continuation_page_gathers_no_pages_and_canonicalises_to_page_1() -> None:
    url = "http://en.people.cn/n3/2020/1119/c90000-9780123-2.html"
    parser = parser_for(url)((PEOPLE_3PAGES / "article-2.html").read_bytes(), url)
    assert parser.page_urls() == []
    assert canonicalize(url).url == "https://en.people.cn/n3/2020/1119/c90000-9780123.html"


def test_the_older_people_layout_is_read_by_its_own_version(first: dict) -> None:
    (url,) = load_manifest()["special_pages"]["older_article_layout"]
    response = first[url]
    record = extract_article(response.body, url, headers=response.headers)
    assert record.extraction["version"] == "d2txt_con"
    assert record.extraction["fields"]["body"] == "d2txt_con#1"
    assert "京东" in record.text


@pytest.mark.parametrize(
    ("markup", "layout"),
    [
        ('<div class="foreign_d2list"><ul class="foreign_list8 cf">{items}</ul></div>', "foreign_list8"),
        ('<ul class="foreign_list7 cf">{items}</ul>', "foreign_list7"),
        ('<div id="tiles"><ul>{tiles}</ul></div>', "tiles"),
        ('<div class="on1 clear">{h3}</div>', "on1"),
    ],
)
def test_people_listing_variants_and_index_paging(markup: str, layout: str) -> None:
    hrefs = ["/n3/2024/0105/c90000-20118123.html", "/n3/2024/0104/c90000-20117555.html"]
    items = "".join(f'<li><a href="{h}">Story</a><span>2024-01-05 10:00</span></li>' for h in hrefs)
    tiles = "".join(f'<li><p><a href="{h}">Story</a></p></li>' for h in hrefs)
    h3 = "".join(f'<h3><a href="{h}">Story</a></h3>' for h in hrefs)
    sidebar = '<div class="hot"><a href="/n3/2023/0101/c90000-20000001.html">Most read</a></div>'
    page = f"<html><body>{markup.format(items=items, tiles=tiles, h3=h3)}{sidebar}</body></html>"

    listing = parse_listing(page, "http://en.people.cn/90777/index2.html")
    assert listing.urls == [f"http://en.people.cn{h}" for h in hrefs]  # the sidebar link is no item
    assert (listing.layout, listing.fallback) == (layout, False)
    # No pager on en.people.cn: index2.html is followed by index3.html while pages hold items.
    assert listing.next_page == "http://en.people.cn/90777/index3.html"
    assert parse_listing(page, "http://en.people.cn/90777/index.html").next_page == (
        "http://en.people.cn/90777/index2.html"
    )


def test_an_empty_people_index_page_ends_the_listing_without_a_fallback() -> None:
    page = (
        '<html><body><div class="foreign_d2list"><ul class="foreign_list8 cf"></ul></div>'
        '<div class="hot_news"><a href="/n3/2023/0101/c90000-20000001.html">Most popular</a></div>'
        "</body></html>"
    )
    listing = parse_listing(page, "http://en.people.cn/90777/index7.html")
    assert (listing.urls, listing.next_page, listing.fallback) == ([], None, False)


# ---- China Daily ---------------------------------------------------------------------------------


def test_china_daily_listing_yields_the_featured_block_the_list_does_not_repeat() -> None:
    listing = parse_listing(
        (CD / "china-us-2019" / "listing.html").read_bytes(), "https://www.chinadaily.com.cn/world/china-us"
    )
    assert len(listing.urls) == 9  # 5 featured + 4 list items: the right column is not this channel
    assert "WS5d25aa11a3105895c2e7ab00" not in " ".join(listing.urls)
    assert (listing.layout, listing.fallback) == ("2017www", False)


@pytest.mark.parametrize(
    ("url", "article_id"),
    [
        (
            "https://www.chinadaily.com.cn/a/202004/09/WS5e8e7a0ba310aeaeeed50e01.html",
            "WS5e8e7a0ba310aeaeeed50e01",
        ),
        (
            "https://www.chinadaily.com.cn/a/202004/09/WS5e8e7a0ba310aeaeeed50e01_2.html",
            "WS5e8e7a0ba310aeaeeed50e01",
        ),
        ("http://www.chinadaily.com.cn/business/2016-01/13/content_23066150.htm", "content_23066150"),
        ("http://europe.chinadaily.com.cn/business/2016-01/13/content_23066150.htm", "content_23066150"),
        ("http://usa.chinadaily.com.cn/world/2015-09/22/content_21947834_3.htm", "content_21947834"),
        ("http://www.chinadaily.com.cn/business/", None),
        ("http://www.chinadaily.com.cn/world/china-us/page_2.html", None),
    ],
)
def test_both_china_daily_url_schemes_are_articles(url: str, article_id: str | None) -> None:
    assert get_publisher("chinadaily").article_id(url) == article_id


def test_a_pre_2018_page_on_a_regional_host_parses() -> None:
    url = "http://europe.chinadaily.com.cn/business/2016-01/13/content_23066150.htm"
    record = extract_article((CD / "content-scheme" / "article.html").read_bytes(), url)
    assert record.canonical is not None and record.canonical.article_key == "chinadaily:content_23066150"
    # The regional edition's page stays on its host; a mobile or www variant is the main host.
    assert record.canonical.url == url.replace("http://", "https://")
    assert canonicalize(url.replace("europe.", "m.")).url == url.replace("http://europe.", "https://www.")
    assert (record.authors, record.outlet) == ([], "Xinhua")


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        (
            "By OUYANG SHIJIA/ZHOU LANXU | China Daily | Updated: 2022-02-25 07:05",
            ["Ouyang Shijia", "Zhou Lanxu"],
        ),
        ("By MINLU ZHANG in New York | China Daily | Updated: 2022-02-25 07:05", ["Minlu Zhang"]),
        ("Xinhua | Updated: 2022-03-10 21:37", []),
    ],
)
def test_china_daily_byline_forms(byline: str, names: list[str]) -> None:
    assert split_authors(byline) == names


def test_a_buddhist_era_date_gives_way_to_the_urls_date() -> None:
    url = "https://www.chinadaily.com.cn/a/202605/17/WS6a0925b0a310c7a1d2f0e111.html"
    record = extract_article((CD / "buddhist-era" / "article.html").read_bytes(), url)
    assert record.published == datetime(2026, 5, 17, tzinfo=BEIJING)
    assert record.extraction["fields"]["published"] == "url_date"


def test_a_date_in_the_future_or_before_the_site_existed_is_replaced() -> None:
    page = (CD / "buddhist-era" / "article.html").read_text(encoding="utf-8")
    url = "https://www.chinadaily.com.cn/a/202004/09/WS5e8e7a0ba310aeaeeed50e01.html"
    for printed in ("2020-04-09 09:25", "2020-04-11 09:25"):
        ok = extract_article(page.replace("2569-05-17 20:43", printed), url)
        assert ok.published == datetime.fromisoformat(printed + "+08:00")  # within a few days: trusted
        assert ok.extraction["fields"]["published"] == "byline"
    for printed in ("1970-01-01 08:00", "2020-05-20 09:25", "2099-04-09 09:25"):
        record = extract_article(page.replace("2569-05-17 20:43", printed), url)
        assert record.published == datetime(2020, 4, 9, tzinfo=BEIJING), printed
        assert record.extraction["fields"]["published"] == "url_date"


# ---- failed fields are not articles ------------------------------------------------------------


def test_a_page_titled_with_the_sites_name_or_with_too_little_text_is_not_an_article() -> None:
    url = "https://www.chinadaily.com.cn/a/202202/25/WS62180a1fa310cdd39bc88b4e.html"
    page = (CD / "slash-byline" / "article.html").read_text(encoding="utf-8")
    with pytest.raises(NotAnArticle, match="site's name"):
        extract_article(
            page.replace("<h1>Digital economy outpaces GDP growth</h1>", "<h1>China Daily</h1>"), url
        )
    short = (
        page.split('<div id="Content">')[0] + '<div id="Content"><p>Share this story.</p></div></body></html>'
    )
    with pytest.raises(NotAnArticle, match="not an article"):
        extract_article(
            short.replace("Share this story.", "Follow China Daily on WeChat for more news."), url
        )


# ---- the sample web: a later layout change is caught by the fallback -----------------------------


def test_the_redesigned_listing_is_still_crawled_through_the_fallback(first: dict, later: dict) -> None:
    manifest = load_manifest()
    changed = manifest["special_pages"]["changed_listing_markup"]
    assert changed["first"] == [] and changed["later"]
    listings = {item["url"]: item for item in manifest["snapshots"]["later"]["listings"]}
    for url in changed["later"]:
        before = parse_listing(first[url].body, url) if url in first else None
        after = parse_listing(later[url].body, url)
        if before is not None:
            assert not before.fallback
        assert after.fallback and "no listing item matched" in after.reason
        # Every article the page lists is found (the fallback may add the page's other article links).
        assert set(listings[url]["article_urls"]) <= set(after.urls)
        assert after.next_page == listings[url]["next_page"]


def test_every_sample_web_article_records_its_parser_version(first: dict) -> None:
    manifest = load_manifest()
    for article in manifest["articles"]:
        if "first" not in article["snapshots"]:
            continue
        response = first[article["url"]]
        record = extract_article(response.body, article["url"], headers=response.headers)
        assert record.extraction["version"] != "generic", article["url"]
        assert record.extraction["fields"]["body"] not in {"generic", "failed"}, article["url"]
        assert record.page_urls == article["page_urls"][1:]
    assert json.dumps(record.extraction)  # JSON-ready, as the store keeps it
