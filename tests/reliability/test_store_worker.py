"""The crawl's store worker: articles stored and their pledges found in a process of its own.

What a user would notice if it broke: a cold crawl back at one core's speed (the worker not used),
pledges missing from articles the worker stored, an article lost when the worker is killed, or a
crawl hanging forever because a killed worker left the archive's write lock taken.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers_reliability import many_pledges_text
from scrapy.extension import ExtensionManager
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from pledgewatch.config import Config
from pledgewatch.crawler.pipelines import StorePipeline
from pledgewatch.crawler.settings import ARCHIVE_EXTENSION
from pledgewatch.crawler.store_worker import FileLock, StorePool, StoreWorker, shareable
from pledgewatch.ingest import AnalysisDeferred
from pledgewatch.records import ArticleRecord
from pledgewatch.store.db import ensure_schema, make_engine, session_factory
from pledgewatch.store.models import Article, Pledge

PUBLISHED = datetime(2020, 4, 8, 2, 0, tzinfo=UTC)
PLEDGE = "JD.com will invest more than RMB 6 billion in Hubei over the next three years."


def _record(url: str, text: str, published: datetime | None = PUBLISHED) -> ArticleRecord:
    return ArticleRecord(url=url, source="jd", title="JD in Hubei", text=text, published=published)


def _pipeline(db_url: str, **settings: object) -> StorePipeline:
    crawler = get_crawler(
        settings_dict={
            "PLEDGEWATCH_DB_URL": db_url,
            "PLEDGEWATCH_CONFIG": Config(),
            "EXTENSIONS": {ARCHIVE_EXTENSION: 100},
            **settings,
        }
    )
    crawler.extensions = build_from_crawler(ExtensionManager, crawler)
    crawler.stats.open_spider()
    crawler.crawling = True  # what a running crawl says (false: stopping, every article deferred)
    return StorePipeline.from_crawler(crawler)


def test_the_pipeline_stores_in_a_worker_process_with_pledges_and_counts_its_errors(
    sqlite_url: str,
) -> None:
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    pipeline = _pipeline(sqlite_url)
    assert pipeline.store_pool is not None
    worker = pipeline.store_pool.workers[0]
    good = _record("https://jdcorporateblog.com/hubei/", PLEDGE)
    # A naive publication time: the store in the worker refuses it; the crawl counts it and goes on.
    bad = _record("https://jdcorporateblog.com/bad/", "JD.com text.", published=datetime(2020, 4, 8))
    assert pipeline.process_item(good) is good
    worker_pid = worker._process.pid
    assert worker_pid != os.getpid() and worker._process.is_alive()
    assert pipeline.process_item(bad) is bad

    stats = pipeline.stats.get_stats()
    assert stats["pledgewatch/articles_new"] == 1
    assert stats["pledgewatch/pledges_new"] == 1
    assert stats["pledgewatch/errors"] == 1
    assert "store https://jdcorporateblog.com/bad/" in stats["pledgewatch/error_log"][0]
    assert worker._process.pid == worker_pid, "one bad article must not cost the worker"
    pipeline.close_spider()
    assert worker._process is None
    with session_factory(engine)() as session:
        urls = session.scalars(select(Article.canonical_url)).all()
        amounts = session.scalars(select(Pledge.amount_value)).all()
    engine.dispose()
    assert urls == ["https://jdcorporateblog.com/hubei/"]
    assert amounts == [6_000_000_000]


def test_without_the_store_process_the_crawl_process_stores_and_finds_the_same(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    pipeline = _pipeline(sqlite_url, PLEDGEWATCH_STORE_PROCESS=False)
    assert pipeline.store_pool is None
    pipeline.process_item(_record("https://jdcorporateblog.com/hubei/", PLEDGE))
    pipeline.close_spider()
    assert pipeline.stats.get_value("pledgewatch/pledges_new") == 1
    # An in-memory archive cannot be opened by another process: never a worker for it.
    assert not shareable("sqlite://") and not shareable("sqlite:///:memory:")
    assert shareable(sqlite_url) and shareable("postgresql+psycopg://localhost/test")
    engine.dispose()


@pytest.mark.slow
def test_an_article_over_budget_kills_the_worker_and_leaves_nothing_half_written(
    sqlite_url: str,
) -> None:
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    worker = StoreWorker(sqlite_url, Config().watchlist, budget=1.0)
    try:
        first = worker.ingest(_record("https://jdcorporateblog.com/hubei/", PLEDGE))
        started = time.monotonic()
        with pytest.raises(AnalysisDeferred):
            worker.ingest(_record("https://jdcorporateblog.com/slow/", many_pledges_text(2_000_000)))
        assert time.monotonic() - started < 10
        # The next article gets a new worker, and the archive is not locked by the dead one.
        after = worker.ingest(_record("https://jdcorporateblog.com/after/", PLEDGE.replace("6", "7")))
    finally:
        worker.close()
    assert first.status == after.status == "new"
    with session_factory(engine)() as session:
        urls = set(session.scalars(select(Article.canonical_url)))
    engine.dispose()
    assert urls == {"https://jdcorporateblog.com/hubei/", "https://jdcorporateblog.com/after/"}


def _hold(path: str, ready: object) -> None:
    with FileLock(path):
        ready.set()  # type: ignore[attr-defined]
        time.sleep(600)


def test_a_writer_killed_holding_the_write_lock_lets_it_go(tmp_path: Path) -> None:
    path = str(tmp_path / "write.lock")
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold, args=(path, ready), daemon=True)
    holder.start()
    assert ready.wait(30)
    taken = context.Event()
    waiter = context.Process(target=_take, args=(path, taken), daemon=True)
    waiter.start()
    assert not taken.wait(1.0), "the lock was not exclusive"
    holder.kill()  # what the budget and SIGTERM do to a store worker
    holder.join(5)
    assert taken.wait(10), "a killed holder left the write lock taken: every other writer hangs"
    waiter.join(5)


def _take(path: str, taken: object) -> None:
    with FileLock(path):
        taken.set()  # type: ignore[attr-defined]


_FROM_STDIN = """
import json, sys
from datetime import UTC, datetime
from scrapy.extension import ExtensionManager
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from pledgewatch.config import Config
from pledgewatch.crawler.pipelines import StorePipeline
from pledgewatch.crawler.settings import ARCHIVE_EXTENSION
from pledgewatch.records import ArticleRecord

url = sys.argv[1]
crawler = get_crawler(settings_dict={
    "PLEDGEWATCH_DB_URL": url, "PLEDGEWATCH_CONFIG": Config(), "EXTENSIONS": {ARCHIVE_EXTENSION: 100}
})
crawler.extensions = build_from_crawler(ExtensionManager, crawler)
crawler.stats.open_spider()
crawler.crawling = True
pipeline = StorePipeline.from_crawler(crawler)
text = "JD.com will invest more than RMB 6 billion in Hubei over the next three years."
for path in ("a", "b"):
    pipeline.process_item(ArticleRecord(
        url=f"https://jdcorporateblog.com/{path}/", source="jd", title="JD", text=text + path,
        published=datetime(2020, 4, 8, tzinfo=UTC),
    ))
pipeline.close_spider()
stats = crawler.stats.get_stats()
keys = ("articles_new", "errors", "analysis_deferred")
print(json.dumps({key: stats.get("pledgewatch/" + key, 0) for key in keys}))
"""


@pytest.mark.slow
def test_a_store_worker_that_cannot_start_leaves_the_storing_to_the_crawl_process(sqlite_url: str) -> None:
    """A program read from stdin cannot spawn processes (there is no file to re-import): the crawl
    still stores every article, in its own process, instead of counting each as an error; their
    pledges wait for ``pledgewatch rescan`` (the detection worker cannot start either)."""
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    engine.dispose()
    done = subprocess.run(
        [sys.executable, "-", sqlite_url], input=_FROM_STDIN, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "articles_new": 2,
        "errors": 0,
        "analysis_deferred": 2,
    }
    assert "the store worker did not start" in done.stderr
    assert done.stderr.count("the store worker did not start") == 1, "one warning, not one per article"


def test_the_sources_share_the_workers_and_one_finishing_early_costs_the_others_nothing(
    sqlite_url: str,
) -> None:
    """Three sources, a pool of two workers (each ~80 MB of imports): articles that come one at a
    time start one worker, not two. The source that finishes first must neither stop nor close
    the worker the others still store with: their later articles keep their pledges."""
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    pool = StorePool(2)
    jd, chinadaily, people = (_pipeline(sqlite_url, PLEDGEWATCH_STORE_POOL=pool) for _ in range(3))
    assert jd.store_pool is pool and people.store_pool is pool and len(pool.workers) == 2
    for number, pipeline in enumerate((jd, chinadaily, people)):
        text = PLEDGE.replace("6", str(number + 2))
        pipeline.process_item(_record(f"https://jdcorporateblog.com/p{number}/", text))
    used, spare = pool.workers
    assert used._process is not None and spare._process is None
    pid = used._process.pid

    # jd is done: its spider closes (stopping) and its pipeline closes.
    jd.crawler.crawling = False
    jd.engine_stopping()
    jd.close_spider()
    people.process_item(_record("https://jdcorporateblog.com/later/", PLEDGE.replace("6", "9")))
    assert used._process is not None and used._process.pid == pid
    stats = people.stats.get_stats()
    assert stats["pledgewatch/pledges_new"] == 2 and "pledgewatch/analysis_deferred" not in stats

    people.close_spider()
    assert used._process is not None, "chinadaily still stores"
    chinadaily.close_spider()
    assert used._process is None
    with session_factory(engine)() as session:
        amounts = sorted(session.scalars(select(Pledge.amount_value)).all())
    engine.dispose()
    assert amounts == [2e9, 3e9, 4e9, 9e9]


def test_a_crawl_of_every_source_runs_no_more_store_workers_than_cores(tmp_path: Path) -> None:
    """The three sources of the sample web, crawled: ``min(sources, cores)`` store workers, and
    every source crawled and stored all the same."""
    sample_web = Path(__file__).resolve().parents[2] / "pledgewatch" / "data" / "sampleweb.warc.gz"
    db_url = f"sqlite:///{tmp_path / 'a.db'}"
    script = tmp_path / "crawl.py"  # a file: spawned workers re-import the parent's main module
    script.write_text(
        f"""
import json, multiprocessing
from pledgewatch.config import Config
from pledgewatch.crawler.crawl import run_crawl

workers = set()


def progress(summary):
    children = multiprocessing.active_children()
    workers.update(child.pid for child in children if child.name == "pledgewatch-store")


if __name__ == "__main__":
    config = Config.model_validate({{"crawl": {{"window_days": 0}}}})
    summary = run_crawl(config, {db_url!r}, replay={str(sample_web)!r}, progress=progress)
    crawled = len(summary.sources) - len(summary.failed_sources)
    print(json.dumps([len(workers), summary.articles_new, crawled]))
""",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    workers, stored, crawled = json.loads(done.stdout.strip().splitlines()[-1])
    assert crawled == 3 and stored > 0
    assert 1 <= workers <= min(3, os.cpu_count() or 1)
