"""Issue 19, item 2: large and nested sitemaps cannot stall or exhaust a crawl.

Sitemaps are streamed (lxml ``iterparse``: one entry in memory at a time, no entity expansion, no
DTD, no network), a sitemap lists at most ``[crawl] sitemap_max_urls`` entries, sitemap indexes are
followed ``sitemap_max_depth`` deep and ``sitemap_max_files`` sitemaps per crawl (a limit reached
is logged and shown in the source's health), and the seen-URL check asks the store once per chunk
of URLs. Figures: docs/reliability.md and ``python benchmarks/sitemap_bench.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_crawl import (
    ARTICLES,
    SITE,
    TEXT,
    XML,
    Page,
    article_html,
    db_rows,
    sitemap_xml,
    tiny_config,
    write_warc,
)
from sqlalchemy import event, insert, select

from pledgewatch.crawler.discovery import parse_sitemap
from pledgewatch.spiders.publisher import get_publisher
from pledgewatch.spiders.urls import canonical_or_none
from pledgewatch.store import archive
from pledgewatch.store.db import make_engine, session_factory, upgrade
from pledgewatch.store.models import Article, ArticleUrl, Source

ROOT = Path(__file__).resolve().parents[2]


def _urlset(count: int, start: int = 0) -> bytes:
    return sitemap_xml(
        [(f"{SITE}/post-{i}/", "2026-11-01T08:00:00+08:00") for i in range(start, start + count)]
    )


def _index(children: list[str]) -> bytes:
    entries = "".join(f"<sitemap><loc>{url}</loc></sitemap>" for url in children)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
    ).encode()


def test_a_sitemap_is_streamed_in_constant_memory(tmp_path: Path) -> None:
    """100,000 entries (9 MB of XML): reading them all grows the process by under 20 MB.

    A DOM of the file (or iterparse without clearing what it read) grows it by about 50 MB.
    """
    script = tmp_path / "probe.py"
    script.write_text(
        "import resource, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from helpers_crawl import sitemap_xml\n"
        "from pledgewatch.crawler.discovery import iter_sitemap\n"
        "entries = [(f'https://jdcorporateblog.com/post-{i}/', '2026-11-01') for i in range(100_000)]\n"
        "data = sitemap_xml(entries)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "count = sum(1 for _ in iter_sitemap(data))\n"
        "grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024\n"
        "print(count, len(data), grown)\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "PLEDGEWATCH_CONFIG"}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    count, size, grown = result.stdout.split()
    assert int(count) == 100_000 and int(size) > 8_000_000
    assert float(grown) < 20, f"reading the sitemap grew the process by {grown} MB"


def test_entities_in_a_sitemap_are_never_expanded(tmp_path: Path) -> None:
    """A billion-laughs bomb (10**9 copies of "lol") and an external entity naming a local file:
    neither is expanded (the bomb's sitemap gives at most literal text, at once), the rest is read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE", encoding="utf-8")
    lol = "".join(f'<!ENTITY l{i + 1} "{("&l" + str(i) + ";") * 10}">' for i in range(9))
    urlset = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    hubei = f"<url><loc>{ARTICLES['hubei'][0]}</loc></url>"
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY l0 "lol">{lol}]>'
        f"{urlset}<url><loc>{SITE}/a-&l9;/</loc></url>{hubei}</urlset>"
    ).encode()
    urls = [link.url for link in parse_sitemap(bomb, f"{SITE}/wp-sitemap.xml").links]
    assert not any("lollol" in url for url in urls), urls
    external = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY ext SYSTEM "file://{secret}">]>'
        f"{urlset}<url><loc>{SITE}/b-&ext;/</loc></url>{hubei}</urlset>"
    ).encode()
    urls = [link.url for link in parse_sitemap(external, f"{SITE}/wp-sitemap.xml").links]
    assert ARTICLES["hubei"][0] in urls
    assert not any("TOP-SECRET" in url for url in urls), urls


def test_a_sitemap_is_read_up_to_its_entry_limit_and_says_so() -> None:
    page = parse_sitemap(_urlset(120), f"{SITE}/wp-sitemap-posts-1.xml", get_publisher("jd"), max_urls=100)
    assert len(page.links) == 100
    assert "more than 100 entries" in page.reason
    whole = parse_sitemap(_urlset(120), f"{SITE}/wp-sitemap-posts-1.xml", get_publisher("jd"))
    assert len(whole.links) == 120 and whole.reason == ""


def _seed(db_url: str, known: range) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with session_factory(engine)() as session:
        source = Source(name="jd", title="JD", domain="jdcorporateblog.com")
        session.add(source)
        session.flush()
        session.execute(
            insert(Article),
            [
                {
                    "source_id": source.id,
                    "canonical_url": f"{SITE}/post-{i}/",
                    "article_key": f"post-{i}",
                    "title": f"Post {i}",
                    "content_hash": f"{i:064x}",
                    "fetched_at": now,
                    "modified_at": now,
                }
                for i in known
            ],
        )
        rows = session.execute(select(Article.id, Article.canonical_url)).all()
        session.execute(insert(ArticleUrl), [{"article_id": i, "url": url} for i, url in rows])
        session.commit()
    engine.dispose()


def test_the_seen_url_check_of_a_sitemap_is_one_query_per_chunk_with_the_same_answers(db_url: str) -> None:
    """On SQLite and on PostgreSQL (``db_url`` runs it on both; PostgreSQL skipped without a server)."""
    _seed(db_url, range(0, 1200, 2))  # every other post is archived
    get_publisher("jd")
    # Variants the single lookup also recognises: no trailing slash, a tracking parameter, http.
    urls = [f"{SITE}/post-{i}/" for i in range(1200)]
    urls += [f"{SITE}/post-4", "http://jdcorporateblog.com/post-6/?utm_source=x"]
    engine = make_engine(db_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with session_factory(engine)() as session:
        known = archive.find_known_articles(session, [(url, canonical_or_none(url)) for url in urls])
        batched_queries = len(statements)
        for url in urls:
            single = archive.find_known_article(session, url, canonical_or_none(url))
            assert (known.get(url) == single) if single else url not in known, url
    assert len(known) == 602
    # 1,202 URLs (plus their canonical forms) and 1,202 article keys: a few chunks of 500 each.
    assert batched_queries <= 12, f"{batched_queries} queries for {len(urls)} URLs"


@pytest.mark.slow
def test_nested_and_numerous_sitemap_indexes_are_followed_within_their_limits(tmp_path: Path) -> None:
    """A chain of 6 indexes (the urlset at its end never read) and an index of 5 sitemaps of which
    the crawl reads 3 (sitemap_max_files): each limit logged and in the source's health."""
    hubei, wuhan, weather = ARTICLES["hubei"], ARTICLES["wuhan"], ARTICLES["weather"]
    pages = [Page(f"{SITE}/robots.txt", b"User-agent: *\n", headers=TEXT)]
    chain = [f"{SITE}/chain-{level}.xml" for level in range(6)]
    for level, url in enumerate(chain[:-1]):
        pages.append(Page(url, _index([chain[level + 1]]), headers=XML))
    pages.append(Page(chain[-1], sitemap_xml([(weather[0], weather[2])]), headers=XML))
    wide = [f"{SITE}/wide-{n}.xml" for n in range(5)]
    pages.append(Page(f"{SITE}/wide.xml", _index(wide), headers=XML))
    for n, url in enumerate(wide):
        pages.append(Page(url, sitemap_xml([(hubei[0] if n == 0 else wuhan[0], hubei[2])]), headers=XML))
    for url, title, date, paragraphs in (hubei, wuhan, weather):
        pages.append(
            Page(url, article_html(title, date, paragraphs), headers=[("Content-Type", "text/html")])
        )
    warc = write_warc(tmp_path / "site.warc.gz", pages)

    def crawl(name: str, start: str, limit: str) -> tuple[dict, str, set[str], set[str]]:
        config = tiny_config(tmp_path / f"{name}.toml", start_urls=[start], extra=limit)
        db = tmp_path / f"{name}.db"
        result = run_cli(
            "--db", str(db), "--config", str(config), "crawl", "--replay", str(warc), "--json", timeout=300
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        stored = {row[0] for row in db_rows(db, "SELECT canonical_url FROM articles")}
        kept = {row[0] for row in db_rows(db, "SELECT url FROM fetch_validators")}
        return json.loads(result.stdout)["sources"]["jd"], result.stderr, stored, kept

    source, log, stored, kept = crawl("deep", chain[0], "sitemap_max_depth = 2\n")
    assert "nested 3 deep (sitemap_max_depth = 2)" in log
    assert source["health"] == "degraded"
    assert any("nested 3 deep (sitemap_max_depth = 2)" in reason for reason in source["health_reasons"])
    assert stored == set(), "the article behind the too-deep chain is not read"
    assert chain[0] not in kept, "an index not read to the end keeps no validators (read in full next time)"

    source, log, stored, kept = crawl("wide", f"{SITE}/wide.xml", "sitemap_max_files = 3\n")
    assert "2 of its 5 sitemaps not read (sitemap_max_files = 3 per crawl)" in log
    assert source["health"] == "degraded"
    assert any("sitemap_max_files = 3" in reason for reason in source["health_reasons"])
    assert stored == {hubei[0], wuhan[0]}, "the first 3 sitemaps are read"
    assert f"{SITE}/wide.xml" not in kept
