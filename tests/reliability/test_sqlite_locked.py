"""Issue 19: the SQLite archive locked by another process in the middle of a crawl.

Another process (here: this test, through sqlite3) holds the archive's write lock for 4 s while
articles are still arriving. The crawl's store thread waits for it (``busy_timeout``, 30 s), the
downloads go on meanwhile, and when the lock is released every article is stored: no error, none
lost. (A lock held past the busy timeout fails the articles stored meanwhile: each is counted as
an error and its listing keeps no validators, so the next crawl fetches it again; see
docs/reliability.md.)
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import http_server
from helpers_crawl import article_html, crawl_argv, db_rows, listing_html, proxy_env, tiny_config

SITE = "http://jdcorporateblog.com"
SLUGS = [f"story-{n}" for n in range(6)]
LOCK_SECONDS = 4.0


class Slow(BaseHTTPRequestHandler):
    """A listing of six articles; article n answers after 0.6 * n seconds."""

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, body: bytes, content_type: str = "text/html; charset=UTF-8") -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/robots.txt":
            self._send(b"User-agent: *\n", "text/plain")
        elif path == "/":
            self._send(listing_html([(f"{SITE}/{s}/", s, "2020-04-08T10:00:00+08:00") for s in SLUGS], None))
        elif path.strip("/") in SLUGS:
            slug = path.strip("/")
            time.sleep(0.6 * SLUGS.index(slug))
            text = [f"JD.com said on Wednesday that {slug} works.", f"The {slug} text is its own."]
            self._send(article_html(slug, "2020-04-08T10:00:00+08:00", text))
        else:
            self.send_error(404)


@pytest.fixture
def slow_site() -> Iterator[str]:
    with http_server(Slow) as url:
        yield url


@pytest.mark.slow
def test_a_write_lock_held_mid_crawl_delays_the_store_and_loses_nothing(
    tmp_path: Path, slow_site: str
) -> None:
    db = tmp_path / "a.db"
    config = tiny_config(
        tmp_path / "c.toml", start_urls=[f"{SITE}/"], extra="download_delay = 0\nconcurrency_per_domain = 6\n"
    )
    env = proxy_env(slow_site, inherit=True)
    argv = crawl_argv(db, config)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 90
        stored = 0
        while stored == 0:
            assert process.poll() is None and time.monotonic() < deadline, "no article stored"
            time.sleep(0.1)
            with contextlib.suppress(sqlite3.Error):
                stored = db_rows(db, "SELECT COUNT(*) FROM articles")[0][0]
        lock = sqlite3.connect(db, timeout=10, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        time.sleep(LOCK_SECONDS)
        during = db_rows(db, "SELECT COUNT(*) FROM articles")[0][0]  # readers are not blocked (WAL)
        lock.execute("COMMIT")
        lock.close()
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert during < len(SLUGS), "the lock was held while articles were still to be stored"
    assert summary["errors"] == 0 and summary["articles_new"] == len(SLUGS)
    assert db_rows(db, "SELECT COUNT(*) FROM articles")[0][0] == len(SLUGS)
    assert time.monotonic() - locked_at >= LOCK_SECONDS
