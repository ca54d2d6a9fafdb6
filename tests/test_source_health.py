"""Source health: a changed listing, a dead feed and a broken site are reported, per source and run.

Crawls replay real WARC files written here (warcio), through `pledgewatch crawl --json` as the
daemon runs it; the health rule itself is tested as the pure function it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_crawl import ARTICLES, HTML, SITE, XML, Page, sitemap_xml, tiny_site, write_warc

from pledgewatch.crawler.health import BROKEN, DEGRADED, OK, HealthCounts, assess

FEED = f"{SITE}/feed/"


# -- the rule -------------------------------------------------------------------------------


def test_a_healthy_run_is_ok() -> None:
    counts = HealthCounts(articles_parsed=10, start_urls={FEED: 200}, links_per_listing={FEED: 10})
    assert assess(counts).state == OK
    assert assess(counts).reasons == []


def test_a_listing_fallback_degrades_with_the_reason() -> None:
    counts = HealthCounts(articles_parsed=3, listing_fallbacks=1, start_urls={f"{SITE}/": 200})
    health = assess(counts)
    assert health.state == DEGRADED
    assert "listing fallback" in health.reasons[0]


def test_a_feed_is_dead_after_n_consecutive_404_runs() -> None:
    counts = HealthCounts(articles_parsed=3, start_urls={FEED: 404, f"{SITE}/": 200})
    first = assess(counts, dead_after_runs=2)
    assert first.state == OK and first.dead_start_urls == {FEED: 1}
    second = assess(counts, previous_dead=first.dead_start_urls, dead_after_runs=2)
    assert second.state == DEGRADED
    assert second.reasons == [f"start URL {FEED} answered HTTP 404 in 2 consecutive runs"]
    # The feed answers again: the streak is over.
    answering = HealthCounts(articles_parsed=3, start_urls={FEED: 200})
    back = assess(answering, previous_dead=second.dead_start_urls)
    assert back.state == OK and back.dead_start_urls == {}


def test_every_start_url_gone_or_nothing_reachable_is_broken() -> None:
    assert assess(HealthCounts(start_urls={FEED: 410})).state == BROKEN
    unreachable = assess(HealthCounts(), reachable=False, unreachable_reason="connection refused")
    assert unreachable.state == BROKEN
    assert unreachable.reasons == ["no request answered (connection refused)"]
    assert assess(HealthCounts(parse_failures=4, start_urls={FEED: 200})).state == BROKEN


def test_field_fallbacks_degrade_past_the_threshold_only() -> None:
    few = HealthCounts(articles_parsed=10, fallback_articles=1, field_fallbacks={"body: generic": 1})
    assert assess(few).state == OK
    many = HealthCounts(articles_parsed=10, fallback_articles=5, field_fallbacks={"body: generic": 5})
    health = assess(many)
    assert health.state == DEGRADED
    assert health.reasons == ["5 of 10 articles used field fallbacks (body: generic 5)"]


# -- crawls ---------------------------------------------------------------------------------


def redesigned_home() -> bytes:
    """The JD home listing after a redesign: no `article.post-item` left, the links still there."""
    cards = "".join(
        f'<div class="card"><a class="card-link" href="{url}">{title}</a><span>{date[:10]}</span></div>'
        for url, title, date, _ in (ARTICLES["hubei"], ARTICLES["wuhan"])
    )
    return f"""<!DOCTYPE html><html><head><meta charset="UTF-8"><title>JD Corporate Blog</title></head>
<body><main><section class="cards">{cards}</section>
<a href="{SITE}/topic/">Topics</a></main></body></html>""".encode()


def config_file(path: Path, start_urls: list[str], extra: str = "") -> Path:
    path.write_text(
        "[sources.jd]\nstart_urls = " + json.dumps(start_urls) + "\n"
        "[sources.chinadaily]\nenabled = false\n[sources.people]\nenabled = false\n"
        "[crawl]\nwindow_days = 0\n" + extra,
        encoding="utf-8",
    )
    return path


def crawl_json(db: Path, config: Path, warc: Path) -> dict:
    result = run_cli("--db", str(db), "--config", str(config), "crawl", "--replay", str(warc), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def status_json(db: Path, config: Path) -> dict:
    result = run_cli("--db", str(db), "--config", str(config), "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_a_changed_listing_is_still_crawled_and_the_source_is_degraded(tmp_path: Path) -> None:
    pages = [p for p in tiny_site() if p.url != f"{SITE}/"]
    pages.append(Page(f"{SITE}/", redesigned_home(), headers=HTML))
    warc = write_warc(tmp_path / "redesign.warc.gz", pages)
    config = config_file(tmp_path / "pw.toml", [f"{SITE}/"])
    db = tmp_path / "archive.db"

    summary = crawl_json(db, config, warc)
    assert summary["articles_new"] == 2  # both articles of the redesigned page, through the fallback
    jd = summary["sources"]["jd"]
    assert jd["health"] == "degraded"
    assert jd["health_reasons"] == [
        "1 listing page: item selector found nothing, every article link used instead (listing fallback)"
    ]
    assert jd["health_counts"]["links_per_listing"] == {f"{SITE}/": 2}
    assert jd["health_counts"]["articles_parsed"] == 2

    state = status_json(db, config)
    assert state["sources"]["jd"]["health"] == "degraded"
    assert "listing fallback" in state["sources"]["jd"]["health_reasons"][0]
    text = run_cli("--db", str(db), "--config", str(config), "status")
    assert "jd               degraded" in text.stdout
    assert "- 1 listing page: item selector found nothing" in text.stdout


@pytest.mark.slow
def test_a_dead_feed_is_reported_after_two_runs(tmp_path: Path) -> None:
    pages = tiny_site()
    pages.append(Page(FEED, b"<html><body>Not Found</body></html>", status=404, headers=HTML))
    warc = write_warc(tmp_path / "deadfeed.warc.gz", pages)
    config = config_file(tmp_path / "pw.toml", [FEED, f"{SITE}/wp-sitemap.xml"])
    db = tmp_path / "archive.db"

    first = crawl_json(db, config, warc)["sources"]["jd"]
    assert first["health"] == "ok"
    assert first["health_counts"]["start_urls"][FEED] == 404
    assert first["dead_start_urls"] == {FEED: 1}
    second = crawl_json(db, config, warc)["sources"]["jd"]
    assert second["health"] == "degraded"
    assert second["health_reasons"] == [f"start URL {FEED} answered HTTP 404 in 2 consecutive runs"]
    assert status_json(db, config)["sources"]["jd"]["health_reasons"] == second["health_reasons"]


@pytest.mark.slow
def test_a_site_whose_only_feed_is_gone_is_broken(tmp_path: Path) -> None:
    pages = [Page(FEED, b"gone", status=404, headers=HTML), *tiny_site()]
    warc = write_warc(tmp_path / "gone.warc.gz", pages)
    config = config_file(tmp_path / "pw.toml", [FEED])
    summary = crawl_json(tmp_path / "archive.db", config, warc)
    assert summary["sources"]["jd"]["health"] == "broken"
    assert summary["sources"]["jd"]["health_reasons"] == ["every start URL answered an error (HTTP 404)"]


# -- a fourth site from the configuration only ----------------------------------------------

ACME = "https://news.acme.example"


def acme_article(title: str, when: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><title>{title} | Acme News</title>
<meta name="pubdate" content="{when}"></head>
<body><div class="masthead">Acme News</div><article><h1>{title}</h1>{body}</article>
<footer>Copyright Acme News</footer></body></html>""".encode()


ACME_ARTICLES = {
    f"{ACME}/stories/2024/03/jd-opens-warehouse-in-lyon": (
        "JD.com opens a warehouse in Lyon",
        "2024-03-05 09:30",
        [
            "JD.com opened its first French warehouse in Lyon on Tuesday, the company said.",
            "The site will employ 300 people and serve customers across France and Switzerland.",
            "JD.com said it would invest EUR 50 million in French logistics over three years.",
        ],
    ),
    f"{ACME}/stories/2024/03/spring-fair-returns": (
        "The spring fair returns",
        "2024-03-02 18:00",
        [
            "The city's spring fair returns this weekend with more than two hundred stalls.",
            "Organisers expect forty thousand visitors over the three days of the fair.",
        ],
    ),
    f"{ACME}/stories/2024/02/river-cleanup": (
        "Volunteers clean the river banks",
        "2024-02-20 08:15",
        [
            "Some five hundred volunteers cleaned the banks of the river on Saturday morning.",
            "They collected more than two tonnes of rubbish along twelve kilometres of river.",
        ],
    ),
}


def acme_listing(urls: list[str], next_url: str | None) -> bytes:
    items = "".join(
        f'<li class="story"><a class="headline" href="{u.removeprefix(ACME)}">{ACME_ARTICLES[u][0]}</a>'
        f'<span class="when">{ACME_ARTICLES[u][1]}</span></li>'
        for u in urls
    )
    pager = f'<nav class="pager"><a href="{next_url}">Next</a></nav>' if next_url else ""
    return f"""<!DOCTYPE html><html><body><ul class="stories">{items}</ul>{pager}
<a href="/about">About</a></body></html>""".encode()


def acme_site() -> list[Page]:
    urls = list(ACME_ARTICLES)
    pages = [
        Page(f"{ACME}/robots.txt", b"User-agent: *\nAllow: /\n", headers=[("Content-Type", "text/plain")]),
        Page(f"{ACME}/business/", acme_listing(urls[:2], "/business/page/2"), headers=HTML),
        Page(f"{ACME}/business/page/2", acme_listing(urls[2:], None), headers=HTML),
        Page(f"{ACME}/sitemap.xml", sitemap_xml([(urls[0], "2024-03-05T09:30:00+01:00")]), headers=XML),
    ]
    pages += [Page(url, acme_article(*ACME_ARTICLES[url]), headers=HTML) for url in urls]
    return pages


ACME_TOML = f"""
[sources.jd]
enabled = false
[sources.chinadaily]
enabled = false
[sources.people]
enabled = false

[sources.acme]
kind = "generic"
title = "Acme News"
listings = ["{ACME}/business/"]
sitemaps = ["{ACME}/sitemap.xml"]
article_url = '/stories/\\d{{4}}/\\d{{2}}/[a-z0-9-]+$'
timezone = "Europe/Paris"

[sources.acme.listing]
item = "ul.stories li.story"
link = "a.headline"
date = "span.when"
next_page = "nav.pager a"

[crawl]
window_days = 0
"""


@pytest.mark.slow
def test_a_generic_source_defined_only_in_toml_is_crawled_end_to_end(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "acme.warc.gz", acme_site())
    config = tmp_path / "pw.toml"
    config.write_text(ACME_TOML, encoding="utf-8")
    db = tmp_path / "archive.db"

    check = run_cli("--config", str(config), "config", "check")
    assert check.returncode == 0, check.stderr

    summary = crawl_json(db, config, warc)
    assert summary["articles_new"] == 3
    acme = summary["sources"]["acme"]
    assert acme["health"] == "ok", acme["health_reasons"]
    assert acme["health_counts"]["links_per_listing"] == {
        f"{ACME}/business/": 2,
        f"{ACME}/business/page/2": 1,
        f"{ACME}/sitemap.xml": 1,
    }

    import sqlite3

    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT s.name, a.title, a.published_at FROM articles a JOIN sources s ON s.id = a.source_id "
            "ORDER BY a.published_at"
        ).fetchall()
    assert [(name, title) for name, title, _ in rows] == [
        ("acme", "Volunteers clean the river banks"),
        ("acme", "The spring fair returns"),
        ("acme", "JD.com opens a warehouse in Lyon"),
    ]
    # Printed without an offset, read in the source's zone (Paris, UTC+1 in winter).
    assert rows[-1][2].startswith("2024-03-05 08:30")

    # Crawled again: deduplicated, nothing new.
    again = crawl_json(db, config, warc)
    assert again["articles_new"] == 0
    assert status_json(db, config)["sources"]["acme"]["health"] == "ok"


def test_a_generic_source_is_validated_with_one_line_naming_the_key(tmp_path: Path) -> None:
    from pledgewatch.config import load_config
    from pledgewatch.errors import ConfigError

    bad = tmp_path / "bad.toml"
    bad.write_text(ACME_TOML.replace('"ul.stories li.story"', '"ul >> li"'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "sources.acme.listing.item" in str(caught.value)
    assert "\n" not in str(caught.value)
    bad.write_text(ACME_TOML.replace("article_url = ", "# article_url = "), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources\.acme\.article_url.*required"):
        load_config(bad)
    bad.write_text("[sources.jd]\nlistings = ['https://x.example/']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources\.jd\.listings.*kind = \"generic\""):
        load_config(bad)
