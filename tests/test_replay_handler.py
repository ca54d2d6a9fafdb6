"""The replay download handler and the Retry-After / modification rules, in-process and fast."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from helpers_crawl import HTML, Page, write_warc
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from pledgewatch.crawler.middlewares import is_newer, retry_after_seconds
from pledgewatch.crawler.replay import MISSING_STAT, ReplayDownloadHandler, url_key

PAGE = "https://en.people.cn/n3/2020/0430/c90000-9685505.html"
FEED = "https://jdcorporateblog.com/feed/"
DIRECTORY = "https://jdcorporateblog.com/some-post/"


@pytest.fixture
def handler(tmp_path: Path) -> ReplayDownloadHandler:
    archive = write_warc(
        tmp_path / "site.warc.gz",
        [
            Page(PAGE, b"<html><body><p>Hubei recovers.</p></body></html>", headers=HTML),
            Page(
                FEED,
                b"<rss><channel></channel></rss>",
                headers=[
                    ("Content-Type", "application/rss+xml"),
                    ("ETag", '"feed-1"'),
                    ("Last-Modified", "Wed, 08 Apr 2020 02:00:00 GMT"),
                ],
            ),
            Page(
                DIRECTORY,
                gzip.compress(b"<html><body><p>Compressed on the wire.</p></body></html>"),
                headers=[*HTML, ("Content-Encoding", "gzip")],
            ),
        ],
    )
    crawler = get_crawler(settings_dict={"PLEDGEWATCH_REPLAY_WARC": str(archive)})
    crawler.stats.open_spider()
    return ReplayDownloadHandler.from_crawler(crawler)


def fetch(handler: ReplayDownloadHandler, url: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return asyncio.run(handler.download_request(Request(url, headers=headers)))


def test_archived_page_is_served_at_its_url(handler: ReplayDownloadHandler) -> None:
    response = fetch(handler, PAGE)
    assert isinstance(response, HtmlResponse)
    assert response.status == 200
    assert b"Hubei recovers." in response.body
    assert response.url == PAGE


def test_scheme_and_trailing_slash_variants_find_the_page(handler: ReplayDownloadHandler) -> None:
    assert fetch(handler, PAGE.replace("https://", "http://")).status == 200
    assert fetch(handler, DIRECTORY.rstrip("/")).status == 200
    assert fetch(handler, DIRECTORY + "#comments").status == 200
    assert url_key("HTTP://JDcorporateblog.com/a/") == url_key("https://jdcorporateblog.com/a")


def test_encoded_bodies_are_served_decoded(handler: ReplayDownloadHandler) -> None:
    response = fetch(handler, DIRECTORY)
    assert b"Compressed on the wire." in response.body
    assert b"Content-Encoding" not in response.headers


def test_missing_url_is_a_404_and_listed(handler: ReplayDownloadHandler) -> None:
    missing = "https://jdcorporateblog.com/never-archived/"
    response = fetch(handler, missing)
    assert response.status == 404
    fetch(handler, missing)
    assert handler.crawler.stats.get_value(MISSING_STAT) == [missing]


def test_conditional_requests_get_304_against_recorded_validators(handler: ReplayDownloadHandler) -> None:
    assert fetch(handler, FEED, {"If-None-Match": '"feed-1"'}).status == 304
    assert fetch(handler, FEED, {"If-None-Match": '"feed-0"'}).status == 200
    later = format_datetime(datetime(2020, 5, 1, tzinfo=UTC), usegmt=True)
    earlier = format_datetime(datetime(2020, 4, 1, tzinfo=UTC), usegmt=True)
    assert fetch(handler, FEED, {"If-Modified-Since": later}).status == 304
    assert fetch(handler, FEED, {"If-Modified-Since": earlier}).status == 200
    # A page without validators is always sent in full.
    assert fetch(handler, PAGE, {"If-Modified-Since": later}).status == 200


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds(b"120") == 120.0
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None


def test_only_a_later_announced_modification_refetches_an_article() -> None:
    stored = datetime(2020, 4, 8, 2, 0, tzinfo=UTC)
    assert is_newer(datetime(2020, 4, 20, tzinfo=UTC), stored)
    assert not is_newer(stored, stored)
    assert not is_newer(datetime(2020, 4, 1, tzinfo=UTC), stored)
    assert not is_newer(None, stored)  # nothing announced: never refetched
    assert is_newer(datetime(2020, 4, 1, tzinfo=UTC), None)
