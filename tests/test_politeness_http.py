"""Politeness and failure handling against a real HTTP server on 127.0.0.1.

The server plays the JD blog (http://jdcorporateblog.com/...) as an HTTP proxy: the crawl runs
with ``http_proxy`` pointing at it, the way users behind a proxy run it, so the publisher's real
URLs, robots.txt and allowed domains are exercised unchanged. One crawl (a CLI subprocess: the
reactor cannot restart) covers robots.txt, 429 + Retry-After, a 500 retried, an off-site redirect,
a timeout and an oversized response; the assertions read the server's own request log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import http_server, run_cli
from helpers_crawl import article_html, db_rows, listing_html, proxy_env, tiny_config

SITE = "http://jdcorporateblog.com"
# Articles are archived under their canonical URL (https, see pledgewatch.spiders.urls).
CANONICAL_SITE = "https://jdcorporateblog.com"
USER_AGENT = "pledgewatch-test/1.0 (+mailto:ops@example.org)"
RETRY_AFTER = 2
SLUGS = ("private", "rate-limited", "flaky", "moved", "slow", "huge", "fine")


class PublisherProxy(BaseHTTPRequestHandler):
    """Answers proxied requests for the fake publisher and logs (host, path, time, user agent)."""

    log: list[tuple[str, str, float, str]]
    counts: dict[str, int]

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        return

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        # The crawler hangs up on the slow and the oversized page: that is the point of those pages.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        host, path = parts.hostname or "", parts.path
        self.log.append((host, path, time.monotonic(), self.headers.get("User-Agent", "")))
        self.counts[path] = self.counts.get(path, 0) + 1
        seen = self.counts[path]
        html = {"Content-Type": "text/html; charset=UTF-8"}
        if host != "jdcorporateblog.com":
            self._send(200, b"<html><body>off-site page</body></html>", html)
        elif path == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"})
        elif path == "/":
            items = [(f"{SITE}/{slug}/", slug.title(), "2020-04-08T10:00:00+08:00") for slug in SLUGS]
            self._send(200, listing_html(items, None), html)
        elif path == "/rate-limited/" and seen == 1:
            self._send(429, b"slow down", {"Retry-After": str(RETRY_AFTER), "Content-Type": "text/plain"})
        elif path == "/flaky/" and seen == 1:
            self._send(500, b"oops", {"Content-Type": "text/plain"})
        elif path == "/moved/":
            self._send(302, b"", {"Location": "http://evil.example.net/landing/"})
        elif path == "/slow/":
            time.sleep(2.5)
            self._send(200, article_html("Slow", "2020-04-08T10:00:00+08:00", ["Too late."]), html)
        elif path == "/huge/":
            paragraphs = ["JD.com will invest in a very long article. " * 40] * 40
            self._send(200, article_html("Huge", "2020-04-08T10:00:00+08:00", paragraphs), html)
        elif path.strip("/") in SLUGS:
            slug = path.strip("/")
            text = [f"JD.com said on Wednesday that the {slug} page works.", "More text follows here."]
            self._send(200, article_html(slug.title(), "2020-04-08T10:00:00+08:00", text), html)
        else:
            self._send(404, b"not found", {"Content-Type": "text/plain"})


@pytest.fixture
def publisher_proxy() -> Iterator[tuple[str, type[PublisherProxy]]]:
    handler = type("Handler", (PublisherProxy,), {"log": [], "counts": {}})
    with http_server(handler) as url:
        yield url, handler


@pytest.mark.slow
def test_polite_crawl_handles_every_failure_without_crashing(
    tmp_path: Path, publisher_proxy: tuple[str, type[PublisherProxy]]
) -> None:
    proxy_url, handler = publisher_proxy
    config = tiny_config(
        tmp_path / "pledgewatch.toml",
        start_urls=[f"{SITE}/"],
        extra=(
            f'user_agent = "{USER_AGENT}"\n'
            "download_delay = 0\ntimeout = 1.0\nretry_times = 1\nmax_response_bytes = 20000\n"
        ),
    )
    db_path = tmp_path / "archive.db"
    env = proxy_env(proxy_url)
    result = run_cli(
        "--config", str(config), "--db", str(db_path), "crawl", "jd", "--json", env=env, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    paths = [path for host, path, _, _ in handler.log if host == "jdcorporateblog.com"]

    # An honest User-Agent on every request.
    assert {agent for _, _, _, agent in handler.log} == {USER_AGENT}
    # robots.txt is read first and its Disallow obeyed.
    assert paths[0] == "/robots.txt"
    assert "/private/" not in paths
    # 429 + Retry-After: retried, and not before the server said so.
    times = [when for host, path, when, _ in handler.log if path == "/rate-limited/"]
    assert len(times) == 2
    assert times[1] - times[0] >= RETRY_AFTER - 0.05
    # ... and the rest of the site waited too (requests already on the wire aside).
    paused = (times[0] + 0.5, times[0] + RETRY_AFTER - 0.1)
    during = [path for _, path, when, _ in handler.log if paused[0] < when < paused[1]]
    assert during == []
    # 500: retried, then it worked.
    assert paths.count("/flaky/") == 2
    # The redirect off the publisher's domain is not followed.
    assert not [host for host, _, _, _ in handler.log if host == "evil.example.net"]
    # The timed-out page was tried (and retried), then given up.
    assert paths.count("/slow/") == 2

    stored = {row[0] for row in db_rows(db_path, "SELECT canonical_url FROM articles")}
    assert stored == {
        f"{CANONICAL_SITE}/rate-limited/",
        f"{CANONICAL_SITE}/flaky/",
        f"{CANONICAL_SITE}/fine/",
    }
    assert summary["articles_new"] == 3
    # Off-site redirect, timeout and oversized response are the crawl's errors; robots.txt is not.
    assert summary["errors"] == 3
    assert "missing" not in summary
    (status, errors, error_log) = db_rows(db_path, "SELECT status, errors, error_log FROM crawl_runs")[0]
    assert (status, errors) == ("ok", 3)
    log = json.loads(error_log)
    assert any("evil.example.net" in line for line in log)
    assert any("/slow/" in line for line in log)
    assert any("/huge/" in line for line in log)


@pytest.mark.slow
def test_sigterm_stops_the_crawl_cleanly(
    tmp_path: Path, publisher_proxy: tuple[str, type[PublisherProxy]]
) -> None:
    """The daemon stops a running crawl with SIGTERM: summary printed, run recorded as interrupted."""
    proxy_url, handler = publisher_proxy
    config = tiny_config(
        tmp_path / "pledgewatch.toml",
        start_urls=[f"{SITE}/slow/"],
        extra="download_delay = 0\ntimeout = 30.0\nretry_times = 0\n",
    )
    db_path = tmp_path / "archive.db"
    env = {**os.environ, **proxy_env(proxy_url)}
    command = [sys.executable, "-m", "pledgewatch", "--config", str(config), "--db", str(db_path)]
    child = subprocess.Popen(
        [*command, "crawl", "jd", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(path == "/slow/" for _, path, _, _ in handler.log) and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped_at = time.monotonic()
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=30)

    assert time.monotonic() - stopped_at < 10
    assert child.returncode == 0, stderr
    assert "Traceback" not in stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert db_rows(db_path, "SELECT status, articles_new FROM crawl_runs") == [
        ("interrupted", summary["articles_new"])
    ]
    assert db_rows(db_path, "SELECT canonical_url FROM articles") == [(f"{CANONICAL_SITE}/slow/",)]
