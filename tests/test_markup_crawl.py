"""The crawl over the real-markup sample web: every article of a channel, pages joined, fallbacks seen.

Each crawl is a CLI subprocess replaying the shipped WARC files (the real replay download handler),
recording what it fetched into another WARC that the test reads back.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_crawl import warc_urls
from helpers_parsers import PUBLISHERS_DIR

from pledgewatch.sampleweb import FIRST_WARC, LATER_WARC, load_manifest

pytestmark = pytest.mark.slow

MANIFEST = load_manifest()
CHINA_US = "https://www.chinadaily.com.cn/world/china-us"


def config(path: Path, source: str, start_urls: list[str]) -> Path:
    others = [name for name in ("jd", "chinadaily", "people") if name != source]
    path.write_text(
        f"[sources.{source}]\nstart_urls = {json.dumps(start_urls)}\n"
        + "".join(f"[sources.{name}]\nenabled = false\n" for name in others)
        + "[crawl]\nwindow_days = 0\n",
        encoding="utf-8",
    )
    return path


def crawl(tmp_path: Path, warc: Path, cfg: Path, db: Path, *extra: str) -> tuple[dict, str]:
    result = run_cli(
        "--config", str(cfg), "--db", str(db), "crawl", "--replay", str(warc), "--json", *extra, timeout=240
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_a_china_daily_channel_page_leads_to_every_article_and_the_next_page(tmp_path: Path) -> None:
    listing = next(item for item in MANIFEST["snapshots"]["first"]["listings"] if item["url"] == CHINA_US)
    recording = tmp_path / "fetched.warc.gz"
    cfg = config(tmp_path / "pw.toml", "chinadaily", [CHINA_US])
    summary, _ = crawl(tmp_path, FIRST_WARC, cfg, tmp_path / "a.db", "--record", str(recording))

    fetched = {url for url, _ in warc_urls(recording)}
    page_html = (PUBLISHERS_DIR / "chinadaily" / "listing.html").read_text(encoding="utf-8")
    assert 'class="tw2"' in page_html  # the channel page has its featured block
    assert set(listing["article_urls"]) <= fetched  # featured block and main list
    assert listing["next_page"] in fetched
    channel = {
        url
        for item in MANIFEST["snapshots"]["first"]["listings"]
        if item["listing"] == "china-us"
        for url in item["article_urls"]
    }
    assert summary["articles_new"] == len(channel) and summary["errors"] == 0


def test_multi_page_articles_are_one_row_with_their_pages_as_aliases(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    cfg = config(tmp_path / "pw.toml", "people", ["https://en.people.cn/90777/index.html"])
    summary, _ = crawl(tmp_path, FIRST_WARC, cfg, db)
    assert summary["errors"] == 0 and summary["missing"] == []
    multi = MANIFEST["special_pages"]["multi_page"]
    by_url = {a["url"]: a for a in MANIFEST["articles"]}
    with sqlite3.connect(db) as connection:
        for url, pages in multi.items():
            if not url.startswith("https://en.people.cn/"):
                continue
            rows = connection.execute(
                "SELECT id, text, extraction FROM articles WHERE canonical_url = ?", (url,)
            ).fetchall()
            assert len(rows) == 1, url
            article_id, text, extraction = rows[0]
            assert " ".join(text.split()) == " ".join(by_url[url]["text"].split())
            aliases = {
                row[0]
                for row in connection.execute(
                    "SELECT url FROM article_urls WHERE article_id = ?", (article_id,)
                )
            }
            assert set(pages[1:]) <= aliases
            fields = json.loads(extraction)["fields"]
            assert json.loads(extraction)["version"] == "w860-d2txtCon"
            assert fields["body"] == "w860-d2txtCon#1" and fields["title"] != "generic"
        total = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    channel = {
        u
        for item in MANIFEST["snapshots"]["first"]["listings"]
        if item["listing"] == "90777"
        for u in item["article_urls"]
    }
    assert total == len(channel)  # no row for any continuation page


def test_a_redesigned_listing_is_crawled_through_the_fallback_and_says_so(tmp_path: Path) -> None:
    changed = MANIFEST["special_pages"]["changed_listing_markup"]["later"]
    cfg = config(tmp_path / "pw.toml", "chinadaily", [changed[0]])
    summary, stderr = crawl(tmp_path, LATER_WARC, cfg, tmp_path / "a.db", "-v")
    listed = {
        url
        for item in MANIFEST["snapshots"]["later"]["listings"]
        if item["url"] in changed
        for url in item["article_urls"]
    }
    assert summary["articles_new"] >= len(listed) and summary["errors"] == 0
    assert "listing layout not recognised" in stderr


def test_extract_refuses_a_listing_and_a_home_page(tmp_path: Path) -> None:
    listing = PUBLISHERS_DIR / "people" / "listing.html"
    result = run_cli("extract", str(listing), "--url", "https://en.people.cn/90777/index.html")
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not an article page" in result.stderr

    home = tmp_path / "home.html"
    home.write_text(
        "<html><head><title>China Daily</title><meta property='og:site_name' content='China Daily'></head>"
        "<body><h1>China Daily</h1><div class='footer'><p>Copyright 1995 - 2026. All rights reserved. "
        "The content published in this site belongs to China Daily Information Co.</p></div></body></html>"
    )
    result = run_cli("extract", str(home))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "not an article" in result.stderr


def test_import_joins_the_pages_of_multi_page_articles(tmp_path: Path) -> None:
    from pledgewatch.config import Config
    from pledgewatch.crawler.importer import import_warc

    db = tmp_path / "import.db"
    summary = import_warc(FIRST_WARC, Config(), f"sqlite:///{db}")
    first = [a for a in MANIFEST["articles"] if "first" in a["snapshots"]]
    assert (summary.articles_new, summary.errors) == (len(first), 0)
    by_url = {a["url"]: a for a in first}
    with sqlite3.connect(db) as connection:
        for url, pages in MANIFEST["special_pages"]["multi_page"].items():
            (article_id, stored) = connection.execute(
                "SELECT id, text FROM articles WHERE canonical_url = ?", (url,)
            ).fetchone()
            assert " ".join(stored.split()) == " ".join(by_url[url]["text"].split()), url
            aliases = {
                row[0]
                for row in connection.execute(
                    "SELECT url FROM article_urls WHERE article_id = ?", (article_id,)
                )
            }
            assert set(pages[1:]) <= aliases
