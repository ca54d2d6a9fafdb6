"""How a crawl reports its outcome: a source that reached nothing fails, Ctrl-C exits 130, and
``--record`` writes the format its file name says.

Real parts only: the crawl is the CLI in a subprocess (or the daemon's supervised child), the
network is an HTTP proxy on 127.0.0.1 playing the JD blog, or a closed local port (every
connection refused, as with no network at all), and archives are real WARC files.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import http_server, run_cli
from helpers_crawl import article_html, db_rows, listing_html, proxy_env, tiny_config, warc_urls

SITE = "http://jdcorporateblog.com"
SLUGS = ("first", "second", "broken")
FAST = "download_delay = 0\ntimeout = 5.0\nretry_times = 1\n"


class Site(BaseHTTPRequestHandler):
    """The JD blog behind a proxy: a listing of three articles; ``broken`` answers 503 always.

    ``down``: every path answers 503 (a site in maintenance). ``slow``: /slow/ takes 30 s.
    """

    down = False
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=UTF-8") -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.requests.append(path)
        if self.down:
            self._send(503, b"down for maintenance", "text/plain")
        elif path == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /wp-admin/\n", "text/plain")
        elif path == "/":
            items = [(f"{SITE}/{slug}/", slug.title(), "2020-04-08T10:00:00+08:00") for slug in SLUGS]
            self._send(200, listing_html(items, None))
        elif path == "/broken/":
            self._send(503, b"oops", "text/plain")
        elif path == "/slow/":
            time.sleep(30)
        elif path.strip("/") in SLUGS:
            slug = path.strip("/")
            text = [f"JD.com said on Wednesday that the {slug} page works.", "More text follows here."]
            self._send(200, article_html(slug.title(), "2020-04-08T10:00:00+08:00", text))
        else:
            self._send(404, b"not found", "text/plain")


@contextlib.contextmanager
def serve(down: bool = False) -> Iterator[tuple[str, type[Site]]]:
    handler = type("Handler", (Site,), {"down": down, "requests": []})
    with http_server(handler) as url:
        yield url, handler


def closed_port_url() -> str:
    """A local port nothing listens on: every connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tiny_config(tmp_path / "pledgewatch.toml", start_urls=[f"{SITE}/", f"{SITE}/first/"], extra=FAST)


def crawl(config: Path, db_path: Path, proxy_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "--config",
        str(config),
        "--db",
        str(db_path),
        "crawl",
        "jd",
        *extra,
        env=proxy_env(proxy_url),
        timeout=120,
    )


@pytest.mark.slow
def test_a_crawl_that_reaches_nothing_fails_and_a_later_good_one_is_ok(tmp_path: Path, config: Path) -> None:
    db_path = tmp_path / "archive.db"

    # No network: every connection refused. The crawl says so and exits 1.
    result = crawl(config, db_path, closed_port_url(), "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "failed"
    jd = summary["sources"]["jd"]
    assert jd["status"] == "failed"
    assert jd["requests"] == jd["requests_failed"] == 2  # the two start URLs
    assert jd["reason"] == "2 of 2 requests failed: connection refused"
    [(status, error_log)] = db_rows(db_path, "SELECT status, error_log FROM crawl_runs")
    assert status == "failed"
    assert json.loads(error_log)[0] == "jd: 2 of 2 requests failed: connection refused"

    # The text summary says it too.
    result = crawl(config, db_path, closed_port_url())
    assert result.returncode == 1, result.stderr
    assert "crawl: failed" in result.stdout
    assert "jd: 2 of 2 requests failed: connection refused" in result.stdout

    # The network is back: the same crawl is ok, one 503 article counted but not fatal.
    with serve() as (proxy_url, _):
        result = crawl(config, db_path, proxy_url, "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["status"] == "ok"
        assert summary["articles_new"] == 2
        jd = summary["sources"]["jd"]
        assert jd["status"] == "ok"
        assert jd["requests_failed"] == 1
        assert jd["reason"] == f"1 of {jd['requests']} requests failed: HTTP 503"
        statuses = [row[0] for row in db_rows(db_path, "SELECT status FROM crawl_runs ORDER BY id")]
        assert statuses == ["failed", "failed", "ok"]

        # Nothing new the next time: still ok (0 new articles is not a failure).
        result = crawl(config, db_path, proxy_url)
        assert result.returncode == 0, result.stderr
        assert "crawl: ok" in result.stdout
        assert "jd             ok, 1 of 2 requests failed: HTTP 503" in result.stdout  # shown
        assert re.search(r"^  articles new +0$", result.stdout, re.MULTILINE)


@pytest.mark.slow
def test_the_daemon_records_a_source_that_answers_only_5xx_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from pledgewatch.config import load_config
    from pledgewatch.crawler.crawl_child import supervised_crawl
    from pledgewatch.store import db
    from pledgewatch.store.models import CrawlRun

    config_path = tiny_config(tmp_path / "pledgewatch.toml", start_urls=[f"{SITE}/"], extra=FAST)
    db_url = f"sqlite:///{tmp_path / 'archive.db'}"
    engine = db.make_engine(db_url)
    db.ensure_schema(engine)
    sessions = db.session_factory(engine)
    try:
        with serve(down=True) as (proxy_url, _):
            for name, value in proxy_env(proxy_url).items():
                monkeypatch.setenv(name, value)  # the crawl child inherits the environment
            outcome = supervised_crawl(
                load_config(config_path), db_url, sessions, ["jd"], stop=threading.Event(), stop_grace=5
            )
        assert outcome.result is not None and outcome.result.status == "failed"
        assert outcome.reason == "jd: 1 of 1 requests failed: HTTP 503"
        assert "jd: 1 of 1 requests failed: HTTP 503" in outcome.describe()
        with sessions() as session:
            [run] = session.scalars(select(CrawlRun)).all()
        assert run.status == "failed" and run.trigger == "daemon"
        assert run.error_log.count("jd: 1 of 1 requests failed: HTTP 503") == 1
    finally:
        engine.dispose()


def stored(db_path: Path) -> bool:
    """Whether the crawl has stored an article yet (it runs in another process)."""
    import sqlite3

    try:
        return bool(db_rows(db_path, "SELECT 1 FROM articles"))
    except sqlite3.Error:
        return False


@pytest.mark.slow
def test_ctrl_c_exits_130_and_keeps_the_run(tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path / "pledgewatch.toml",
        start_urls=[f"{SITE}/first/", f"{SITE}/slow/"],
        extra="download_delay = 0\ntimeout = 60.0\nretry_times = 0\n",
    )
    db_path = tmp_path / "archive.db"
    with serve() as (proxy_url, handler):
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
        while time.monotonic() < deadline and not ("/slow/" in handler.requests and stored(db_path)):
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)

    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["status"] == "interrupted"
    assert db_rows(db_path, "SELECT status FROM crawl_runs") == [("interrupted",)]
    # What was done before the Ctrl-C is kept.
    assert db_rows(db_path, "SELECT canonical_url FROM articles") == [("https://jdcorporateblog.com/first/",)]


@pytest.mark.slow
def test_record_to_a_plain_warc_name_writes_plain_records(tmp_path: Path, config: Path) -> None:
    archive = tmp_path / "today.warc"
    with serve() as (proxy_url, _):
        first = crawl(config, tmp_path / "a.db", proxy_url, "--record", str(archive))
        assert first.returncode == 0, first.stderr
        second = crawl(config, tmp_path / "b.db", proxy_url, "--record", str(archive))
        assert second.returncode == 0, second.stderr
    data = archive.read_bytes()
    assert data.startswith(b"WARC/1.")  # no gzip member anywhere: plain records throughout
    assert b"\x1f\x8b\x08" not in data
    assert data.count(b"WARC-Type: warcinfo") == 2  # appended, not overwritten
    assert ("http://jdcorporateblog.com/first/", 200) in warc_urls(archive)
    # It replays.
    replayed = run_cli(
        "--config",
        str(config),
        "--db",
        str(tmp_path / "c.db"),
        "crawl",
        "jd",
        "--replay",
        str(archive),
        "--json",
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout.strip().splitlines()[-1])["articles_new"] == 2


@pytest.mark.slow
def test_record_refuses_to_mix_gzipped_and_plain_records(tmp_path: Path, config: Path) -> None:
    plain_named = tmp_path / "old.warc"
    plain_named.write_bytes(
        gzip.compress(b"WARC/1.1\r\nWARC-Type: warcinfo\r\nContent-Length: 0\r\n\r\n\r\n\r\n")
    )
    before = plain_named.read_bytes()
    result = crawl(config, tmp_path / "a.db", closed_port_url(), "--record", str(plain_named))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: --record {plain_named}: the archive holds gzipped records but its name asks for plain"
        " ones; not mixing them (name it .warc.gz for gzip, .warc for plain)"
    )
    assert plain_named.read_bytes() == before
