"""A cluster on 127.0.0.1 for tests: the real Redis and PostgreSQL, workers as subprocesses.

Each test gets its own Redis key prefix (and its own PostgreSQL schema), so tests sharing the
server never see each other's queues.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REDIS_ENV = "PLEDGEWATCH_TEST_REDIS_URL"
SAMPLE_WEB = Path(__file__).resolve().parent.parent / "pledgewatch" / "data" / "sampleweb.warc.gz"
SOURCES = ("jd", "chinadaily", "people")


def redis_url() -> str:
    """The test Redis, or a skip that says how to get one."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(
            f"cluster tests need a Redis server: set ${REDIS_ENV} "
            "(set by .ci/run when 127.0.0.1:6379 answers)"
        )
    try:
        import redis
    except ImportError:
        pytest.skip("cluster tests need the [cluster] extra (pip install -e '.[test]')")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {url} does not answer: {exc}")
    finally:
        client.close()
    return url


@contextlib.contextmanager
def redis_prefix(url: str) -> Iterator[tuple[Any, str]]:
    """A client and a key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    client = redis.Redis.from_url(url)
    prefix = f"pwtest-{uuid.uuid4().hex[:10]}"
    try:
        yield client, prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()


def cluster_config(path: Path, redis: str, prefix: str, extra: str = "") -> Path:
    """A configuration that replays the sample web through the cluster ``prefix``."""
    path.write_text(
        "[crawl]\nwindow_days = 0\n"
        f'replay = "{SAMPLE_WEB}"\n'
        f'[cluster]\nredis_url = "{redis}"\nkey_prefix = "{prefix}"\nheartbeat_seconds = 1.0\n'
        "[health]\nnotify = false\n"
        f"{extra}",
        encoding="utf-8",
    )
    return path


def start_worker(config: Path, db_url: str, record: Path, *extra: str) -> subprocess.Popen[str]:
    """`pledgewatch worker` in a subprocess, recording what it fetches to ``record``."""
    env = {**os.environ, "PLEDGEWATCH_DB": db_url}
    env.pop("PLEDGEWATCH_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pledgewatch", "--config", str(config), "worker", "--record", str(record), *extra],  # noqa: E501
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def stop(process: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    """SIGTERM, as systemd stops a worker; the output once it exited."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"worker did not stop on SIGTERM: {err[-2000:]}") from None
    return out, err


def backlog(client: Any, prefix: str) -> tuple[int, int]:
    """(queued, in flight) requests of the cluster."""
    queued = sum(int(client.zcard(f"{prefix}:{name}:requests")) for name in SOURCES)
    held = sum(int(client.hlen(key)) for key in client.scan_iter(match=f"{prefix}:inflight:*"))
    return queued, held


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_workers_ready(client: Any, prefix: str, count: int, timeout: float = 120) -> None:
    """Until ``count`` workers said they are alive: each does once its spiders are open and polling.

    A worker still importing when the scheduler enqueues would find the queue drained by the
    others: a test of sharing the queue must let every worker start first.
    """
    wait_until(
        lambda: len(list(client.scan_iter(match=f"{prefix}:alive:*"))) >= count,
        timeout,
        f"{count} workers to start",
    )


def wait_drained(client: Any, prefix: str, count: Callable[[], int], timeout: float = 180) -> None:
    """Until the queue and the ledgers are empty and the archive stopped growing for 2 s."""
    stable_since: float | None = None
    last = -1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queued, held = backlog(client, prefix)
        now_count = count()
        if queued == 0 and held == 0 and now_count == last:
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since >= 2.0:
                return
        else:
            stable_since = None
        last = now_count
        time.sleep(0.2)
    raise AssertionError(f"the cluster did not drain in {timeout:.0f} s: {backlog(client, prefix)} left")
