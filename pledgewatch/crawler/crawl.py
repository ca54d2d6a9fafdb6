"""Run one crawl in this process and account for it: the engine behind ``pledgewatch crawl``.

Scrapy's reactor cannot be restarted, so :func:`run_crawl` may be called once per process; callers
that need several crawls (the demo's later snapshot, tests, the daemon) run each in a child process
(:func:`run_crawl_isolated`, or the CLI as the daemon does).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pledgewatch.config import Config
from pledgewatch.crawler.settings import build_settings
from pledgewatch.crawler.store_worker import StorePool
from pledgewatch.crawler.summary import CrawlSummary, merge, summary_from_stats
from pledgewatch.errors import ConfigError, PledgewatchError, UsageError
from pledgewatch.importing import spare_the_collector

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[CrawlSummary], None]
# Set by the daemon for its crawl children: record into the run row it opened, with its trigger.
RUN_ID_ENV = "PLEDGEWATCH_CRAWL_RUN_ID"
TRIGGER_ENV = "PLEDGEWATCH_CRAWL_TRIGGER"


def resolve_archive(path: str | Path, config: Config | None = None, must_exist: bool = True) -> Path:
    """A WARC path from the command line or the config (relative to the config file's folder)."""
    candidate = Path(path).expanduser()
    if not candidate.is_absolute() and not candidate.exists() and config is not None and config.path:
        beside_config = config.path.parent / candidate
        if beside_config.exists() or not must_exist:
            candidate = beside_config
    if must_exist:
        if not candidate.is_file():
            raise UsageError(f"archive not found: {path}")
        return candidate.resolve()
    return candidate.resolve()


# Scrapy logs a robots.txt that cannot be fetched (no network, DNS failure) at ERROR with the whole
# chained Twisted traceback: some 70 lines per site on stderr for an everyday network problem.
_TRACEBACK_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt",)


def _drop_traceback(record: logging.LogRecord) -> bool:
    """A logging filter that keeps the message and drops the traceback attached to it."""
    record.exc_info = None
    record.exc_text = None
    return True


def check_configured_sources(config: Config) -> None:
    """Register the configured (``kind = "generic"``) sources, then refuse a ``[sources.NAME]``
    section for a publisher that does not exist.

    A typo there (``[sources.chinadialy] enabled = false``) would otherwise be ignored: the
    source meant stays enabled, and the daemon's crawls fail on the unknown name.
    """
    from pledgewatch.spiders.configured import built_in_names, register_configured_sources
    from pledgewatch.spiders.publisher import all_publishers

    where = str(config.path) if config.path else "config"
    for name in sorted(built_in_names()):
        if config.source(name).kind == "generic":
            raise ConfigError(
                f"{where}: bad value for 'sources.{name}.kind': {name} is a built-in publisher; "
                "give the generic source another name"
            )
    register_configured_sources(config)
    known = all_publishers()
    for name in config.sources:
        if name not in known:
            where = str(config.path) if config.path else "config"
            raise ConfigError(f"{where}: unknown source 'sources.{name}'; known: {', '.join(sorted(known))}")


def selected_sources(config: Config, sources: Sequence[str] | None) -> list[str]:
    """The publishers to crawl: those named (any, even if disabled), else the enabled ones."""
    from pledgewatch.spiders.publisher import all_publishers, get_publisher

    check_configured_sources(config)
    if sources:
        names: list[str] = []
        for name in sources:
            get_publisher(name)  # unknown names are a usage error
            if name not in names:
                names.append(name)
    else:
        names = [name for name in all_publishers() if config.source(name).enabled]
    for name in names:
        for url in config.source(name).start_urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(f"sources.{name}.start_urls: not an http(s) URL: {url!r}")
    return names


def window_start(
    config: Config, since: date | datetime | None, now: datetime | None = None
) -> datetime | None:
    """The oldest publication time wanted: ``since`` if given, else the configured window."""
    if since is not None:
        if isinstance(since, datetime):
            return since if since.tzinfo else since.replace(tzinfo=UTC)
        return datetime.combine(since, time.min, tzinfo=UTC)
    if config.crawl.window_days:
        return (now or datetime.now(UTC)) - timedelta(days=config.crawl.window_days)
    return None


def crawl_inputs(
    config: Config,
    sources: Sequence[str] | None = None,
    replay: str | Path | None = None,
    record: str | Path | None = None,
) -> tuple[list[str], Path | None, Path | None]:
    """The sources to crawl and the WARCs to replay and record, checked; or the one
    :class:`UsageError` that says why the crawl cannot run. The CLI calls it before it opens (and
    perhaps creates) the archive, so a typo in a source name leaves no new archive behind."""
    names = selected_sources(config, sources)
    if not names:
        raise UsageError("no source to crawl: every source is disabled in the configuration")
    replay = replay or config.crawl.replay or None
    record = record or config.crawl.record or None
    replay_path = resolve_archive(replay, config) if replay else None
    record_path = resolve_archive(record, config, must_exist=False) if record else None
    if record_path is not None and replay_path is not None and record_path == replay_path:
        raise UsageError("--record and --replay name the same archive")
    if replay_path is not None:
        _check_archive(replay_path)
    if record_path is not None:
        _check_appendable(record_path)
        try:
            record_path.parent.mkdir(parents=True, exist_ok=True)
            with record_path.open("ab"):
                pass
        except OSError as exc:
            raise UsageError(f"cannot write the archive {record}: {exc.strerror or exc}") from None
    return list(names), replay_path, record_path


def run_crawl(
    config: Config,
    db_url: str,
    sources: Sequence[str] | None = None,
    since: date | datetime | None = None,
    replay: str | Path | None = None,
    record: str | Path | None = None,
    trigger: str = "cli",
    progress: ProgressCallback | None = None,
    log_level: str = "WARNING",
    enqueue: bool = False,
) -> CrawlSummary:
    """Crawl ``sources`` (default: the enabled ones) into ``db_url``; one call per process.

    ``enqueue``: the cluster's run (``[cluster] redis_url``): the start requests go into the shared
    Redis queue for `pledgewatch worker` processes, and nothing is downloaded here.
    Raises :class:`PledgewatchError` when the crawl cannot run at all (unknown source, missing
    archive, unusable database); failures during the crawl are counted in the summary instead.
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from pledgewatch.crawler.spider import PublisherSpider
    from pledgewatch.store import crawlruns
    from pledgewatch.store.db import ensure_schema, make_engine, session_factory

    names, replay_path, record_path = crawl_inputs(config, sources, replay, record)
    skipped: dict[str, str] = {}
    if enqueue:
        from pledgewatch.crawler import cluster

        if not config.cluster.redis_url:
            raise UsageError("--enqueue needs [cluster] redis_url in the configuration")
        redis = cluster.connect(config.cluster.redis_url)
        try:
            names, skipped = cluster.prepare_run(redis, config.cluster.key_prefix, names)
        finally:
            redis.close()
        for name, why in skipped.items():
            logger.warning("not enqueueing %s: %s", name, why)

    engine = make_engine(db_url)
    try:
        ensure_schema(engine)
        with session_factory(engine)() as session:
            run_id = _adopted_run(session)
            if run_id is None:
                # The same guard as the daemon's: refuse to overlap a live crawl of these sources,
                # and leave pid + host so a killed crawl is recognised as dead, not as running.
                run, blocker = crawlruns.begin_crawl(
                    session,
                    names,
                    time_limit=timedelta(seconds=config.schedule.crawl_time_limit),
                    replay=str(replay_path) if replay_path else None,
                    trigger=os.environ.get(TRIGGER_ENV) or trigger,
                )
                if run is None:
                    assert blocker is not None
                    raise PledgewatchError(f"not crawling: {blocker.describe()}")
                run_id = run.id
    finally:
        engine.dispose()

    settings = build_settings(
        config,
        db_url,
        replay=replay_path,
        record=record_path,
        since=window_start(config, since),
        log_level=log_level,
        cluster_role="enqueue" if enqueue else None,
    )
    settings["PLEDGEWATCH_STORE_POOL"] = StorePool(min(len(names), os.cpu_count() or 1))
    process = CrawlerProcess(settings)
    if log_level not in ("DEBUG", "INFO"):
        # Kept one line each unless --verbose: the error itself is counted in the summary.
        for name in _TRACEBACK_LOGGERS:
            logging.getLogger(name).addFilter(_drop_traceback)
    finished: dict[str, tuple[dict[str, Any], str]] = {}
    failures: list[str] = []
    crawlers = []

    def snapshot() -> CrawlSummary:
        parts = []
        for crawler in crawlers:
            name = crawler.spider.name if crawler.spider else ""
            if name in finished:
                parts.append(summary_from_stats(finished[name][0], replay_path is not None))
            elif crawler.stats is not None:
                parts.append(summary_from_stats(crawler.stats.get_stats(), replay_path is not None))
        return merge(parts, replay_path is not None)

    stopped_by: list[str] = []

    def watch_signals() -> None:
        """Note which signal stops the crawl (SIGINT exits 130), then let Scrapy handle it.

        Scrapy installs its graceful-shutdown handlers when the reactor starts, so they are
        wrapped once the engine runs; both SIGINT and SIGTERM end in the same "shutdown".
        """
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if getattr(previous, "_pledgewatch_watch", False) or not callable(previous):
                continue

            def handler(number: int, frame: Any, previous: Callable[..., Any] = previous) -> None:
                stopped_by.append(signal.Signals(number).name)
                previous(number, frame)

            handler._pledgewatch_watch = True  # type: ignore[attr-defined]
            signal.signal(signum, handler)

    for name in names:
        crawler = process.create_crawler(PublisherSpider)
        crawlers.append(crawler)

        def on_closed(spider: Any, reason: str, crawler: Any = crawler) -> None:
            finished[spider.name] = (dict(crawler.stats.get_stats()), reason)

        crawler.signals.connect(on_closed, signal=signals.spider_closed, weak=False)
        crawler.signals.connect(watch_signals, signal=signals.engine_started, weak=False)
        if progress is not None:

            def on_progress(*_args: Any, **_kwargs: Any) -> None:
                try:
                    progress(snapshot())
                except Exception:  # a display problem must not break the crawl
                    logger.debug("progress callback failed", exc_info=True)

            crawler.signals.connect(on_progress, signal=signals.response_received, weak=False)
            crawler.signals.connect(on_progress, signal=signals.item_scraped, weak=False)
        deferred = process.crawl(crawler, publisher=name, config=config)

        def on_failure(failure: Any, name: str = name) -> None:
            failures.append(f"{name}: {failure.getErrorMessage()}")
            logger.error("crawl of %s failed: %s", name, failure.getErrorMessage())

        deferred.addErrback(on_failure)

    status = "ok"
    try:
        if names:
            process.start()
    except KeyboardInterrupt:
        status = "interrupted"
        stopped_by.append("SIGINT")
    except Exception as exc:  # recorded below: the run row must not stay "running"
        logger.exception("the crawl stopped unexpectedly")
        failures.append(f"crawl stopped: {type(exc).__name__}: {exc}")
    summary = merge(
        (summary_from_stats(stats, replay_path is not None, name) for name, (stats, _) in finished.items()),
        replay_path is not None,
    )
    # A source that reached nothing (no network, DNS, refused, 5xx) failed: say so first.
    source_failures = [f"{name}: {summary.sources[name].reason}" for name in summary.failed_sources]
    for line in source_failures:
        logger.error("crawl of %s", line)
    summary.error_log[:0] = source_failures
    summary.error_log.extend(failures)
    reasons = {reason for _, reason in finished.values()}
    # A second Ctrl-C stops the reactor before every spider closed: still an interruption.
    if status == "interrupted" or "shutdown" in reasons or stopped_by:
        status = "interrupted"
    elif failures or source_failures or len(finished) < len(names) or reasons - {"finished"}:
        status = "failed"
    if enqueue:
        from pledgewatch.crawler.cluster import ENQUEUED_STAT

        # The workers fetch: no source reached or failed anything here, and health is not judged.
        summary.enqueued = sum(int(stats.get(ENQUEUED_STAT, 0) or 0) for stats, _ in finished.values())
        summary.skipped = skipped
        summary.sources = {}
        summary.error_log = [line for line in summary.error_log if line not in source_failures]
        if status == "failed" and not failures and not reasons - {"finished"} and len(finished) == len(names):
            status = "ok"
    summary.status = status
    summary.stopped_by = stopped_by[0] if stopped_by else None

    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            if not enqueue:
                judge_health(session, summary, finished, run_id, config)
            crawlruns.finish_run(
                session,
                run_id,
                status,
                summary.to_json(),
                summary.error_log,
                health=crawlruns.health_of_summary(summary.to_json()),
            )
    finally:
        engine.dispose()
    return summary


def run_worker(
    config: Config,
    db_url: str,
    sources: Sequence[str] | None = None,
    replay: str | Path | None = None,
    record: str | Path | None = None,
    log_level: str = "WARNING",
    worker_id: str | None = None,
) -> int:
    """Crawl requests from the cluster's shared Redis queue into ``db_url`` until SIGTERM/SIGINT.

    One spider per source, the same spider and item pipeline as a local crawl; only the scheduler
    differs (:mod:`pledgewatch.crawler.cluster`). Returns the exit code (0: stopped on request).
    """
    from scrapy.crawler import CrawlerProcess

    from pledgewatch.crawler import cluster
    from pledgewatch.crawler.spider import PublisherSpider
    from pledgewatch.store.db import ensure_schema, make_engine

    if not config.cluster.redis_url:
        raise UsageError("a worker needs [cluster] redis_url in the configuration (docs/deployment.md)")
    names, replay_path, record_path = crawl_inputs(config, sources, replay, record)
    cluster.connect(config.cluster.redis_url).close()  # unreachable: one line now, not a traceback later
    engine = make_engine(db_url)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    worker_id = worker_id or cluster.new_worker_id()
    settings = build_settings(
        config,
        db_url,
        replay=replay_path,
        record=record_path,
        since=window_start(config, None),
        log_level=log_level,
        cluster_role="worker",
        worker_id=worker_id,
        worker_sources=names,
    )
    settings[cluster.WINDOW_SETTING] = config.crawl.window_days
    process = CrawlerProcess(settings)
    if log_level not in ("DEBUG", "INFO"):
        for name in _TRACEBACK_LOGGERS:
            logging.getLogger(name).addFilter(_drop_traceback)
    for name in names:
        crawler = process.create_crawler(PublisherSpider)
        process.crawl(crawler, publisher=name, config=config)
    logger.warning("worker %s: crawling %s from %s", worker_id, ", ".join(names), cluster.describe(config))
    with contextlib.suppress(KeyboardInterrupt):
        process.start()
    return 0


def judge_health(
    session: Any,
    summary: CrawlSummary,
    finished: dict[str, tuple[dict[str, Any], str]],
    run_id: int,
    config: Config,
) -> None:
    """Each source's health with the configured thresholds and its previous run's dead start URLs.

    The summary's first verdict knew only this run; a feed that answers 404 is dead once it has
    done so in ``[health] dead_after_runs`` consecutive runs, which only the run history knows.
    """
    from pledgewatch.crawler.summary import assess_health
    from pledgewatch.store import crawlruns

    for name, (stats, _reason) in finished.items():
        result = summary.sources.get(name)
        if result is None:
            continue
        previous = crawlruns.previous_health(session, name, before_run_id=run_id) or {}
        assess_health(
            result,
            stats,
            name,
            previous.get("dead_start_urls") or {},
            dead_after_runs=config.health.dead_after_runs,
            fallback_share=config.health.fallback_share,
            failed_share=config.health.failed_share,
        )


def _adopted_run(session: Any) -> int | None:
    """The daemon opens the ``crawl_runs`` row of a crawl child itself and names it in the environment."""
    from pledgewatch.store import crawlruns

    value = os.environ.get(RUN_ID_ENV, "")
    if not value.isdigit():
        return None
    return crawlruns.adopt_run(session, int(value))


def _check_appendable(path: Path) -> None:
    """A recording is appended to an existing archive; anything else at that path is not touched.

    A slip such as ``--record archive.db`` appended gzipped WARC records to the SQLite file. The
    records are gzipped when the name ends in ``.gz`` and plain otherwise, so an existing archive
    whose content does not match its name (a gzipped ``x.warc``) is refused too: one file holding
    both kinds of record is one most WARC tools cannot read.
    """
    import gzip
    import zlib

    from pledgewatch.crawler.recording import is_gzip_name

    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as raw:
            start = raw.read(2)
            raw.seek(0)
            gzipped = start == b"\x1f\x8b"
            head = gzip.GzipFile(fileobj=raw).read(5) if gzipped else raw.read(5)
    except (OSError, EOFError, zlib.error):
        head = b""
    if head != b"WARC/":
        raise UsageError(f"--record {path}: the file exists and is not a WARC archive; not appending to it")
    if gzipped != is_gzip_name(path):
        found, wanted = ("gzipped", "plain") if gzipped else ("plain", "gzipped")
        raise UsageError(
            f"--record {path}: the archive holds {found} records but its name asks for {wanted} ones;"
            " not mixing them (name it .warc.gz for gzip, .warc for plain)"
        )


def _check_archive(path: Path) -> None:
    """Index the archive up front, so a corrupt file is one clear error instead of 404s."""
    from pledgewatch.crawler.replay import load_index

    try:
        index = load_index(path)
    except Exception as exc:
        raise UsageError(f"cannot read the archive {path}: {exc}") from None
    if len(index) == 0:
        raise UsageError(f"the archive {path} holds no HTTP responses")


def _child(queue: Any, kwargs: dict[str, Any]) -> None:
    # A scheduled crawl that finds nothing new is mostly start-up and exit.
    spare_the_collector()
    try:
        queue.put(("ok", run_crawl(**kwargs)))
    except PledgewatchError as exc:
        queue.put(("error", exc))
    except BaseException as exc:  # report, then let the child die
        queue.put(("error", PledgewatchError(f"crawl failed: {type(exc).__name__}: {exc}")))


def run_crawl_isolated(**kwargs: Any) -> CrawlSummary:
    """:func:`run_crawl` in a fresh child process, for callers that crawl more than once."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_child, args=(queue, kwargs))
    child.start()
    import queue as queue_module

    try:
        while True:
            try:
                outcome, value = queue.get(timeout=1)
                break
            except queue_module.Empty:
                if not child.is_alive():
                    raise PledgewatchError(f"crawl process died (exit code {child.exitcode})") from None
    finally:
        child.join()
    if outcome == "error":
        raise value
    return value
