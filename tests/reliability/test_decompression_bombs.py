"""Issue 19, item 3: gzip and WARC bombs (built here, for real) are refused with a one-line
message, nothing else is lost, and peak RSS stays under 500 MB, via sitemaps, `import` and
`crawl --replay`. Measured with getrusage in a probe process (figures in docs/reliability.md)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from helpers_crawl import ARTICLES, HTML, SITE, Page, db_rows, tiny_config, tiny_site, write_warc
from helpers_reliability import gzip_bomb, run_measured

from pledgewatch.crawler.discovery import parse_sitemap

BOMB_BYTES = 1 << 30  # 1 GiB once unpacked, about 1 MB packed
RSS_LIMIT_MB = 500
BOMB_URL = f"{SITE}/jd-com-bomb-article/"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PLEDGEWATCH_CONFIG"}


def test_a_gzipped_sitemap_is_gunzipped_up_to_the_cap_only() -> None:
    head = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    page = parse_sitemap(gzip_bomb(64 << 20, head), f"{SITE}/sitemap.xml.gz", max_bytes=1 << 20)
    assert page.links == [] and page.children == []
    import gzip

    ok = gzip.compress(head + f"<url><loc>{ARTICLES['hubei'][0]}</loc></url></urlset>".encode())
    assert [link.url for link in parse_sitemap(ok, f"{SITE}/sitemap.xml.gz").links] == [ARTICLES["hubei"][0]]


@pytest.mark.slow
def test_sitemap_gzip_bomb_peak_rss(tmp_path: Path) -> None:
    """parse_sitemap on a 1 MB gzip that unfolds to 1 GiB, in a child process: bounded memory."""
    script = tmp_path / "probe.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from helpers_reliability import gzip_bomb\n"
        "from pledgewatch.crawler.discovery import parse_sitemap\n"
        f"data = gzip_bomb({BOMB_BYTES}, b'<urlset>')\n"
        "page = parse_sitemap(data, 'https://jdcorporateblog.com/s.xml.gz')\n"
        "print(len(page.links))\n",
        encoding="utf-8",
    )
    result, peak = run_measured([sys.executable, str(script)], str(tmp_path / "rss"), env=_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
    assert peak < RSS_LIMIT_MB, f"peak RSS {peak:.0f} MB"


def _bomb_site(tmp_path: Path) -> Path:
    """The tiny site plus one article page whose body is a gzip bomb (Content-Encoding: gzip)."""
    pages = tiny_site()
    html = b"<html><body><article><h1>x</h1><p>"
    bomb = Page(BOMB_URL, gzip_bomb(BOMB_BYTES, html), headers=[*HTML, ("Content-Encoding", "gzip")])
    for page in pages:
        if page.url.endswith("wp-sitemap.xml"):
            entry = f"<url><loc>{BOMB_URL}</loc><lastmod>2020-04-09T10:00:00+08:00</lastmod></url>"
            page.body = page.body.replace(b"<url>", (entry + "<url>").encode(), 1)
    return write_warc(tmp_path / "bomb.warc.gz", [*pages[:3], bomb, *pages[3:]])


@pytest.mark.slow
def test_import_refuses_a_warc_bomb_record_in_one_line_and_keeps_the_rest(tmp_path: Path) -> None:
    warc = _bomb_site(tmp_path)
    db = tmp_path / "a.db"
    argv = [sys.executable, "-m", "pledgewatch", "--db", str(db), "import", str(warc), "--json"]
    result, peak = run_measured(argv, str(tmp_path / "rss"), env=_env())
    assert peak < RSS_LIMIT_MB, f"peak RSS {peak:.0f} MB"
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["errors"] == 1
    assert any("over the response size cap" in line for line in result.stderr.splitlines())
    assert db_rows(db, "SELECT COUNT(*) FROM articles")[0][0] == 3, "nothing else lost"


@pytest.mark.slow
def test_replay_refuses_a_warc_bomb_record_and_keeps_the_rest(tmp_path: Path) -> None:
    warc = _bomb_site(tmp_path)
    db = tmp_path / "a.db"
    config = tiny_config(tmp_path / "c.toml")
    argv = [
        sys.executable, "-m", "pledgewatch", "--db", str(db), "--config", str(config),
        "crawl", "--replay", str(warc), "--json",
    ]  # fmt: skip
    result, peak = run_measured(argv, str(tmp_path / "rss"), env=_env())
    assert peak < RSS_LIMIT_MB, f"peak RSS {peak:.0f} MB"
    assert "Traceback" not in result.stderr
    json.loads(result.stdout)
    assert "over the response size cap" in result.stderr
    assert db_rows(db, "SELECT COUNT(*) FROM articles")[0][0] == 3, "nothing else lost"
