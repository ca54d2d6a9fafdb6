"""Issue 19, item 2: HTTP validators are saved as each discovery page completes, not at crawl end.

A crawl that is killed (kill -9) or stopped (SIGTERM) while one request still hangs keeps the
ETag of the sitemap it finished, so the next run gets a 304 for it instead of doing the work
again. A real HTTP server on 127.0.0.1, reached as the JD blog through an HTTP proxy setting.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import http_server
from helpers_crawl import article_html, crawl_argv, db_rows, proxy_env, sitemap_xml, tiny_config

SITE = "http://jdcorporateblog.com"
SLUGS = ("first", "second")


class Site(BaseHTTPRequestHandler):
    """A sitemap (ETag "s-v1") of two articles, and a listing page that never answers."""

    requests: list[tuple[str, str]]

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.requests.append((path, self.headers.get("If-None-Match", "")))
        if path == "/robots.txt":
            self._send(200, b"User-agent: *\n", {"Content-Type": "text/plain"})
        elif path == "/wp-sitemap.xml":
            if self.headers.get("If-None-Match") == '"s-v1"':
                self._send(304, b"", {"ETag": '"s-v1"'})
                return
            entries = [(f"{SITE}/{slug}/", "2020-04-08T10:00:00+08:00") for slug in SLUGS]
            self._send(200, sitemap_xml(entries), {"Content-Type": "application/xml", "ETag": '"s-v1"'})
        elif path == "/page/2/":
            time.sleep(60)  # the hanging request that keeps the crawl running
        elif path.strip("/") in SLUGS:
            slug = path.strip("/")
            text = [f"JD.com said on Wednesday that the {slug} page works.", "More text follows here."]
            body = article_html(slug.title(), "2020-04-08T10:00:00+08:00", text)
            self._send(200, body, {"Content-Type": "text/html; charset=UTF-8"})
        else:
            self._send(404, b"not found", {"Content-Type": "text/plain"})


@contextlib.contextmanager
def serve() -> Iterator[tuple[str, type[Site]]]:
    handler = type("Handler", (Site,), {"requests": []})
    with http_server(handler) as url:
        yield url, handler


def _crawl(tmp_path: Path, proxy: str, start_urls: list[str]) -> subprocess.Popen[str]:
    config = tiny_config(
        tmp_path / "c.toml",
        start_urls=start_urls,
        extra="download_delay = 0\ntimeout = 120\nretry_times = 0\n",
    )
    return subprocess.Popen(
        crawl_argv(tmp_path / "a.db", config),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=proxy_env(proxy, inherit=True),
    )


def _wait_for_validators(db: Path, process: subprocess.Popen[str], timeout: float = 90) -> list[tuple]:
    """The fetch_validators rows, as soon as there are any while the crawl still runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the crawl ended before the hanging request did"
        if db.exists():
            with contextlib.suppress(Exception):
                rows = db_rows(db, "SELECT url, etag FROM fetch_validators")
                if rows:
                    return rows
        time.sleep(0.3)
    raise AssertionError("no validators saved while the crawl ran (saved only at crawl end?)")


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_a_crawl_stopped_midway_keeps_the_validators_of_what_it_finished(tmp_path: Path, stop: int) -> None:
    with serve() as (proxy, site):
        process = _crawl(tmp_path, proxy, [f"{SITE}/wp-sitemap.xml", f"{SITE}/page/2/"])
        try:
            rows = _wait_for_validators(tmp_path / "a.db", process)
            articles = db_rows(tmp_path / "a.db", "SELECT canonical_url FROM articles ORDER BY 1")
        finally:
            sent = time.monotonic()
            process.send_signal(stop)
            process.communicate(timeout=90)
            stopped_after = time.monotonic() - sent
        # The hanging request (60 s, timeout 120 s) does not hold the stop: its connection is aborted.
        assert stopped_after < 10, f"stopped {stopped_after:.1f} s after the signal"
        assert rows == [(f"{SITE}/wp-sitemap.xml", '"s-v1"')]
        assert [url for (url,) in articles] == [f"https://jdcorporateblog.com/{slug}/" for slug in SLUGS]
        # Still there after the kill, and the next run is answered 304 for the finished sitemap.
        assert db_rows(tmp_path / "a.db", "SELECT url, etag FROM fetch_validators") == rows
        site.requests.clear()
        again = _crawl(tmp_path, proxy, [f"{SITE}/wp-sitemap.xml"])
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        assert ("/wp-sitemap.xml", '"s-v1"') in site.requests
        assert not any(path.strip("/") in SLUGS for path, _ in site.requests), site.requests
