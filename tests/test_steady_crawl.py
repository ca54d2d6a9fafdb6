"""The daemon's steady state: what an unchanged crawl and a crawl with a new article fetch, exactly.

Each crawl is a CLI subprocess replaying a tiny JD-like site from a real WARC and recording what it
fetched (``--record``): the recording is the list of requests the site would have answered.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_crawl import (
    ARTICLES,
    HTML,
    SITE,
    TEXT,
    XML,
    Page,
    article_html,
    listing_html,
    sitemap_xml,
    tiny_config,
    write_warc,
)
from warcio.archiveiterator import ArchiveIterator

FRESH = (
    f"{SITE}/jd-to-hire-20000-people-to-keep-deliveries-moving/",
    "JD to Hire 20,000 People to Keep Deliveries Moving",
    "2020-05-02T09:00:00+08:00",
    ["JD will hire 20,000 delivery staff by the end of the year.", "Hiring starts in Hubei."],
)
ROBOTS = f"{SITE}/robots.txt"
HOME, PAGE_2 = f"{SITE}/", f"{SITE}/page/2/"
SITEMAP = f"{SITE}/wp-sitemap.xml"


def site(items: list[tuple[str, str, str, list[str]]], version: str) -> list[Page]:
    """robots.txt, a sitemap, a listing of two stories a page, newest first, and the articles."""
    listed = [item[:3] for item in items]
    pages = [
        Page(ROBOTS, b"User-agent: *\nDisallow: /wp-admin/\n", headers=TEXT),
        Page(
            SITEMAP,
            sitemap_xml([(url, date) for url, _, date, _ in items]),  # lastmod: the publication
            headers=[*XML, ("ETag", f'"sitemap-{version}"')],
        ),
        Page(HOME, listing_html(listed[:2], PAGE_2), headers=[*HTML, ("ETag", f'"home-{version}"')]),
        Page(PAGE_2, listing_html(listed[2:], None), headers=[*HTML, ("ETag", f'"page2-{version}"')]),
    ]
    pages += [Page(url, article_html(title, date, text), headers=HTML) for url, title, date, text in items]
    return pages


def crawl(tmp_path: Path, db: Path, warc: Path, config: Path, name: str) -> tuple[dict, list[str]]:
    """The crawl's summary and the URLs it fetched, in order (from its own recording)."""
    recording = tmp_path / f"{name}.warc.gz"
    result = run_cli(
        "--config", str(config), "--db", str(db), "crawl", "--json", "--replay", str(warc),
        "--record", str(recording),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with recording.open("rb") as stream:
        fetched = [
            record.rec_headers.get_header("WARC-Target-URI")
            for record in ArchiveIterator(stream)
            if record.rec_type == "response"
        ]
    return json.loads(result.stdout), fetched


@pytest.mark.slow
def test_unchanged_and_new_article_crawls_fetch_only_what_changed(tmp_path: Path) -> None:
    old = [ARTICLES[key] for key in ("hubei", "wuhan", "weather")]
    first = write_warc(tmp_path / "first.warc.gz", site(old, "v1"))
    later = write_warc(tmp_path / "later.warc.gz", site([FRESH, *old], "v2"))
    config = tiny_config(tmp_path / "pw.toml", start_urls=[HOME])
    db = tmp_path / "a.db"

    cold, fetched = crawl(tmp_path, db, first, config, "cold")
    assert cold["articles_new"] == 3
    assert sorted(fetched) == sorted([ROBOTS, HOME, PAGE_2, *(a[0] for a in old)])  # every page

    # The listing's 304, and robots.txt is the one the archive kept from the first crawl.
    unchanged, fetched = crawl(tmp_path, db, first, config, "unchanged")
    assert (unchanged["articles_new"], fetched) == (0, [HOME])

    # The new story pushed Wuhan onto page 2, which changed; page 1 still ends with an archived
    # story (Hubei), so page 2 holds nothing new and is not fetched.
    new, fetched = crawl(tmp_path, db, later, config, "new")
    assert new["articles_new"] == 1
    assert sorted(fetched) == sorted([HOME, FRESH[0]])


@pytest.mark.slow
def test_a_listing_that_does_not_end_with_archived_stories_is_followed(tmp_path: Path) -> None:
    # Two new stories fill page 1: page 2 is read, and stops the pagination (all archived).
    old = [ARTICLES[key] for key in ("hubei", "wuhan")]
    second = (f"{SITE}/jd-second-new-story/", "JD second new story", "2020-05-03T09:00:00+08:00", ["Text."])
    first = write_warc(tmp_path / "first.warc.gz", site(old, "v1"))
    later = write_warc(tmp_path / "later.warc.gz", site([second, FRESH, *old], "v2"))
    config = tiny_config(tmp_path / "pw.toml", start_urls=[HOME])
    db = tmp_path / "a.db"
    crawl(tmp_path, db, first, config, "cold")
    new, fetched = crawl(tmp_path, db, later, config, "new")
    assert new["articles_new"] == 2
    assert sorted(fetched) == sorted([HOME, PAGE_2, FRESH[0], second[0]])


@pytest.mark.slow
def test_a_lastmod_equal_to_the_publication_refetches_nothing(tmp_path: Path) -> None:
    # Stored from the listing alone (no modification date known), then the sitemap is read: its
    # lastmod is the publication date, which is the version archived, not an edit.
    old = [ARTICLES[key] for key in ("hubei", "wuhan", "weather")]
    warc = write_warc(tmp_path / "site.warc.gz", site(old, "v1"))
    db = tmp_path / "a.db"
    crawl(tmp_path, db, warc, tiny_config(tmp_path / "listing.toml", start_urls=[HOME]), "cold")
    both = tiny_config(tmp_path / "both.toml", start_urls=[SITEMAP, HOME])
    summary, fetched = crawl(tmp_path, db, warc, both, "with-sitemap")
    assert summary["articles_seen"] == 0
    assert sorted(fetched) == sorted([SITEMAP, HOME])


def robots_site(rules: bytes, headers: list[tuple[str, str]]) -> list[Page]:
    """The three-story site, with these robots.txt rules and headers."""
    pages = site([ARTICLES[key] for key in ("hubei", "wuhan", "weather")], "v1")
    return [Page(ROBOTS, rules, headers=headers) if page.url == ROBOTS else page for page in pages]


@pytest.mark.slow
def test_robots_txt_kept_in_the_archive_is_still_obeyed(tmp_path: Path) -> None:
    warc = write_warc(
        tmp_path / "site.warc.gz",
        robots_site(b"User-agent: *\nDisallow: /spring-weather-update/\n", TEXT),
    )
    config = tiny_config(tmp_path / "pw.toml", start_urls=[HOME])
    db = tmp_path / "a.db"
    first, fetched = crawl(tmp_path, db, warc, config, "first")
    assert ROBOTS in fetched and ARTICLES["weather"][0] not in fetched
    assert first["articles_new"] == 2
    # Page 1 was read completely, page 2 was not (its story is disallowed): page 2 again, and the
    # disallowed story is still not requested, by the rules kept from the first crawl.
    second, fetched = crawl(tmp_path, db, warc, config, "second")
    assert sorted(fetched) == sorted([HOME, PAGE_2])
    assert second["articles_new"] == 0


@pytest.mark.slow
def test_a_robots_txt_the_site_says_not_to_store_is_fetched_every_crawl(tmp_path: Path) -> None:
    rules = b"User-agent: *\nDisallow: /wp-admin/\n"
    warc = write_warc(tmp_path / "site.warc.gz", robots_site(rules, [*TEXT, ("Cache-Control", "no-store")]))
    config = tiny_config(tmp_path / "pw.toml", start_urls=[HOME])
    db = tmp_path / "a.db"
    crawl(tmp_path, db, warc, config, "first")
    _, fetched = crawl(tmp_path, db, warc, config, "second")
    assert fetched == [ROBOTS, HOME]
