"""The cluster's queue bookkeeping on the real Redis: a dead worker's requests come back, a run
starts only once the previous one is done and then with fresh fingerprints, and bad settings are
one line (issue 18)."""

from __future__ import annotations

import pytest
from conftest import run_cli
from helpers_cluster import redis_prefix, redis_url

from pledgewatch.config import parse_config
from pledgewatch.crawler import cluster
from pledgewatch.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("http://127.0.0.1:6379/0", "not a Redis URL"),
        ("redis://", "no host"),
        ("redis://127.0.0.1:6379/zero", "the database is a number"),
        ("redis://127.0.0.1:70000/0", "Port out of range"),
    ],
)
def test_a_bad_redis_url_is_refused_naming_the_key(value, why):
    with pytest.raises(ConfigError) as caught:
        parse_config({"cluster": {"redis_url": value}}, where="pw.toml")
    message = str(caught.value)
    assert message.startswith("pw.toml: bad value for 'cluster.redis_url'") and why in message
    assert "\n" not in message


def test_without_redis_url_nothing_changes_for_one_host():
    config = parse_config({})
    assert config.cluster.redis_url == ""
    from pledgewatch.crawler.crawl_child import crawl_command
    from pledgewatch.crawler.settings import build_settings

    assert "--enqueue" not in crawl_command(config, "sqlite:///x.db", ["jd"])
    assert "SCHEDULER" not in build_settings(config, "sqlite:///x.db")


def _ledger_entry(client, prefix: str, worker: str, source: str, score: float, data: bytes) -> None:
    client.hset(cluster.ledger_key(prefix, worker), f"{source}\t{score:g}\tticket-{data.decode()}", data)


def test_a_dead_workers_requests_go_back_to_the_queue_and_a_live_ones_stay():
    url = redis_url()
    with redis_prefix(url) as (client, prefix):
        _ledger_entry(client, prefix, "dead", "jd", -20, b"listing")
        _ledger_entry(client, prefix, "dead", "people", 0, b"article")
        _ledger_entry(client, prefix, "alive", "jd", 0, b"busy")
        client.set(cluster.alive_key(prefix, "alive"), 1, px=10_000)

        assert cluster.reclaim_dead(client, prefix) == 2
        # Back in their own source's queue, with their priority.
        assert client.zrange(cluster.queue_key(prefix, "jd"), 0, -1, withscores=True) == [(b"listing", -20.0)]
        assert client.zrange(cluster.queue_key(prefix, "people"), 0, -1) == [b"article"]
        assert cluster.in_flight(client, prefix) == {"jd": 1}
        assert cluster.reclaim_dead(client, prefix) == 0  # nothing twice


def test_a_run_starts_only_when_the_previous_is_done_and_then_with_fresh_fingerprints():
    url = redis_url()
    with redis_prefix(url) as (client, prefix):
        client.sadd(cluster.dupefilter_key(prefix, "jd"), "fp-of-last-run")
        client.sadd(cluster.dupefilter_key(prefix, "people"), "fp-of-this-run")
        client.zadd(cluster.queue_key(prefix, "people"), {b"still queued": 0})

        ready, busy = cluster.prepare_run(client, prefix, ["jd", "people"])
        assert ready == ["jd"]
        assert "still being crawled (1 queued, 0 in flight)" in busy["people"]
        assert not client.exists(cluster.dupefilter_key(prefix, "jd"))  # pruned: the feeds are read again
        assert client.exists(cluster.dupefilter_key(prefix, "people"))  # the running run keeps its own


def test_status_lists_workers_with_their_last_activity():
    import json
    import time

    url = redis_url()
    with redis_prefix(url) as (client, prefix):
        now = time.time()
        record = {"host": "h1", "pid": 7, "sources": ["jd"], "last_seen": now - 2, "last_activity": now - 5}
        client.hset(cluster.workers_key(prefix), "h1-7-abc", json.dumps({**record, "responses": 9}))
        client.set(cluster.alive_key(prefix, "h1-7-abc"), 1, px=10_000)
        old = {**record, "last_seen": now - 2 * 86400}
        client.hset(cluster.workers_key(prefix), "gone-1", json.dumps(old))
        config = parse_config({"cluster": {"redis_url": url, "key_prefix": prefix}})
        client.zadd(cluster.queue_key(prefix, "jd"), {b"a": 0, b"b": 0})

        status = cluster.cluster_status(config, now=now)
        assert status["queue_length"] == 2 and status["queued"] == {"jd": 2}
        [worker] = status["workers"]  # the one gone for two days is forgotten
        assert worker["worker"] == "h1-7-abc" and worker["alive"]
        assert worker["last_activity_seconds_ago"] == 5.0 and worker["responses"] == 9


@pytest.mark.slow
def test_worker_errors_are_one_line(tmp_path):
    config = tmp_path / "pw.toml"
    config.write_text("", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = run_cli("--config", str(config), "--db", db, "worker")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: a worker needs [cluster] redis_url in the configuration (docs/deployment.md)"
    ], "one line, and no archive created and removed before it"
    assert not (tmp_path / "a.db").exists()
    config.write_text('[cluster]\nredis_url = "redis://127.0.0.1:1/0"\n', encoding="utf-8")
    result = run_cli("--config", str(config), "--db", db, "worker")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error: cannot reach Redis at redis://127.0.0.1:1/0" in result.stderr
    config.write_text('[cluster]\nredis_url = "localhost:6379"\n', encoding="utf-8")
    result = run_cli("--config", str(config), "config", "check")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def _pacing_middleware(url: str, prefix: str, delay: float):
    """The global-delay middleware as one worker builds it (its own crawler and Redis client)."""
    from scrapy.utils.test import get_crawler

    from pledgewatch.crawler.cluster import GlobalDelayMiddleware

    crawler = get_crawler(
        settings_dict={
            "REDIS_URL": url,
            cluster.ROLE_SETTING: "worker",
            cluster.PREFIX_SETTING: prefix,
            cluster.DELAY_SETTING: delay,
        }
    )
    return GlobalDelayMiddleware.from_crawler(crawler)


def test_the_download_delay_holds_across_workers_per_host():
    """Two workers asking for the same site at once are spaced by the delay; another site is not."""
    import asyncio
    import itertools
    import time

    from scrapy import Request

    url = redis_url()
    with redis_prefix(url) as (_client, prefix):
        workers = [_pacing_middleware(url, prefix, 0.3) for _ in range(2)]

        async def fetch(middleware, target: str) -> float:
            await middleware.process_request(Request(target))
            return time.monotonic()

        async def crawl() -> tuple[float, list[float], float]:
            start = time.monotonic()
            same_site = [fetch(workers[n % 2], f"https://en.people.cn/n3/{n}.html") for n in range(4)]
            other_site = fetch(workers[0], "https://jdcorporateblog.com/feed/")
            *times, other = await asyncio.gather(*same_site, other_site)
            return start, sorted(times), other

        start, times, other = asyncio.run(crawl())
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(gap >= 0.25 for gap in gaps), gaps  # 0.3 s apart, whichever worker asked
        assert times[-1] - start >= 0.85
        assert other - start < 0.2  # the delay is per host


def test_a_long_running_workers_window_moves_with_the_clock():
    """A worker runs for weeks: its [crawl] window_days counts back from now, not from its start."""
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from scrapy.utils.test import get_crawler

    from pledgewatch.crawler.cluster import ClusterWorker

    url = redis_url()
    with redis_prefix(url) as (_client, prefix):
        crawler = get_crawler(
            settings_dict={
                "REDIS_URL": url,
                cluster.ROLE_SETTING: "worker",
                cluster.PREFIX_SETTING: prefix,
                cluster.WORKER_SETTING: "w1",
                cluster.WINDOW_SETTING: 30,
            }
        )
        worker = ClusterWorker.from_crawler(crawler)
        spider = SimpleNamespace(since=datetime(2020, 1, 1, tzinfo=UTC))  # the window at its start
        worker.spider = spider
        worker._wake_engine()
        assert abs(spider.since - (datetime.now(UTC) - timedelta(days=30))) < timedelta(minutes=1)
