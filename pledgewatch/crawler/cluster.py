"""Crawling on several hosts: scrapy-redis' shared request queue, made safe to kill a worker in.

With ``[cluster] redis_url`` set, nothing in the spiders changes; the Scrapy settings do
(:func:`cluster_settings`, merged by :func:`pledgewatch.crawler.settings.build_settings`):

- the scheduler is scrapy-redis' (:class:`ClusterScheduler`): every worker pops requests from one
  Redis sorted set per source (``PREFIX:SOURCE:requests``) and the dupefilter is scrapy-redis'
  fingerprint set per source (``PREFIX:SOURCE:dupefilter``), so a URL is requested once per run
  whichever worker found it. ``SCHEDULER_PERSIST``: a stopping worker leaves the queue to the
  others. The fingerprints are bounded: the set is dropped when the next run of its source starts
  (:func:`prepare_run`, only once the previous run's queue and in-flight requests are done) and it
  expires ``[cluster] fingerprint_ttl`` seconds after its last addition in any case.
- scrapy-redis pops a request and forgets it; a worker killed then would lose what it was
  fetching. :class:`LedgerQueue` pops into a per-worker ledger hash (``PREFIX:inflight:WORKER``)
  in the same Redis script, and the request leaves the ledger only once it is done
  (:class:`ClusterSpiderMiddleware`, :class:`ClusterDownloaderMiddleware`, the item signals). A
  worker whose heartbeat key (``PREFIX:alive:WORKER``, 3 heartbeats long) expired is dead: any
  other worker, or the daemon, moves its ledger back into the queue (:func:`reclaim_dead`).
- the daemon's crawl child runs the same spider in the ``enqueue`` role: its start requests go into
  the queue (through the dupefilter and the store's seen-article check) and it downloads nothing.
  Workers (role ``worker``) issue no start requests (:class:`ClusterSpiderMiddleware.process_start`)
  and stay open when idle (:class:`ClusterWorker`).
- politeness across workers: the download delay is global per host (:class:`GlobalDelayMiddleware`):
  each request reserves the host's next slot in Redis (``PREFIX:pace:HOST``), so requests to one
  site are ``[crawl] download_delay`` apart whatever the number of workers.

What an article stored by any worker means for the others stays the store's business: the
seen-article check reads the shared archive before a request is queued and again before it is
downloaded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured, ScrapyDeprecationWarning

from pledgewatch.errors import PledgewatchError

try:  # the [cluster] extra
    from scrapy_redis.queue import PriorityQueue
    from scrapy_redis.scheduler import Scheduler as RedisScheduler
except ImportError:  # pragma: no cover - without the extra, cluster settings are refused earlier
    PriorityQueue = object  # type: ignore[assignment,misc]
    RedisScheduler = object  # type: ignore[assignment,misc]

# scrapy-redis 0.9 still calls Spider.log(); its deprecation warning says nothing to a user.
warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module=r"scrapy_redis\.")

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from pledgewatch.config import Config

logger = logging.getLogger(__name__)

ROLE_SETTING = "PLEDGEWATCH_CLUSTER_ROLE"  # "worker" | "enqueue"
PREFIX_SETTING = "PLEDGEWATCH_CLUSTER_PREFIX"
WORKER_SETTING = "PLEDGEWATCH_WORKER_ID"
HEARTBEAT_SETTING = "PLEDGEWATCH_HEARTBEAT"
TTL_SETTING = "PLEDGEWATCH_FINGERPRINT_TTL"
DELAY_SETTING = "PLEDGEWATCH_GLOBAL_DELAY"
SOURCES_SETTING = "PLEDGEWATCH_WORKER_SOURCES"
# [crawl] window_days for a worker: its publication window moves with the clock (a worker runs for
# weeks; a window fixed when it started would widen day by day).
WINDOW_SETTING = "PLEDGEWATCH_WINDOW_DAYS"
# Request meta: the request's ledger field while a worker holds it.
TICKET = "pw_ticket"
# A worker that missed this many heartbeats is dead.
ALIVE_HEARTBEATS = 3
# Workers not seen for this long are dropped from the registry that `status` reads.
FORGET_AFTER = 86400.0
ENQUEUED_STAT = "pledgewatch/enqueued"

SCHEDULER = "pledgewatch.crawler.cluster.ClusterScheduler"
QUEUE_CLASS = "pledgewatch.crawler.cluster.LedgerQueue"
DUPEFILTER = "scrapy_redis.dupefilter.RFPDupeFilter"
SPIDER_MIDDLEWARE = "pledgewatch.crawler.cluster.ClusterSpiderMiddleware"
DOWNLOADER_MIDDLEWARE = "pledgewatch.crawler.cluster.ClusterDownloaderMiddleware"
DELAY_MIDDLEWARE = "pledgewatch.crawler.cluster.GlobalDelayMiddleware"
WORKER_EXTENSION = "pledgewatch.crawler.cluster.ClusterWorker"


# -- keys ---------------------------------------------------------------------------------------


def queue_key(prefix: str, source: str) -> str:
    return f"{prefix}:{source}:requests"


def dupefilter_key(prefix: str, source: str) -> str:
    return f"{prefix}:{source}:dupefilter"


def ledger_key(prefix: str, worker: str) -> str:
    return f"{prefix}:inflight:{worker}"


def alive_key(prefix: str, worker: str) -> str:
    return f"{prefix}:alive:{worker}"


def workers_key(prefix: str) -> str:
    return f"{prefix}:workers"


def pace_key(prefix: str, host: str) -> str:
    return f"{prefix}:pace:{host}"


def new_worker_id() -> str:
    """host-pid-random: unique across hosts and restarts, readable in `status`."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


# -- connection ---------------------------------------------------------------------------------


def require_redis() -> None:
    """The one-line error when the [cluster] extra is missing."""
    try:
        import redis  # noqa: F401
        import scrapy_redis  # noqa: F401
    except ImportError:
        raise PledgewatchError(
            "[cluster] redis_url is set but the cluster extra is not installed: "
            "pip install 'pledgewatch[cluster]'"
        ) from None


def connect(url: str) -> Any:
    """A Redis client for ``url``, checked with a PING: an unreachable Redis is one line."""
    require_redis()
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise PledgewatchError(f"cannot reach Redis at {_safe(url)}: {exc}") from None
    return client


def describe(config: Config) -> str:
    """Where the cluster's queue is, for messages (no password)."""
    return f"{_safe(config.cluster.redis_url)} (keys {config.cluster.key_prefix}:*)"


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


# -- settings -----------------------------------------------------------------------------------


def cluster_settings(config: Config, role: str, worker_id: str | None = None) -> dict[str, Any]:
    """What a crawl in the cluster changes in the settings (merged into build_settings' dicts)."""
    require_redis()
    cluster = config.cluster
    prefix = cluster.key_prefix
    settings: dict[str, Any] = {
        "SCHEDULER": SCHEDULER,
        "SCHEDULER_QUEUE_CLASS": QUEUE_CLASS,
        "SCHEDULER_QUEUE_KEY": f"{prefix}:%(spider)s:requests",
        "DUPEFILTER_CLASS": DUPEFILTER,
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:%(spider)s:dupefilter",
        # The queue outlives every worker: one stopping leaves its requests to the others.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
        "REDIS_URL": cluster.redis_url,
        ROLE_SETTING: role,
        PREFIX_SETTING: prefix,
        WORKER_SETTING: worker_id or new_worker_id(),
        HEARTBEAT_SETTING: cluster.heartbeat_seconds,
        TTL_SETTING: cluster.fingerprint_ttl,
    }
    return settings


# -- the queue with a ledger --------------------------------------------------------------------

# Pop the best request and record it in the worker's ledger in one step: a worker killed between
# the two would otherwise lose it. The ledger field is "SOURCE\tSCORE\tTICKET".
_POP_INTO_LEDGER = """
local popped = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if popped[1] == nil then return nil end
redis.call('ZREM', KEYS[1], popped[1])
redis.call('HSET', KEYS[2], ARGV[1] .. '\t' .. popped[2] .. '\t' .. ARGV[2], popped[1])
return {popped[1], popped[2]}
"""


class LedgerQueue(PriorityQueue):  # type: ignore[misc,valid-type]
    """scrapy-redis' priority queue whose pop leaves the request in this worker's ledger."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        settings = spider.crawler.settings
        self.ledger = ledger_key(settings.get(PREFIX_SETTING), settings.get(WORKER_SETTING))
        self._pop = server.register_script(_POP_INTO_LEDGER)

    def pop(self, timeout: int = 0) -> Request | None:
        ticket = uuid.uuid4().hex
        popped = self._pop(keys=[self.key, self.ledger], args=[self.spider.name, ticket])
        if not popped:
            return None
        data, score = popped
        score_text = score.decode() if isinstance(score, bytes) else str(score)
        request = self._decode_request(data)
        request.meta[TICKET] = f"{self.spider.name}\t{score_text}\t{ticket}"
        return request


def ack(server: Any, ledger: str, request: Request | None) -> None:
    """``request`` is done (stored, parsed, or given up): it leaves this worker's ledger."""
    ticket = request.meta.get(TICKET) if request is not None else None
    if ticket:
        server.hdel(ledger, ticket)


def _ledger_of(crawler: Crawler) -> tuple[Any, str]:
    from scrapy_redis.connection import get_redis_from_settings

    settings = crawler.settings
    worker = settings.get(WORKER_SETTING)
    return get_redis_from_settings(settings), ledger_key(settings.get(PREFIX_SETTING), worker)


class ClusterScheduler(RedisScheduler):  # type: ignore[misc,valid-type]
    """scrapy-redis' scheduler, in the worker or the enqueue role, with bounded fingerprints.

    A request that comes back to the scheduler while held (a retry, a redirect: Scrapy copies its
    meta) is queued again first and only then leaves the ledger, so it is never in neither.
    """

    role = "worker"
    fingerprint_ttl = 7 * 86400

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterScheduler:
        instance = super().from_crawler(crawler)
        # Counted here, without the spider argument scrapy-redis still passes (deprecated in Scrapy).
        instance.counts = crawler.stats
        instance.stats = None
        instance.role = crawler.settings.get(ROLE_SETTING, "worker")
        instance.fingerprint_ttl = crawler.settings.getint(TTL_SETTING, 7 * 86400)
        instance.crawler = crawler
        return instance

    def enqueue_request(self, request: Request) -> bool:
        held = request.meta.pop(TICKET, None)
        added = super().enqueue_request(request)
        if added:
            self.server.expire(self.df.key, self.fingerprint_ttl)
            self.counts.inc_value(ENQUEUED_STAT)
        if held:
            settings = self.crawler.settings
            self.server.hdel(ledger_key(settings.get(PREFIX_SETTING), settings.get(WORKER_SETTING)), held)
        return added

    def next_request(self) -> Request | None:
        if self.role == "enqueue":
            return None  # the daemon's child only fills the queue
        request = super().next_request()
        if request is not None:
            self.counts.inc_value("pledgewatch/dequeued")
        return request

    def has_pending_requests(self) -> bool:
        if self.role == "enqueue":
            return False  # so the enqueuing spider closes once its start requests are queued
        return super().has_pending_requests()


# -- acknowledging ------------------------------------------------------------------------------


class ClusterSpiderMiddleware:
    """Workers issue no start requests; a response whose callback is done leaves the ledger.

    A callback that yields an article leaves it when the article is stored (or failed to be), via
    the item signals; one that yields only requests (a listing, a page of an article), once they
    are all queued.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.role = crawler.settings.get(ROLE_SETTING)
        self.server, self.ledger = _ledger_of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterSpiderMiddleware:
        if not crawler.settings.get(ROLE_SETTING):
            raise NotConfigured("not a cluster crawl")
        middleware = cls(crawler)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(middleware.item_done, signal=signal)
        return middleware

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if self.role == "worker":
            return  # the daemon enqueues the start requests of due sources
        async for item_or_request in start:
            yield item_or_request

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        items = 0
        try:
            for element in result:
                if not _is_request(element):
                    items += 1
                yield element
        except Exception:
            ack(self.server, self.ledger, response.request)
            raise
        if not items:
            ack(self.server, self.ledger, response.request)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        items = 0
        try:
            async for element in result:
                if not _is_request(element):
                    items += 1
                yield element
        except Exception:
            ack(self.server, self.ledger, response.request)
            raise
        if not items:
            ack(self.server, self.ledger, response.request)

    def item_done(self, item: Any = None, response: Any = None, **_kwargs: Any) -> None:
        ack(self.server, self.ledger, getattr(response, "request", None))


def _is_request(element: Any) -> bool:
    from scrapy import Request

    return isinstance(element, Request)


class ClusterDownloaderMiddleware:
    """A request that failed for good (network, robots.txt, the seen-article check) leaves the ledger.

    It sits closest to the engine: when a retry takes the request back, its process_exception is
    not reached, and the retry request takes the ticket along (see :class:`ClusterScheduler`).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.server, self.ledger = _ledger_of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterDownloaderMiddleware:
        if crawler.settings.get(ROLE_SETTING) != "worker":
            raise NotConfigured("not a cluster worker")
        return cls(crawler)

    def process_exception(self, request: Request, exception: BaseException) -> None:
        ack(self.server, self.ledger, request)


# Reserve the host's next download slot: returns how long this request waits for it (seconds).
_RESERVE_SLOT = """
local now = tonumber(ARGV[1])
local delay = tonumber(ARGV[2])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, next_free)
redis.call('SET', KEYS[1], tostring(slot + delay), 'PX', math.ceil((slot + delay - now) * 1000) + 60000)
return tostring(slot - now)
"""


class GlobalDelayMiddleware:
    """``[crawl] download_delay`` between two requests to one host across all workers.

    Each worker's own delay is set to 0 (``cluster_settings`` callers do); AutoThrottle still slows
    one worker further when the site answers slowly.
    """

    def __init__(self, crawler: Crawler, server: Any, delay: float) -> None:
        self.crawler = crawler
        self.delay = delay
        self.prefix = crawler.settings.get(PREFIX_SETTING)
        self._reserve = server.register_script(_RESERVE_SLOT)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GlobalDelayMiddleware:
        settings = crawler.settings
        delay = settings.getfloat(DELAY_SETTING, 0.0)
        if settings.get(ROLE_SETTING) != "worker" or delay <= 0:
            raise NotConfigured("no global download delay")
        from scrapy_redis.connection import get_redis_from_settings

        return cls(crawler, get_redis_from_settings(settings), delay)

    async def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if request.meta.get("pw_paced") or not host:
            return None
        request.meta["pw_paced"] = True
        wait = float(self._reserve(keys=[pace_key(self.prefix, host)], args=[time.time(), self.delay]))
        if wait > 0:
            await asyncio.sleep(wait)
        return None


# -- the worker ---------------------------------------------------------------------------------


@dataclass
class _WorkerState:
    """One worker process's activity, shared by its crawlers (one per source)."""

    started: float
    last_activity: float | None = None
    responses: int = 0
    heartbeat: threading.Thread | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    open_spiders: int = 0


_STATE: _WorkerState | None = None
# How often an idle worker looks at the queue again. Scrapy's engine asks its scheduler on its own
# only every 5 s when it has nothing in progress: a worker that found the queue empty a moment ago
# would sit out 5 s while other workers' callbacks fill it.
POLL_SECONDS = 0.5


class ClusterWorker:
    """Keeps a worker's spiders open and polling when the queue is empty; heartbeats; re-queues dead
    workers' requests; hands its own back when it stops.

    The heartbeat runs in a thread of its own, not on the reactor: a worker busy parsing a large
    page for a few seconds is alive, and must not see its requests re-queued to the others.
    """

    def __init__(self, crawler: Crawler, server: Any) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.server = server
        self.prefix = settings.get(PREFIX_SETTING)
        self.worker = settings.get(WORKER_SETTING)
        self.interval = settings.getfloat(HEARTBEAT_SETTING, 5.0)
        self.sources = list(settings.getlist(SOURCES_SETTING))
        self.window_days = settings.getint(WINDOW_SETTING, 0)
        self.poll: Any = None
        self.spider: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterWorker:
        if crawler.settings.get(ROLE_SETTING) != "worker":
            raise NotConfigured("not a cluster worker")
        from scrapy_redis.connection import get_redis_from_settings

        extension = cls(crawler, get_redis_from_settings(crawler.settings))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        global _STATE
        from twisted.internet.task import LoopingCall

        if _STATE is None:
            _STATE = _WorkerState(started=time.time())
        _STATE.open_spiders += 1
        if _STATE.heartbeat is None:
            self.beat()
            _STATE.heartbeat = threading.Thread(
                target=self._beat_until_stopped, args=(_STATE,), name="pledgewatch-heartbeat", daemon=True
            )
            _STATE.heartbeat.start()
        self.spider = spider
        self.poll = LoopingCall(self._wake_engine)
        self.poll.start(POLL_SECONDS, now=True)

    def _wake_engine(self) -> None:
        """Move the publication window on; ask the engine to pull from the scheduler now (Scrapy
        has no public call for it)."""
        if self.window_days and self.spider is not None:
            from datetime import UTC, datetime, timedelta

            self.spider.since = datetime.now(UTC) - timedelta(days=self.window_days)
        try:
            engine = self.crawler.engine
        except RuntimeError:  # not running yet
            return
        nextcall = getattr(getattr(engine, "_slot", None), "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def _beat_until_stopped(self, state: _WorkerState) -> None:
        while not state.stopping.wait(self.interval):
            self.beat()

    def spider_idle(self, spider: Spider) -> None:
        raise DontCloseSpider("a worker waits for requests")

    def response_received(self, **_kwargs: Any) -> None:
        if _STATE is not None:
            _STATE.last_activity = time.time()
            _STATE.responses += 1

    def _record(self, state: _WorkerState, **more: Any) -> str:
        return json.dumps(
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "sources": self.sources,
                "started": state.started,
                "last_seen": time.time(),
                "last_activity": state.last_activity,
                "responses": state.responses,
                **more,
            }
        )

    def beat(self) -> None:
        """Say we are alive, and give a dead worker's requests back to the queue."""
        state = _STATE
        if state is None or state.stopping.is_set():
            return
        try:
            lifetime = int(self.interval * ALIVE_HEARTBEATS * 1000)
            self.server.set(alive_key(self.prefix, self.worker), time.time(), px=lifetime)
            self.server.hset(workers_key(self.prefix), self.worker, self._record(state))
            reclaimed = reclaim_dead(self.server, self.prefix)
            if reclaimed:
                logger.warning("re-queued %d request(s) of stopped workers", reclaimed)
        except Exception:  # a Redis hiccup must not end the heartbeat
            logger.warning("cluster heartbeat failed", exc_info=True)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Stopping (SIGTERM, Ctrl-C): what this worker held goes back to the queue at once."""
        if self.poll is not None and self.poll.running:
            self.poll.stop()
        requeued = requeue_ledger(self.server, self.prefix, ledger_key(self.prefix, self.worker), spider.name)
        if requeued:
            logger.info("handed %d unfinished request(s) of %s back to the queue", requeued, spider.name)
        state = _STATE
        if state is None:
            return
        state.open_spiders -= 1
        if state.open_spiders <= 0:
            state.stopping.set()
            self.server.delete(alive_key(self.prefix, self.worker))
            self.server.hset(workers_key(self.prefix), self.worker, self._record(state, stopped=True))


# -- queue maintenance (workers and the daemon) -------------------------------------------------


def requeue_ledger(server: Any, prefix: str, key: str, source: str | None = None) -> int:
    """Put the requests of ledger ``key`` (of ``source``, or all) back into their queues."""
    entries = server.hgetall(key)
    moved = 0
    for entry, data in entries.items():
        name, score, _ticket = entry.decode().split("\t")
        if source is not None and name != source:
            continue
        pipe = server.pipeline()
        pipe.zadd(queue_key(prefix, name), {data: float(score)})
        pipe.hdel(key, entry)
        pipe.execute()
        moved += 1
    return moved


def reclaim_dead(server: Any, prefix: str) -> int:
    """Move the ledgers of workers whose heartbeat expired back into the queues.

    The ledger is renamed first (atomic: of two reclaimers, one gets it), then emptied.
    """
    moved = 0
    for key in server.scan_iter(match=f"{prefix}:inflight:*", count=100):
        name = key.decode()
        worker = name.removeprefix(f"{prefix}:inflight:")
        if worker.startswith("reclaim:"):
            owner = worker.split(":")[1]
            if server.exists(alive_key(prefix, owner)):
                continue  # another worker is re-queueing it right now
        elif server.exists(alive_key(prefix, worker)):
            continue
        claimed = f"{prefix}:inflight:reclaim:{_reclaimer_id()}:{uuid.uuid4().hex[:8]}"
        try:
            server.rename(key, claimed)
        except Exception:  # someone else took it
            continue
        moved += requeue_ledger(server, prefix, claimed)
        server.delete(claimed)
    return moved


def _reclaimer_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def in_flight(server: Any, prefix: str) -> dict[str, int]:
    """Requests held by workers, per source."""
    counts: dict[str, int] = {}
    for key in server.scan_iter(match=f"{prefix}:inflight:*", count=100):
        for entry in server.hkeys(key):
            name = entry.decode().split("\t")[0]
            counts[name] = counts.get(name, 0) + 1
    return counts


def queued(server: Any, prefix: str, sources: Sequence[str]) -> dict[str, int]:
    """Requests waiting in the queue, per source."""
    return {name: int(server.zcard(queue_key(prefix, name))) for name in sources}


def prepare_run(server: Any, prefix: str, sources: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Which sources a new run may enqueue, and why the others may not (their last run is not done).

    A source whose queue and in-flight requests are empty starts afresh: its fingerprints of the
    previous run are dropped, so its feeds and listings are read again (the store's seen-article
    check keeps archived articles from being fetched again).
    """
    reclaim_dead(server, prefix)
    waiting = queued(server, prefix, sources)
    held = in_flight(server, prefix)
    ready: list[str] = []
    busy: dict[str, str] = {}
    for name in sources:
        if waiting.get(name) or held.get(name):
            busy[name] = (
                f"its previous run is still being crawled ({waiting.get(name, 0)} queued, "
                f"{held.get(name, 0)} in flight)"
            )
            continue
        server.delete(dupefilter_key(prefix, name))
        ready.append(name)
    return ready, busy


@dataclass
class WorkerSeen:
    """One worker as the registry knows it, for `pledgewatch status`."""

    worker: str
    host: str
    pid: int
    sources: list[str]
    alive: bool
    last_seen: float
    last_activity: float | None
    responses: int


def workers_seen(server: Any, prefix: str, now: float | None = None) -> list[WorkerSeen]:
    """The workers seen within a day, most recent first; older entries are pruned."""
    now = now or time.time()
    seen: list[WorkerSeen] = []
    for worker_b, raw in server.hgetall(workers_key(prefix)).items():
        worker = worker_b.decode()
        try:
            record = json.loads(raw)
        except ValueError:
            server.hdel(workers_key(prefix), worker)
            continue
        last_seen = float(record.get("last_seen") or 0)
        if now - last_seen > FORGET_AFTER:
            server.hdel(workers_key(prefix), worker)
            continue
        seen.append(
            WorkerSeen(
                worker=worker,
                host=str(record.get("host", "")),
                pid=int(record.get("pid") or 0),
                sources=list(record.get("sources") or []),
                alive=bool(server.exists(alive_key(prefix, worker))),
                last_seen=last_seen,
                last_activity=record.get("last_activity"),
                responses=int(record.get("responses") or 0),
            )
        )
    seen.sort(key=lambda w: -w.last_seen)
    return seen


def cluster_status(config: Config, now: float | None = None) -> dict[str, Any]:
    """The queue and the workers for `pledgewatch status`; an unreachable Redis is said, not raised."""
    cluster = config.cluster
    prefix = cluster.key_prefix
    status: dict[str, Any] = {"redis": describe(config)}
    try:
        server = connect(cluster.redis_url)
    except PledgewatchError as exc:
        status["error"] = str(exc)
        return status
    try:
        names = sorted(
            key.decode().removeprefix(f"{prefix}:").removesuffix(":requests")
            for key in server.scan_iter(match=f"{prefix}:*:requests", count=100)
        )
        waiting = queued(server, prefix, names)
        status["queued"] = {name: count for name, count in waiting.items() if count}
        status["queue_length"] = sum(waiting.values())
        held = in_flight(server, prefix)
        status["in_flight"] = held
        moment = now or time.time()
        status["workers"] = [
            {
                "worker": seen.worker,
                "host": seen.host,
                "pid": seen.pid,
                "sources": seen.sources,
                "alive": seen.alive,
                "last_seen_seconds_ago": round(moment - seen.last_seen, 1),
                "last_activity_seconds_ago": (
                    round(moment - seen.last_activity, 1) if seen.last_activity else None
                ),
                "responses": seen.responses,
            }
            for seen in workers_seen(server, prefix, moment)
        ]
    finally:
        server.close()
    return status
