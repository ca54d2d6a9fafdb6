"""Issue 19: a crawl against a hostile or broken web server stays bounded and loses nothing else.

One crawl (a CLI subprocess, peak RSS measured) of the JD blog played by a real HTTP server on
127.0.0.1 (reached through ``http_proxy``), whose pages are: a 503 with ``Retry-After`` as an HTTP
date, a body trickled one byte every 0.2 s, a gzip body cut short, a same-site redirect loop, a
50 MB page, a listing that paginates forever (each page one new article), and ordinary articles.
(429 + Retry-After in seconds, 500, off-site redirects, a timeout and a response over a small cap
are in tests/test_politeness_http.py.)
"""

from __future__ import annotations

import contextlib
import gzip
import json
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import http_server
from helpers_crawl import article_html, crawl_argv, db_rows, listing_html, proxy_env, tiny_config
from helpers_reliability import run_measured

SITE = "http://jdcorporateblog.com"
CANONICAL = "https://jdcorporateblog.com"
FAULTS = ("retry-503", "trickle", "gzip-cut", "loop-a", "huge-50mb", "fine")
HUGE = 50 * 1024 * 1024
MAX_PAGES = 5
RSS_LIMIT_MB = 500


def _article(slug: str) -> bytes:
    text = [f"JD.com said on Wednesday that the {slug} page works.", "More text follows here."]
    return article_html(slug.title(), "2020-04-08T10:00:00+08:00", text)


class Hostile(BaseHTTPRequestHandler):
    counts: dict[str, int]
    times: dict[str, list[float]]

    def log_message(self, format: str, *args: object) -> None:
        return

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self._head(
            status,
            {"Content-Type": "text/html; charset=UTF-8", **(headers or {}), "Content-Length": str(len(body))},
        )
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.counts[path] = self.counts.get(path, 0) + 1
        self.times.setdefault(path, []).append(time.monotonic())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(path, self.counts[path])

    def _answer(self, path: str, seen: int) -> None:
        if path == "/robots.txt":
            self._send(200, b"User-agent: *\n", {"Content-Type": "text/plain"})
        elif path == "/":
            items = [(f"{SITE}/{slug}/", slug, "2020-04-08T10:00:00+08:00") for slug in FAULTS]
            self._send(200, listing_html(items, None))
        elif path.startswith("/topic/"):
            number = int(path.strip("/").split("/")[-1]) if path != "/topic/" else 1
            item = [(f"{SITE}/endless-{number}/", f"Endless {number}", "2020-04-08T10:00:00+08:00")]
            self._send(200, listing_html(item, f"{SITE}/topic/page/{number + 1}/"))
        elif path == "/retry-503/" and seen == 1:
            self._send(503, b"busy", {"Retry-After": formatdate(time.time() + 2, usegmt=True)})
        elif path == "/trickle/":
            self._head(200, {"Content-Type": "text/html", "Content-Length": "100000"})
            for _ in range(100):  # 20 s if the client let it
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        elif path == "/gzip-cut/":
            packed = gzip.compress(_article("gzip-cut"))
            self._send(200, packed[: len(packed) // 2], {"Content-Encoding": "gzip"})
        elif path == "/loop-a/":
            self._send(302, b"", {"Location": f"{SITE}/loop-b/"})
        elif path == "/loop-b/":
            self._send(302, b"", {"Location": f"{SITE}/loop-a/"})
        elif path == "/huge-50mb/":
            self._head(200, {"Content-Type": "text/html", "Content-Length": str(HUGE)})
            chunk = b"<p>JD.com will invest in a very long page.</p>" * 20_000
            sent = 0
            while sent < HUGE:
                self.wfile.write(chunk[: HUGE - sent])
                sent += len(chunk)
        elif path.strip("/") in FAULTS or path.startswith("/endless-"):
            self._send(200, _article(path.strip("/")))
        else:
            self._send(404, b"not found", {"Content-Type": "text/plain"})


@pytest.fixture
def hostile() -> Iterator[tuple[str, type[Hostile]]]:
    handler = type("Handler", (Hostile,), {"counts": {}, "times": {}})
    with http_server(handler) as url:
        yield url, handler


@pytest.mark.slow
def test_a_hostile_server_costs_bounded_time_and_memory_and_loses_nothing_else(
    tmp_path: Path, hostile: tuple[str, type[Hostile]]
) -> None:
    proxy, site = hostile
    config = tiny_config(
        tmp_path / "c.toml",
        start_urls=[f"{SITE}/", f"{SITE}/topic/"],
        extra=f"download_delay = 0\ntimeout = 3\nretry_times = 1\nmax_pages_per_listing = {MAX_PAGES}\n",
    )
    db = tmp_path / "a.db"
    env = proxy_env(proxy, inherit=True)
    argv = crawl_argv(db, config)
    started = time.monotonic()
    result, peak = run_measured(argv, str(tmp_path / "rss"), env=env, timeout=300)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    stored = {row[0] for row in db_rows(db, "SELECT canonical_url FROM articles")}
    counts = site.counts

    # 503 + Retry-After (an HTTP date): retried once, not before the date, then stored.
    first, second = site.times["/retry-503/"][:2]
    assert second - first >= 1.0
    assert f"{CANONICAL}/retry-503/" in stored
    # The trickled body: given up at the timeout each time (2 tries), not after 20 s.
    assert counts["/trickle/"] == 2 and f"{CANONICAL}/trickle/" not in stored
    # The redirect loop: a bounded number of hops, nothing stored.
    assert counts.get("/loop-a/", 0) + counts.get("/loop-b/", 0) <= 8
    # The 50 MB page: dropped at the response cap (10 MiB), memory bounded.
    assert f"{CANONICAL}/huge-50mb/" not in stored
    assert peak < RSS_LIMIT_MB, f"peak RSS {peak:.0f} MB"
    # Endless pagination: max_pages_per_listing pages, each one's article stored.
    listing_pages = [path for path in counts if path.startswith("/topic/")]
    assert len(listing_pages) == MAX_PAGES, listing_pages
    assert {f"{CANONICAL}/endless-{n}/" for n in range(1, MAX_PAGES + 1)} <= stored
    # Nothing else lost: the ordinary article is stored; the failures are counted, one line each.
    assert f"{CANONICAL}/fine/" in stored
    assert summary["errors"] >= 2
    assert elapsed < 120, f"{elapsed:.0f} s"
    print(
        f"\nhostile crawl: {elapsed:.1f} s, peak RSS {peak:.0f} MB, stored {len(stored)}, summary {summary}"
    )
