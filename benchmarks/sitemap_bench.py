"""A 50,000-URL sitemap (the protocol's maximum) against an archive that already holds most of it.

What the spider does on the reactor thread for one sitemap: parse it (``discovery.parse_sitemap``)
and check every article link against the store (the seen-URL check), then build the requests for
the new ones. Figures for docs/reliability.md and benchmarks/README.md. Run from the repository
root with the venv active::

    python benchmarks/sitemap_bench.py [--urls 50000] [--known 45000]

Scratch files go to a temporary folder. ``--per-url`` also times the old one-query-per-URL check.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from pledgewatch.crawler import discovery
from pledgewatch.spiders.publisher import get_publisher
from pledgewatch.spiders.urls import canonical_or_none
from pledgewatch.store import archive
from pledgewatch.store.db import make_engine, session_factory, upgrade
from pledgewatch.store.models import Article, ArticleUrl, Source


def sitemap(count: int) -> bytes:
    rows = "".join(
        f"<url><loc>https://jdcorporateblog.com/post-{i}/</loc>"
        f"<lastmod>2026-11-{1 + i % 28:02d}T08:00:00+08:00</lastmod></url>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'
    ).encode()


def seed(db_url: str, known: int) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with session_factory(engine)() as session:
        source = Source(name="jd", title="JD", domain="jdcorporateblog.com")
        session.add(source)
        session.flush()
        now = datetime(2026, 12, 1, tzinfo=UTC)
        session.execute(
            insert(Article),
            [
                {
                    "source_id": source.id,
                    "canonical_url": f"https://jdcorporateblog.com/post-{i}/",
                    "article_key": f"post-{i}",
                    "title": f"Post {i}",
                    "content_hash": f"{i:064x}",
                    "fetched_at": now,
                    "modified_at": now,
                }
                for i in range(known)
            ],
        )
        ids = session.execute(select(Article.id, Article.canonical_url)).all()
        session.execute(insert(ArticleUrl), [{"article_id": i, "url": url} for i, url in ids])
        session.commit()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, default=50_000)
    parser.add_argument("--known", type=int, default=45_000)
    parser.add_argument("--per-url", action="store_true", help="also time one query per URL")
    args = parser.parse_args()
    publisher = get_publisher("jd")
    body = sitemap(args.urls)
    db_url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    seed(db_url, args.known)

    started = time.perf_counter()
    page = discovery.parse_sitemap(body, "https://jdcorporateblog.com/wp-sitemap-posts-1.xml", publisher)
    parsed = time.perf_counter() - started
    links = page.links
    print(f"sitemap: {len(body):,} bytes, {len(links):,} links")
    print(f"parse_sitemap: {parsed:.2f} s, {parsed / max(len(links), 1) * 1000:.3f} ms per URL")

    engine = make_engine(db_url)
    sessions = session_factory(engine)
    if hasattr(archive, "find_known_articles"):
        started = time.perf_counter()
        with sessions() as session:
            known = archive.find_known_articles(
                session, [(link.url, canonical_or_none(link.url)) for link in links]
            )
        batched = time.perf_counter() - started
        print(
            f"seen-URL check, batched: {batched:.2f} s, {batched / len(links) * 1000:.3f} ms per URL "
            f"({len(known):,} known)"
        )
        # What stays on the reactor thread: the loop over the links and the requests for new ones.
        import scrapy

        started = time.perf_counter()
        announced: dict[str, datetime] = {}
        requests = []
        for link in links:
            if link.modified is not None:
                announced[link.url] = link.modified
            if link.url not in known:
                requests.append(scrapy.Request(link.url, meta={"pw_kind": "article"}))
        on_reactor = time.perf_counter() - started
        print(f"on the reactor: {on_reactor:.2f} s ({len(requests):,} requests built)")
    if args.per_url or not hasattr(archive, "find_known_articles"):
        sample = links[: min(len(links), 5000)]
        started = time.perf_counter()
        found = 0
        for link in sample:
            with sessions() as session:
                found += (
                    archive.find_known_article(session, link.url, canonical_or_none(link.url)) is not None
                )
        each = time.perf_counter() - started
        print(
            f"seen-URL check, one query per URL (first {len(sample):,}): {each:.2f} s, "
            f"{each / len(sample) * 1000:.3f} ms per URL ({found:,} known); "
            f"{each / len(sample) * len(links):.1f} s for all {len(links):,}"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
