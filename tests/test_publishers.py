"""Every publisher's stored pages parse to their expected JSON (Fundus-style publisher tests).

A new publisher is tested by adding tests/data/publishers/<name>/{article.html,article.expected.json,
listing.html,listing.expected.json,feed.xml,feed.expected.json}: nothing here changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_parsers import (
    NOISE_MARKERS,
    PUBLISHERS_DIR,
    expected_time,
    first,
    fixture_dirs,
    fixture_id,
    load_expected,
)

from pledgewatch.crawler.discovery import parse_feed, parse_listing
from pledgewatch.crawler.extraction import parser_for
from pledgewatch.spiders.publisher import all_publishers, publisher_for_url


def test_every_publisher_has_fixture_pages() -> None:
    for name in all_publishers():
        assert (PUBLISHERS_DIR / name).is_dir(), f"no fixtures for publisher {name}"
        assert any(p.is_relative_to(PUBLISHERS_DIR / name) for p in fixture_dirs("article.html")), name


@pytest.mark.parametrize("case", fixture_dirs("article.html"), ids=fixture_id)
def test_article_page_parses_to_expected_fields(case: Path) -> None:
    expected = load_expected(case / "article.expected.json")
    url = expected["url"]
    publisher = publisher_for_url(url)
    assert publisher is not None, f"{url} belongs to no publisher"
    parser = parser_for(url)((case / "article.html").read_bytes(), url)
    record = parser.record()

    assert record.source == publisher.name
    assert record.title == expected["title"]
    assert record.authors == expected["authors"]
    assert record.published == expected_time(expected["published"])
    assert record.published is not None and record.published.utcoffset() is not None
    if "outlet" in expected:
        assert record.outlet == expected["outlet"]
    body_start = first(expected, "body_start", "text_start")
    body_end = first(expected, "body_end", "text_end")
    assert record.text.startswith(body_start), record.text[:200]
    assert record.text.endswith(body_end), record.text[-200:]
    for marker in (*NOISE_MARKERS, *expected.get("noise", [])):
        assert marker not in record.text, f"noise {marker!r} in body"
    # The headline and the byline are fields, not the first lines of the text.
    assert not record.text.startswith(record.title)
    for author in record.authors:
        assert f"by {author}".lower() not in record.text.lower()


@pytest.mark.parametrize("case", fixture_dirs("listing.html"), ids=fixture_id)
def test_listing_page_yields_expected_articles_and_next_page(case: Path) -> None:
    expected = load_expected(case / "listing.expected.json")
    page = parse_listing((case / "listing.html").read_bytes(), expected["url"])

    assert page.urls == first(expected, "article_urls", "articles")
    assert page.next_page == expected["next_page"]
    if "published" in expected:
        assert [link.published for link in page.links] == [expected_time(v) for v in expected["published"]]


@pytest.mark.parametrize("case", fixture_dirs("feed.xml"), ids=fixture_id)
def test_feed_yields_expected_articles(case: Path) -> None:
    expected = load_expected(case / "feed.expected.json")
    page = parse_feed((case / "feed.xml").read_bytes(), expected["url"], publisher_for_url(expected["url"]))

    assert page.urls == first(expected, "article_urls", "articles")
    if "published" in expected:
        assert [link.published for link in page.links] == [expected_time(v) for v in expected["published"]]
