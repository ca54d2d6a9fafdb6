"""Level 1: URL variants of one article are one article, under one canonical URL, every URL kept."""

from __future__ import annotations

import pytest
from helpers_dedup import open_session, record, text

from pledgewatch.spiders.urls import canonical_url, canonicalize, same_article
from pledgewatch.store.archive import find_known_article, save_article
from pledgewatch.store.queries import article_to_dict

CD = "https://www.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a.html"
PEOPLE = "https://en.people.cn/n3/2020/0430/c90000-9685505.html"
JD = "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/"


@pytest.fixture
def session(db_url):
    yield from open_session(db_url)


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        # scheme, www./m./global. hosts, tracking parameters, fragments, page 2 on another host
        ("http://www.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a.html", CD),
        ("//www.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a.html", CD),
        ("https://m.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a.html?utm_source=wechat", CD),
        ("https://global.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a_2.html#comments", CD),
        ("https://WWW.CHINADAILY.COM.CN:443/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a.html?from=timeline", CD),
        (
            "http://en.people.com.cn/n3/2020/0430/c90000-9685505.html?from=singlemessage&isappinstalled=0",
            PEOPLE,
        ),
        ("https://en.people.cn/n3/2020/0430/c90000-9685505-2.html", PEOPLE),
        ("https://www.jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei", JD),
        ("https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/amp/", JD),
        (
            "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/?utm_medium=rss&fbclid=x",
            JD,
        ),
        # generic rules on a site pledgewatch has no publisher for
        (
            "HTTP://M.Example.COM/news/index.html?b=2&a=1&utm_campaign=z&spm=a.b#top",
            "https://example.com/news/?a=1&b=2",
        ),
        (
            "https://www.example.com/news/story.print.html?view=print&id=7",
            "https://example.com/news/story.html?id=7",
        ),
        ("https://example.com/news/story/print/", "https://example.com/news/story/"),
    ],
)
def test_variants_reduce_to_the_canonical_url(variant, canonical):
    assert canonical_url(variant) == canonical


OTHER_CD = "https://www.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0b.html"


def test_publisher_article_ids_are_the_same_article_on_any_host():
    assert canonicalize(
        "https://usa.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a.html"
    ).article_key == ("chinadaily:WS5e8e6a2fa3105d50a3d14f0a")
    assert canonicalize("http://en.people.com.cn/n3/2020/0430/c90000-9685505.html").article_key == (
        "people:c90000-9685505"
    )
    # A China Daily id under another date path is still the same article.
    assert same_article(CD, "https://www.chinadaily.com.cn/a/202004/10/WS5e8e6a2fa3105d50a3d14f0a.html")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (CD, "https://www.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0b.html"),
        (PEOPLE, "https://en.people.cn/n3/2020/0430/c90000-9685506.html"),
        (JD, "https://jdcorporateblog.com/jd-esg-rural-revitalization/"),
        ("https://example.com/article?id=7", "https://example.com/article?id=8"),
        ("https://example.com/a/1.html", "https://other.example.org/a/1.html"),
    ],
)
def test_different_articles_stay_different(a, b):
    assert not same_article(a, b)


def test_listing_pages_are_not_articles():
    assert canonicalize("https://jdcorporateblog.com/page/2/").article_key is None
    assert canonicalize("https://jdcorporateblog.com/page/2/").publisher == "jd"
    assert canonicalize("https://en.people.cn/90777/index.html").url == "https://en.people.cn/90777/"


def test_not_a_url_is_refused():
    with pytest.raises(ValueError):
        canonicalize("mailto:tracy.yang@jd.com")


def test_seen_url_check_catches_variants_and_keeps_every_alias(session):
    result = save_article(session, record("chinadaily", text("cd_001.txt"), at=CD + "?utm_source=rss"), [])
    session.commit()
    assert result.status == "new"
    assert result.article.canonical_url == CD

    for variant in (
        "http://m.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a.html",
        "https://global.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a.html#top",
        "https://www.chinadaily.com.cn/a/202004/10/WS5e8e6a2fa3105d50a3d14f0a.html",
    ):
        known = find_known_article(session, variant, canonicalize(variant))
        assert known is not None and known.article_id == result.article.id
    assert (
        find_known_article(session, OTHER_CD, canonicalize(OTHER_CD))
        is None
    )

    # Fetched anyway under a variant (a feed linked it): the same article, the URL becomes an alias.
    mobile = "https://m.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14f0a.html"
    again = save_article(session, record("chinadaily", text("cd_001.txt"), at=mobile, minutes=5), [])
    session.commit()
    assert again.status == "duplicate" and again.duplicate_by == "url"
    assert again.article.id == result.article.id
    # The very same URL again is just unchanged, not another duplicate.
    assert (
        save_article(session, record("chinadaily", text("cd_001.txt"), at=mobile), []).status == "unchanged"
    )
    urls = article_to_dict(again.article)["urls"]
    assert set(urls) == {CD, CD + "?utm_source=rss", mobile}


def test_rel_canonical_of_the_same_publisher_names_the_article(session):
    body = text("jd_000.txt")
    amp = "https://jdcorporateblog.com/?p=4711&amp=1"
    first = save_article(session, record("jd", body, at=amp, canonical_hint=JD), [])
    assert first.article.canonical_url == JD
    assert find_known_article(session, JD, canonicalize(JD)) is not None
    # A canonical pointing at the home page (a common CMS mistake) is not trusted.
    other = save_article(
        session,
        record(
            "jd",
            text("jd_002.txt"),
            at=JD.replace("hubei", "esg"),
            canonical_hint="https://jdcorporateblog.com/",
        ),
        [],
    )
    assert other.status == "new" and other.article.id != first.article.id
    assert other.article.canonical_url == JD.replace("hubei", "esg")
