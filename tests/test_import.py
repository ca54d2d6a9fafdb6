"""`pledgewatch import`: backfill from any WARC through the same parser and store path as a crawl."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_crawl import Page, db_rows, write_warc
from sqlalchemy import create_engine, text

from pledgewatch.config import Config
from pledgewatch.crawler.importer import import_warc
from pledgewatch.crawler.replay import load_index

DATA = Path(__file__).resolve().parent.parent / "pledgewatch" / "data"
SAMPLE_WEB = DATA / "sampleweb.warc.gz"
SAMPLE_WEB_LATER = DATA / "sampleweb-later.warc.gz"
MANIFEST = json.loads((DATA / "sampleweb-manifest.json").read_text(encoding="utf-8"))


def sample_page(url: str) -> tuple[list[tuple[str, str]], bytes]:
    index = load_index(SAMPLE_WEB)
    entry = index.lookup(url)
    assert entry is not None, url
    headers, body, _ = index.read(entry)
    return headers, body


@pytest.mark.slow
def test_import_the_sample_web_then_its_later_snapshot(db_url: str) -> None:
    first = [a for a in MANIFEST["articles"] if "first" in a["snapshots"]]
    later_only = [a for a in MANIFEST["articles"] if a["snapshots"] == ["later"]]

    summary = import_warc(SAMPLE_WEB, Config(), db_url)
    assert (summary.articles_new, summary.articles_updated, summary.errors) == (len(first), 0, 0)

    again = import_warc(SAMPLE_WEB, Config(), db_url)
    assert (again.articles_seen, again.articles_new, again.articles_updated) == (len(first), 0, 0)

    later = import_warc(SAMPLE_WEB_LATER, Config(), db_url)
    edited = MANIFEST["special_pages"]["edited_in_later"]
    assert (later.articles_new, later.articles_updated) == (len(later_only), len(edited))

    engine = create_engine(db_url)
    with engine.connect() as connection:
        titles = dict(connection.execute(text("SELECT canonical_url, title FROM articles")).all())
        versions = dict(connection.execute(text("SELECT canonical_url, version FROM articles")).all())
        query = "SELECT trigger, status, articles_new FROM crawl_runs ORDER BY id"
        runs = connection.execute(text(query)).all()
    engine.dispose()
    assert titles == {a["url"]: a.get("later", a)["title"] for a in first + later_only}
    assert versions[edited[0]] == 2
    assert [tuple(run) for run in runs] == [
        ("import", "ok", len(first)),
        ("import", "ok", 0),
        ("import", "ok", len(later_only)),
    ]


def test_import_a_foreign_archive(tmp_path: Path, sqlite_url: str) -> None:
    """Another crawler's WARC: http URLs, gzip-encoded bodies, other sites, errors, non-HTML records."""
    jd = "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/"
    gbk = MANIFEST["special_pages"]["gbk"][0]
    chinadaily = next(a for a in MANIFEST["articles"] if a["source"] == "chinadaily" and not a["special"])
    jd_headers, jd_body = sample_page(jd)
    gbk_headers, gbk_body = sample_page(gbk)
    cd_headers, cd_body = sample_page(chinadaily["url"])
    assert not any(
        "charset" in value.lower() for name, value in gbk_headers if name.lower() == "content-type"
    )
    archive = write_warc(
        tmp_path / "foreign.warc.gz",
        [
            # Captured over http, as the Internet Archive often has it.
            Page(jd.replace("https://", "http://"), jd_body, headers=jd_headers),
            # The GBK page, charset only in its <meta>.
            Page(gbk, gbk_body, headers=gbk_headers),
            # Stored with its Content-Encoding, as Common Crawl does.
            Page(
                chinadaily["url"],
                gzip.compress(cd_body),
                headers=[
                    *[(k, v) for k, v in cd_headers if k.lower() != "content-length"],
                    ("Content-Encoding", "gzip"),
                ],
            ),
            # Not an article of a known publisher, an error page, an image: skipped.
            Page("https://example.org/news/1.html", b"<html><body><p>JD.com news</p></body></html>"),
            Page("https://en.people.cn/n3/2020/0101/c90000-9999999.html", b"gone", status=404),
            Page("https://en.people.cn/img/logo.png", b"\x89PNG", headers=[("Content-Type", "image/png")]),
        ],
    )
    summary = import_warc(archive, Config(), sqlite_url)
    assert (summary.pages_fetched, summary.articles_new, summary.errors) == (3, 3, 0)

    db = Path(sqlite_url.removeprefix("sqlite:///"))
    titles = dict(db_rows(db, "SELECT canonical_url, title FROM articles"))
    truth = {a["url"]: a["title"] for a in MANIFEST["articles"]}
    # The http capture is archived under its canonical (https) URL.
    assert titles == {
        jd: truth[jd],
        gbk: truth[gbk],
        chinadaily["url"]: chinadaily["title"],
    }


@pytest.mark.slow
def test_import_cli_prints_json_and_refuses_a_non_warc(tmp_path: Path) -> None:
    result = run_cli("--db", str(tmp_path / "a.db"), "import", str(SAMPLE_WEB), "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["articles_new"] == len([a for a in MANIFEST["articles"] if "first" in a["snapshots"]])
    assert "missing" not in summary

    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(b"not a warc\n")
    result = run_cli("--db", str(tmp_path / "a.db"), "import", str(junk))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {junk}: not a readable WARC: Unknown archive format, first line: ['not', 'a', 'warc']"
    ]


@pytest.mark.slow
def test_importing_an_older_snapshot_after_a_newer_one_rolls_nothing_back(tmp_path: Path) -> None:
    """Backfill from an old WARC must not turn the current text of an edited article back."""
    (edited_url,) = MANIFEST["special_pages"]["edited_in_later"]
    url = f"sqlite:///{tmp_path / 'a.db'}"
    newer = import_warc(SAMPLE_WEB_LATER, Config(), url)
    assert newer.articles_new > 0
    older = import_warc(SAMPLE_WEB, Config(), url)
    assert older.articles_updated == 0 and older.articles_new == 0
    db = tmp_path / "a.db"
    rows = db_rows(db, f"SELECT title, version FROM articles WHERE canonical_url = '{edited_url}'")
    assert len(rows) == 1
    title, version = rows[0]
    assert "12 Billion" in title and version == 1
