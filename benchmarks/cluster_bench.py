"""One worker versus several on the sample web replay: time from a full queue to a drained one.

Needs a PostgreSQL server (``--db``, a database the user may create schemas in) and a Redis
server (``--redis``). Each trial gets a fresh schema and its own Redis key prefix; the workers are
started and heartbeating before the start requests are enqueued, so their start-up is not timed.

    python benchmarks/cluster_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --redis redis://127.0.0.1:6379/0 --workers 1 2 --repeat 2
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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


def trial(db: str, redis_url: str, workers: int, folder: Path) -> tuple[float, int, int]:
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
        f'[crawl]\nwindow_days = 0\nreplay = "{SAMPLE_WEB}"\n'
        f'[cluster]\nredis_url = "{redis_url}"\nkey_prefix = "{prefix}"\nheartbeat_seconds = 0.5\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PLEDGEWATCH_DB": url}
    base = [sys.executable, "-m", "pledgewatch", "--config", str(config)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([*base, "db", "upgrade"], env=env, check=True, capture_output=True)
        recordings = [folder / f"{prefix}-{n}.warc.gz" for n in range(workers)]
        processes = [
            subprocess.Popen(
                [*base, "worker", "--record", str(recording)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for recording in recordings
        ]
        while len(list(client.scan_iter(match=f"{prefix}:alive:*"))) < workers:
            time.sleep(0.1)
        subprocess.run([*base, "crawl", "--enqueue", "--json"], env=env, check=True, capture_output=True)
        started = time.monotonic()
        last, stable = -1, None
        while True:
            count = _articles(url)
            if _backlog(client, prefix) == 0 and count == last:
                stable = stable or time.monotonic()
                if time.monotonic() - stable >= 1.0:
                    break
            else:
                stable = None
            last = count
            time.sleep(0.05)
        seconds = stable - started
        responses = 0
        import json

        for raw in client.hvals(f"{prefix}:workers"):
            responses += int(json.loads(raw).get("responses") or 0)
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        fetched = [url for recording in recordings for url in _recorded(recording)]
        twice = len(fetched) - len(set(fetched))
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
    args = parser.parse_args()
    print("| workers | trials | seconds (median) | articles | responses | fetched twice | pages/s | vs first |")  # noqa: E501
    print("|---|---|---|---|---|---|---|---|")
    baseline = None
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            runs = [trial(args.db, args.redis, workers, Path(tmp)) for _ in range(args.repeat)]
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
