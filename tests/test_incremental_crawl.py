"""Conditional requests never cost an article: a 304 is earned only by a page crawled completely.

Each crawl is a CLI subprocess replaying the sample web (real WARC files, real replay handler that
answers If-None-Match / If-Modified-Since with 304).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_crawl import ARTICLES, SITE, db_rows, tiny_config, tiny_site, write_warc

DATA = Path(__file__).resolve().parent.parent / "pledgewatch" / "data"
SAMPLE_WEB = DATA / "sampleweb.warc.gz"
MANIFEST = json.loads((DATA / "sampleweb-manifest.json").read_text(encoding="utf-8"))
FIRST_SNAPSHOT = sorted(a["url"] for a in MANIFEST["articles"] if "first" in a["snapshots"])


def crawl(db: Path, *args: str, config: Path | None = None) -> dict:
    config_args = ["--config", str(config)] if config else []
    result = run_cli(*config_args, "--db", str(db), "crawl", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def warc_without(source: Path, target: Path, dropped: str) -> Path:
    """A copy of ``source`` without the response (and request) records of one URL."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    with source.open("rb") as stream, target.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for record in ArchiveIterator(stream):
            if record.rec_headers.get_header("WARC-Target-URI") == dropped:
                continue
            writer.write_record(record)
    return target


def stored_urls(db: Path) -> list[str]:
    return [row[0] for row in db_rows(db, "SELECT canonical_url FROM articles ORDER BY canonical_url")]


@pytest.mark.slow
def test_a_crawl_of_a_narrow_window_does_not_hide_older_articles_from_a_backfill(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    narrow = crawl(db, "--replay", str(SAMPLE_WEB))  # the default 30-day window: all older
    assert narrow["articles_new"] == 0
    backfill = crawl(db, "--replay", str(SAMPLE_WEB), "--since", "2015-01-01")
    assert backfill["articles_new"] == len(FIRST_SNAPSHOT)
    assert stored_urls(db) == FIRST_SNAPSHOT


@pytest.mark.slow
def test_an_article_missing_from_one_crawl_arrives_with_the_next(tmp_path: Path) -> None:
    # No --since (a backfill refetches everything anyway): the daemon's case, window covering all.
    config = tmp_path / "pw.toml"
    config.write_text("[crawl]\nwindow_days = 0\n", encoding="utf-8")
    lost = FIRST_SNAPSHOT[0]
    partial = warc_without(SAMPLE_WEB, tmp_path / "partial.warc.gz", lost)
    db = tmp_path / "a.db"

    first = crawl(db, "--replay", str(partial), config=config)
    assert lost in first["missing"]
    assert first["articles_new"] == len(FIRST_SNAPSHOT) - 1

    second = crawl(db, "--replay", str(SAMPLE_WEB), config=config)
    assert second["articles_new"] == 1
    assert stored_urls(db) == FIRST_SNAPSHOT

    # Every page is complete now: the third crawl is all 304s and fetches no article.
    third = crawl(db, "--replay", str(SAMPLE_WEB), config=config)
    assert third["articles_seen"] == 0
    assert third["pages_fetched"] < second["pages_fetched"]


@pytest.mark.slow
def test_an_article_lost_on_page_2_arrives_although_page_1_holds_only_known_ones(tmp_path: Path) -> None:
    config = tiny_config(tmp_path / "pw.toml", start_urls=[f"{SITE}/"])  # the listing only
    weather = ARTICLES["weather"][0]  # the one article on page 2
    partial = write_warc(tmp_path / "partial.warc.gz", tiny_site(drop=(weather,)))
    full = write_warc(tmp_path / "full.warc.gz", tiny_site())
    db = tmp_path / "a.db"

    first = crawl(db, "--replay", str(partial), config=config)
    assert first["missing"] == [weather] and first["articles_new"] == 2

    second = crawl(db, "--replay", str(full), config=config)
    assert second["articles_new"] == 1
    assert weather in stored_urls(db)
