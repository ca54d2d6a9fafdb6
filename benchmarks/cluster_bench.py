"""One worker versus several on the sample web replay: time from a full queue to a drained one.

Needs a PostgreSQL server (``--db``, a database the user may create schemas in) and a Redis
server (``--redis``). Each trial gets a fresh schema and its own Redis key prefix; the workers are
started and heartbeating before the start requests are enqueued, so their start-up is not timed.

    python benchmarks/cluster_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --redis redis://127.0.0.1:6379/0 --workers 1 2 --repeat 2 [--latency 0.5]

``--latency S``: every replayed response takes S seconds to arrive, as from a distant site (the
workers then run this file's replay handler, which waits before answering); 0 is the plain
replay, where a crawl is bound by the CPU alone.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

SAMPLE_WEB = Path(__file__).resolve().parent.parent / "pledgewatch" / "data" / "sampleweb.warc.gz"
SOURCES = ("jd", "chinadaily", "people")


def _articles(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM articles")).scalar_one())
    finally:
        engine.dispose()


def _backlog(client: redis.Redis, prefix: str) -> int:
    queued = sum(int(client.zcard(f"{prefix}:{name}:requests")) for name in SOURCES)
    held = sum(int(client.hlen(key)) for key in client.scan_iter(match=f"{prefix}:inflight:*"))
    return queued + held


def _recorded(path: Path) -> list[str]:
    """The URLs a worker downloaded (its --record WARC), robots.txt left out (one per worker)."""
    from warcio.archiveiterator import ArchiveIterator

    if not path.exists():
        return []
    with path.open("rb") as stream:
        return [
            record.rec_headers.get_header("WARC-Target-URI")
            for record in ArchiveIterator(stream)
            if record.rec_type == "response"
            and not record.rec_headers.get_header("WARC-Target-URI").endswith("/robots.txt")
        ]


class SlowReplayHandler:
    """The replay download handler, with a network's latency (defined lazily: Scrapy imports)."""


def _worker_mode(config: str, db_url: str, latency: float, record: str) -> None:
    """A `pledgewatch worker` whose replay answers after ``latency`` seconds."""
    import asyncio

    from pledgewatch.config import load_config
    from pledgewatch.crawler import settings
    from pledgewatch.crawler.crawl import run_worker
    from pledgewatch.crawler.replay import ReplayDownloadHandler

    class Slow(ReplayDownloadHandler):
        async def download_request(self, request):  # type: ignore[no-untyped-def]
            await asyncio.sleep(latency)
            return await super().download_request(request)

    globals()["SlowReplayHandler"] = Slow
    settings.REPLAY_HANDLER = "__main__.SlowReplayHandler"
    sys.exit(run_worker(load_config(config), db_url, record=record))


def _drain(
    base: list[str], env: dict[str, str], client: redis.Redis, prefix: str, url: str
) -> tuple[float, int]:
    """Enqueue one run; (seconds from a full queue to a drained one, articles stored)."""
    subprocess.run([*base, "crawl", "--enqueue", "--json"], env=env, check=True, capture_output=True)
    started = time.monotonic()
    last, stable = -1, None
    while True:
        count = _articles(url)
        if _backlog(client, prefix) == 0 and count == last:
            stable = stable or time.monotonic()
            if time.monotonic() - stable >= 1.0:
                return stable - started, count
        else:
            stable = None
        last = count
        time.sleep(0.05)


def _responses(client: redis.Redis, prefix: str) -> int:
    """Responses the workers received so far (their heartbeat records); waits for a fresh beat."""
    time.sleep(6)  # the default heartbeat is 5 s
    return sum(int(json.loads(raw).get("responses") or 0) for raw in client.hvals(f"{prefix}:workers"))


def _empty_archive(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            tables = [
                name
                for (name,) in connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                )
                if name not in ("alembic_version", "apscheduler_jobs")
            ]
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


def trial(
    db: str, redis_url: str, workers: int, folder: Path, latency: float = 0.0, warc: Path = SAMPLE_WEB
) -> tuple[float, int, int, int]:
    """(seconds from enqueued to drained, articles stored, responses, URLs fetched twice)."""
    schema = f"pw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(db, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in db else "?"
    url = f"{db}{separator}options=-csearch_path%3D{schema}"
    prefix = f"pwbench-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    config = folder / f"{prefix}.toml"
    config.write_text(
        f'[crawl]\nwindow_days = 0\nreplay = "{warc}"\n'
        f'[cluster]\nredis_url = "{redis_url}"\nkey_prefix = "{prefix}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PLEDGEWATCH_DB": url}
    base = [sys.executable, "-m", "pledgewatch", "--config", str(config)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([*base, "db", "upgrade"], env=env, check=True, capture_output=True)
        recordings = [folder / f"{prefix}-{n}.warc.gz" for n in range(workers)]
        # The default heartbeat (5 s): on a loaded machine a shorter one may take a busy worker for dead.
        command = (
            [sys.executable, __file__, "--worker-mode", str(config), url, str(latency)]
            if latency
            else [*base, "worker"]
        )
        processes = [
            subprocess.Popen(
                [*command, str(recording)] if latency else [*command, "--record", str(recording)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for recording in recordings
        ]
        while len(list(client.scan_iter(match=f"{prefix}:alive:*"))) < workers:
            time.sleep(0.1)
        # A warm-up round (each worker starts its pledge-detection processes, reads robots.txt),
        # then the archive is emptied and the same crawl is timed on warm workers.
        _drain(base, env, client, prefix, url)
        _empty_archive(url)
        before = _responses(client, prefix)
        seconds, count = _drain(base, env, client, prefix, url)
        responses = _responses(client, prefix) - before
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        # Both rounds are recorded: each URL twice (once per round) when no request was doubled.
        fetched = Counter(url for recording in recordings for url in _recorded(recording))
        twice = sum(max(0, n - 2) for n in fetched.values())
        return seconds, count, responses, twice
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True, help="PostgreSQL URL (a schema per trial is created in it)")
    parser.add_argument("--redis", required=True, help="Redis URL")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per replayed response")
    parser.add_argument(
        "--articles",
        type=int,
        help="crawl the scaled replica of N articles (benchmarks/replica.py, cached), not the sample web",
    )
    if len(sys.argv) > 1 and sys.argv[1] == "--worker-mode":
        _worker_mode(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
    args = parser.parse_args()
    warc = SAMPLE_WEB
    if args.articles:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import replica

        warc, _later = replica.build(args.articles)
    print(
        "| workers | trials | seconds (median) | articles | responses | fetched twice | pages/s | vs first |"
    )
    print("|---|---|---|---|---|---|---|---|")
    baseline = None
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            runs = [
                trial(args.db, args.redis, workers, Path(tmp), args.latency, warc) for _ in range(args.repeat)
            ]
            seconds = statistics.median(run[0] for run in runs)
            articles = runs[-1][1]
            responses = runs[-1][2]
            twice = max(run[3] for run in runs)
            baseline = baseline or seconds
            print(
                f"| {workers} | {len(runs)} | {seconds:.2f} | {articles} | {responses} | {twice} | "
                f"{responses / seconds:.1f} | {baseline / seconds:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
