"""Levels 2-4 on realistic pairs built from the seeds: exact copies, near-duplicates and stories, edits.

Every pair in tests/data/dedup_pairs/pairs.json goes through ``save_article`` the way the crawl
pipeline sends it, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest
from helpers_dedup import open_session, pairs, record, text, url
from sqlalchemy import func, select

from pledgewatch.store import dedup
from pledgewatch.store.archive import save_article
from pledgewatch.store.models import Article, ArticleVersion, DedupBucket
from pledgewatch.store.queries import article_to_dict


@pytest.fixture
def session(db_url):
    yield from open_session(db_url)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- level 2: exact copies ------------------------------------------------------------------------


def test_same_text_under_another_url_of_the_same_outlet_is_a_duplicate(session):
    first = save_article(session, record("chinadaily", text("cd_001.txt"), 1), ["JD.com"])
    # Re-flowed whitespace and curly vs straight quotes are the same text.
    copy = text("cd_001.txt").replace("\n", "\n\n").replace("’", "'")
    second = save_article(session, record("chinadaily", copy, 2), ["JD.com"])
    session.commit()
    assert second.status == "duplicate" and second.duplicate_by == "text"
    assert second.article.id == first.article.id
    assert count(session, Article) == 1
    assert url("chinadaily", 2) in article_to_dict(second.article)["urls"]


def test_same_text_from_another_outlet_is_a_separate_article_of_the_same_story(session):
    first = save_article(session, record("chinadaily", text("cd_001.txt"), 1), [])
    second = save_article(session, record("people", text("cd_001.txt"), 1, outlet="China Daily"), [])
    session.commit()
    assert second.status == "new"
    assert second.article.id != first.article.id
    assert second.article.story_id == first.article.story_id is not None


def test_short_identical_texts_are_not_merged(session):
    # Two extractions that kept only a stub ("page not found", a teaser) say nothing about identity.
    stub = "This page has moved. Please visit the homepage of China Daily for the latest news."
    first = save_article(session, record("chinadaily", stub, 1), [])
    second = save_article(session, record("chinadaily", stub, 2), [])
    session.commit()
    assert (first.status, second.status) == ("new", "new")
    assert first.article.story_id != second.article.story_id
    assert count(session, DedupBucket) == 0


# --- level 3: near-duplicates and stories -------------------------------------------------------


@pytest.mark.parametrize("pair", pairs("duplicate"), ids=lambda p: p.id)
def test_same_outlet_near_duplicate_becomes_an_alias(session, pair):
    first = save_article(session, record(pair.a_source, text(pair.a), 1), [])
    second = save_article(session, record(pair.b_source, text(pair.b), 2), [])
    session.commit()
    assert second.status == "duplicate" and second.duplicate_by == "near"
    assert second.article.id == first.article.id
    assert second.similarity is not None and second.similarity >= dedup.DUPLICATE_JACCARD
    assert count(session, Article) == 1
    assert set(article_to_dict(first.article)["urls"]) == {url(pair.a_source, 1), url(pair.b_source, 2)}
    assert first.article.version == 1  # a copy is not an edit


@pytest.mark.parametrize("pair", pairs("same_story"), ids=lambda p: p.id)
def test_another_outlets_copy_joins_the_story(session, pair):
    first = save_article(session, record(pair.a_source, text(pair.a), 1), [])
    second = save_article(session, record(pair.b_source, text(pair.b), 1), [])
    session.commit()
    assert second.status == "new"
    assert second.article.id != first.article.id
    assert second.article.story_id == first.article.story_id
    assert article_to_dict(second.article)["story_id"] == article_to_dict(first.article)["story_id"]


@pytest.mark.parametrize("pair", pairs("different", "rewrite"), ids=lambda p: p.id)
def test_different_stories_stay_apart(session, pair):
    first = save_article(session, record(pair.a_source, text(pair.a), 1), [])
    second = save_article(session, record(pair.b_source, text(pair.b), 2), [])
    session.commit()
    assert second.status == "new"
    assert second.article.story_id != first.article.story_id


def test_same_pledge_in_a_different_story_is_not_the_same_story(session):
    """Seeds 000 and 003 report the same RMB 6 bn Hubei pledge; linking them is the pledges' job."""
    jd = save_article(session, record("jd", text("jd_000.txt"), 1), ["JD.com"])
    people = save_article(session, record("people", text("people_003.txt"), 1), ["JD.com"])
    session.commit()
    assert people.status == "new"
    assert people.article.story_id != jd.article.story_id


def test_a_story_gathers_every_outlet_that_carries_it(session):
    cd = save_article(session, record("chinadaily", text("cd_001.txt"), 1), [])
    people = save_article(session, record("people", text("people_001_republished.txt"), 1), [])
    # The Hong Kong print edition of the China Daily story: China Daily's own duplicate, not a third article.
    hk = save_article(session, record("chinadaily", text("cd_001_hkprint.txt"), 2), [])
    other = save_article(session, record("chinadaily", text("cd_004.txt"), 3), [])
    session.commit()
    story = select(Article.id).where(Article.story_id == cd.article.story_id).order_by(Article.id)
    assert list(session.scalars(story)) == [cd.article.id, people.article.id]
    assert hk.status == "duplicate" and hk.article.id == cd.article.id
    assert other.article.story_id != cd.article.story_id


# --- level 4: edits ------------------------------------------------------------------------------


def test_changed_text_under_the_same_url_is_a_new_version(session):
    first = save_article(session, record("jd", text("jd_000.txt"), 1), ["JD.com"])
    session.commit()
    edited = save_article(session, record("jd", text("jd_000_edited.txt"), 1, minutes=90), ["JD.com"])
    session.commit()
    article = edited.article
    assert edited.status == "updated"
    assert article.id == first.article.id
    assert article.version == 2
    assert article.updated_at is not None and article.updated_at > article.fetched_at
    assert "1,600 tons" in article.text
    versions = session.scalars(
        select(ArticleVersion).where(ArticleVersion.article_id == article.id).order_by(ArticleVersion.version)
    ).all()
    assert [v.version for v in versions] == [1, 2]
    assert "1,400 tons" in versions[0].text
    assert "-" in versions[1].diff and "1,400 tons" in versions[1].diff and "+" in versions[1].diff
    assert "1,600 tons" in versions[1].diff
    assert article_to_dict(article)["version"] == 2
    # Fetched again unchanged: nothing new.
    assert save_article(session, record("jd", text("jd_000_edited.txt"), 1), []).status == "unchanged"
    assert article.version == 2


def test_edit_reached_through_a_url_variant_is_still_an_edit(session):
    save_article(session, record("jd", text("jd_000.txt"), at="https://jdcorporateblog.com/jd-hubei/"), [])
    edited = save_article(
        session,
        record("jd", text("jd_000_edited.txt"), at="http://www.jdcorporateblog.com/jd-hubei?utm_source=rss"),
        [],
    )
    session.commit()
    assert edited.status == "updated" and edited.article.version == 2


def test_edited_text_under_another_url_is_a_duplicate_not_an_edit(session):
    """The same outlet's near-identical text under a different article URL is a copy, not an edit."""
    first = save_article(session, record("jd", text("jd_000.txt"), 1), [])
    other_url = save_article(session, record("jd", text("jd_000_edited.txt"), 2), [])
    session.commit()
    assert other_url.status == "duplicate" and other_url.article.id == first.article.id
    assert first.article.version == 1
    assert "1,400 tons" in first.article.text


def test_an_edit_refiles_the_article_for_later_copies(session):
    """After an edit, a copy of the new text elsewhere finds the edited article."""
    jd = save_article(session, record("jd", text("jd_002.txt"), 1), [])
    save_article(session, record("jd", text("cd_004.txt"), 1), [])  # the post was replaced wholesale
    session.commit()
    copy = save_article(session, record("people", text("cd_004.txt"), 1), [])
    session.commit()
    assert copy.article.story_id == jd.article.story_id
    assert count(session, DedupBucket) == 2 * dedup.LSH_BANDS
