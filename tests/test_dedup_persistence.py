"""A restart forgets nothing: a new engine and session still catch every kind of duplicate."""

from __future__ import annotations

from helpers_dedup import open_session, record, text, url
from sqlalchemy import func, select

from pledgewatch.spiders.urls import canonicalize
from pledgewatch.store import dedup
from pledgewatch.store.archive import find_known_article, save_article
from pledgewatch.store.models import Article, DedupBucket


def first_run(db_url: str) -> dict[str, int]:
    for session in open_session(db_url):
        cd = save_article(session, record("chinadaily", text("cd_001.txt"), 1), [])
        jd = save_article(session, record("jd", text("jd_000.txt"), 1), [])
        session.commit()
        return {"cd": cd.article.id, "jd": jd.article.id, "story": cd.article.story_id}
    raise AssertionError


def test_duplicates_are_caught_after_a_restart(db_url):
    ids = first_run(db_url)
    # A new process: new engine, new session, nothing in memory.
    for session in open_session(db_url):
        variant = url("chinadaily", 1).replace("https://www.", "http://m.") + "?utm_source=wechat#top"
        assert find_known_article(session, variant, canonicalize(variant)).article_id == ids["cd"]
        exact = save_article(session, record("chinadaily", text("cd_001.txt"), 7), [])
        near = save_article(session, record("chinadaily", text("cd_001_hkprint.txt"), 8), [])
        syndicated = save_article(session, record("people", text("people_001_republished.txt"), 1), [])
        edit = save_article(session, record("jd", text("jd_000_edited.txt"), 1, minutes=30), [])
        session.commit()
        assert (exact.status, exact.article.id) == ("duplicate", ids["cd"])
        assert (near.status, near.article.id) == ("duplicate", ids["cd"])
        assert syndicated.status == "new" and syndicated.article.story_id == ids["story"]
        assert (edit.status, edit.article.id, edit.article.version) == ("updated", ids["jd"], 2)
    for session in open_session(db_url):
        assert session.scalar(select(func.count()).select_from(Article)) == 3
        assert save_article(session, record("jd", text("jd_000_edited.txt"), 1), []).status == "unchanged"


def test_refile_rebuilds_the_lsh_index(db_url):
    ids = first_run(db_url)
    for session in open_session(db_url):
        session.execute(DedupBucket.__table__.delete())
        session.commit()
        # Without buckets the republished copy cannot be found...
        assert (
            dedup.find_similar(
                session,
                dedup.shingles(text("people_001_republished.txt")),
                dedup.signature(dedup.shingles(text("people_001_republished.txt"))),
            )
            == []
        )
        assert dedup.refile(session, batch=1) == 2
        assert session.scalar(select(func.count()).select_from(DedupBucket)) == 2 * dedup.LSH_BANDS
        # ...after refiling it is.
        copy = save_article(session, record("people", text("people_001_republished.txt"), 1), [])
        assert copy.article.story_id == ids["story"]
