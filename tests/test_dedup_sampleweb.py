"""The sample web's ground truth through the archive: one syndicated pair, one edit, no false merges.

The manifest (pledgewatch/data/sampleweb-manifest.json) holds every article's clean body text and
its relations; the WARC holds the URLs a crawl meets. 45 articles written in the outlets' style,
several of them JD pledges in similar words, are a realistic test of the thresholds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from helpers_dedup import FETCHED, open_session
from sqlalchemy import func, select
from warcio.archiveiterator import ArchiveIterator

from pledgewatch.records import ArticleRecord
from pledgewatch.sampleweb import FIRST_WARC, load_manifest
from pledgewatch.spiders.urls import canonicalize, identify
from pledgewatch.store.archive import find_known_article, save_article
from pledgewatch.store.models import Article, ArticleVersion

MANIFEST = load_manifest()
ARTICLES = sorted(MANIFEST["articles"], key=lambda a: a["published"])
SYNDICATED = MANIFEST["special_pages"]["syndicated"]
EDITED = MANIFEST["special_pages"]["edited_in_later"]


@pytest.fixture
def session(db_url):
    yield from open_session(db_url)


def as_record(article: dict, later: bool = False, minutes: int = 0) -> ArticleRecord:
    version = article["later"] if later and article.get("later") else article
    return identify(
        ArticleRecord(
            url=article["url"],
            source=article["source"],
            title=version.get("title", article["title"]),
            text=version["text"],
            authors=article["authors"],
            published=datetime.fromisoformat(article["published"]),
            outlet=article["outlet"],
            fetched_at=FETCHED + timedelta(minutes=minutes),
        )
    )


def test_first_snapshot_keeps_every_article_and_groups_only_the_syndicated_pair(session):
    results = {a["url"]: save_article(session, as_record(a), []) for a in ARTICLES}
    session.commit()
    assert {r.status for r in results.values()} == {"new"}
    assert session.scalar(select(func.count()).select_from(Article)) == len(ARTICLES)
    stories: dict[int, list[str]] = {}
    for url, result in results.items():
        stories.setdefault(result.article.story_id, []).append(url)
    shared = [sorted(urls) for urls in stories.values() if len(urls) > 1]
    assert shared == [sorted([SYNDICATED[0]["original"], SYNDICATED[0]["republished"]])]
    # Seeds 000 (JD blog) and 003 (People's Daily) report the same pledge in different stories.
    seeds = MANIFEST["special_pages"]["seeds"]
    hubei_blog, hubei_people = seeds["000_87c92a4e2c955b78.txt"], seeds["003_e6876707a9cf0135.txt"]
    assert results[hubei_blog].article.story_id != results[hubei_people].article.story_id


def test_later_snapshot_records_the_edit_and_nothing_else(session):
    for article in ARTICLES:
        save_article(session, as_record(article), [])
    session.commit()
    later = {a["url"]: save_article(session, as_record(a, later=True, minutes=60), []) for a in ARTICLES}
    session.commit()
    statuses = {url: r.status for url, r in later.items()}
    assert {url for url, status in statuses.items() if status == "updated"} == set(EDITED)
    assert set(statuses.values()) == {"updated", "unchanged"}
    edited = later[EDITED[0]].article
    assert edited.version == 2
    assert "12 Billion" in edited.title
    diff = session.scalar(
        select(ArticleVersion.diff).where(ArticleVersion.article_id == edited.id, ArticleVersion.version == 2)
    )
    assert "-JD.com pledged today to help sell RMB 10 billion" in diff
    assert "+JD.com pledged today to help sell RMB 12 billion" in diff


def test_every_archived_article_url_is_canonical_with_a_publisher_id(session):
    with FIRST_WARC.open("rb") as handle:
        warc_urls = {
            record.rec_headers.get_header("WARC-Target-URI")
            for record in ArchiveIterator(handle)
            if record.rec_type == "response"
        }
    article_urls = {a["url"] for a in ARTICLES if a["url"] in warc_urls}
    assert len(article_urls) >= 40
    for url in article_urls:
        canonical = canonicalize(url)
        assert canonical.url == url and canonical.article_key is not None, url
    # Variants of archived article URLs are recognised before they are fetched.
    for article in ARTICLES:
        save_article(session, as_record(article), [])
    session.commit()
    for url in sorted(article_urls):
        variant = (
            url.replace("https://", "http://m.", 1).replace("m.www.", "m.", 1) + "?utm_source=feed#comments"
        )
        known = find_known_article(session, variant, canonicalize(variant))
        assert known is not None, variant
