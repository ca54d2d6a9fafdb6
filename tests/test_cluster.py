"""A scheduler and workers as separate processes on the real Redis and PostgreSQL (issue 18).

The sample web is replayed from its WARC; every worker records what it fetched to a WARC of its
own, so "no URL fetched twice" is read from what the workers really downloaded.
"""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_cluster import (
    SAMPLE_WEB,
    backlog,
    cluster_config,
    redis_prefix,
    redis_url,
    start_worker,
    stop,
    wait_drained,
    wait_until,
    wait_workers_ready,
)
from helpers_crawl import warc_urls
from helpers_daemon import SmtpSink, subjects
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """What one local crawl of the sample web stores and fetches: the cluster must match it."""
    folder = tmp_path_factory.mktemp("reference")
    config = folder / "local.toml"
    config.write_text("[crawl]\nwindow_days = 0\n", encoding="utf-8")
    recording = folder / "local.warc.gz"
    result = run_cli(
        "--config", str(config), "--db", str(folder / "local.db"),
        "crawl", "--replay", str(SAMPLE_WEB), "--record", str(recording), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    return {
        "articles": summary["articles_new"],
        "urls": {url for url, _ in warc_urls(recording) if not url.endswith("/robots.txt")},
    }


def _rows(db_url: str, sql: str) -> list[tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def _article_count(db_url: str) -> int:
    try:
        return int(_rows(db_url, "SELECT count(*) FROM articles")[0][0])
    except Exception:  # the schema is not there yet
        return 0


def _fetched(recording: Path) -> list[str]:
    """Article and discovery URLs a worker downloaded (robots.txt: each worker reads it once)."""
    try:
        return [url for url, _ in warc_urls(recording) if not url.endswith("/robots.txt")]
    except FileNotFoundError:
        return []


def _assert_each_article_once(db_url: str, expected: int) -> None:
    assert _rows(db_url, "SELECT count(*) FROM articles")[0][0] == expected
    for sql in (
        "SELECT article_key FROM articles WHERE article_key IS NOT NULL"
        " GROUP BY article_key HAVING count(*) > 1",
        "SELECT canonical_url FROM articles GROUP BY canonical_url HAVING count(*) > 1",
        "SELECT url FROM article_urls GROUP BY url HAVING count(*) > 1",
        "SELECT name FROM sources GROUP BY name HAVING count(*) > 1",
    ):
        assert _rows(db_url, sql) == [], sql


def test_scheduler_and_two_workers_store_every_article_once(tmp_path, postgres_schema_url, reference):
    url = redis_url()
    db_url = postgres_schema_url
    with _smtp() as sink, redis_prefix(url) as (client, prefix):
        config = cluster_config(
            tmp_path / "cluster.toml",
            url,
            prefix,
            extra=(
                '[schedule]\ndigest = "off"\n'
                f'[email]\nhost = "127.0.0.1"\nport = {sink.port}\nrecipients = ["analyst@example.org"]\n'
                "alert_max_age_days = 0\n"
            ),
        )
        env = {"PLEDGEWATCH_DB": db_url}
        assert run_cli("--config", str(config), "db", "upgrade", env=env).returncode == 0
        records = [tmp_path / "a.warc.gz", tmp_path / "b.warc.gz"]
        workers = [start_worker(config, db_url, record) for record in records]
        try:
            wait_workers_ready(client, prefix, 2)
            # The scheduler: enqueues the start requests of every due source, records the run.
            scheduled = run_cli("--config", str(config), "run", "--once", env=env)
            assert scheduled.returncode == 0, scheduled.stderr
            # Recorded as the daemon's run; it fetched nothing itself and said what it queued.
            last_run = "SELECT status, trigger, pages_fetched FROM crawl_runs ORDER BY id DESC LIMIT 1"
            run = _rows(db_url, last_run)
            assert run == [("ok", "daemon", 0)]
            assert "enqueued" in scheduled.stderr

            wait_drained(client, prefix, lambda: _article_count(db_url))
            status = run_cli("--config", str(config), "status", "--json", env=env)
            assert status.returncode == 0, status.stderr
            cluster = json.loads(status.stdout)["cluster"]
            assert cluster["queue_length"] == 0
            alive = [w for w in cluster["workers"] if w["alive"]]
            assert len(alive) == 2 and all(w["last_activity_seconds_ago"] is not None for w in alive)
        finally:
            outputs = [stop(worker) for worker in workers]
        for worker, (_out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err[-3000:]
            assert "Traceback" not in err, err[-3000:]

        _assert_each_article_once(db_url, reference["articles"])
        fetched = _fetched(records[0]) + _fetched(records[1])
        twice = [u for u, n in Counter(fetched).items() if n > 1]
        assert twice == [], f"fetched by more than one request: {twice}"
        assert set(fetched) == reference["urls"]
        assert _fetched(records[0]) and _fetched(records[1]), "both workers took requests from the queue"

        # Alerts: the daemon alone sends them, once: a second and a third round send nothing new.
        run_cli("--config", str(config), "run", "--once", env=env)
        wait_until(lambda: len(sink.messages) > 0, 30, "the alerts")
        sent = subjects(sink.messages)
        third = run_cli("--config", str(config), "run", "--once", env=env)
        assert third.returncode == 0, third.stderr
        assert subjects(sink.messages) == sent
        # No worker took the second round's requests: the third round does not enqueue them again.
        assert "not enqueued" in third.stderr and "still being crawled" in third.stderr
        assert len(sent) == len(set(sent))


def test_a_worker_killed_mid_crawl_loses_nothing(tmp_path, postgres_schema_url, reference):
    url = redis_url()
    db_url = postgres_schema_url
    with redis_prefix(url) as (client, prefix):
        quiet = '[email]\nalerts = false\n[schedule]\ndigest = "off"\n'
        config = cluster_config(tmp_path / "cluster.toml", url, prefix, extra=quiet)
        env = {"PLEDGEWATCH_DB": db_url}
        assert run_cli("--config", str(config), "db", "upgrade", env=env).returncode == 0
        first = start_worker(config, db_url, tmp_path / "first.warc.gz")
        second = None
        try:
            assert run_cli("--config", str(config), "run", "--once", env=env).returncode == 0
            # Killed (SIGKILL: no chance to hand anything back) while it holds requests.
            wait_until(lambda: backlog(client, prefix)[1] > 0, 60, "the first worker to take requests")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
            held = backlog(client, prefix)[1]
            assert held > 0, "the worker was killed while it held requests"

            second = start_worker(config, db_url, tmp_path / "second.warc.gz")
            wait_drained(client, prefix, lambda: _article_count(db_url))
        finally:
            if first.poll() is None:
                first.kill()
            first.communicate()
            if second is not None:
                _out, err = stop(second)
                assert second.returncode == 0, err[-3000:]

        _assert_each_article_once(db_url, reference["articles"])
        # The second worker re-fetched what the first lost, and nothing twice itself.
        fetched = _fetched(tmp_path / "second.warc.gz")
        assert [u for u, n in Counter(fetched).items() if n > 1] == []
        assert backlog(client, prefix) == (0, 0)


class _smtp:
    """The SMTP sink as a context manager."""

    def __enter__(self) -> SmtpSink:
        self.sink = SmtpSink().start()
        return self.sink

    def __exit__(self, *exc: object) -> None:
        self.sink.stop()
