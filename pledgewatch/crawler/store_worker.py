"""The crawl's store in a worker process: storing articles off the crawl process's GIL.

Storing an article (the ORM, deduplication, pledge linking) and detecting its pledges cost about
twice what fetching and parsing it does. In one process every thread takes turns on one GIL, so a
cold crawl ran at the speed of one core while the machine's second one idled (issue 15: 0.39 of
``scrapy bench``). Each source's store pipeline therefore hands its articles to a worker process of
its own, which opens its own engine on the archive and runs :func:`pledgewatch.ingest.ingest`
there, pledge detection included, one article at a time, in order, as the store thread did.

The time budget is kept the way :class:`pledgewatch.ingest.PledgeAnalyzer` keeps it: a process
can be killed at once, a thread cannot. When one article's ingest (detection is nearly all of it)
overruns the budget, or the crawl is stopping (SIGTERM), the worker is killed; its transaction
dies with it (SQLite and PostgreSQL roll back a dead writer's work and release its locks), and the
pipeline stores the article in the crawl process without its pledges, marked for a rescan, as
before. The worker is started when the first article arrives: a crawl with nothing new (the
daemon's steady state) never pays its start-up.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows: the workers fall back on SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pledgewatch.config import WatchEntity
from pledgewatch.errors import PledgewatchError
from pledgewatch.ingest import (
    DEFAULT_ANALYSIS_BUDGET,
    AnalysisDeferred,
    BudgetedProcess,
    IngestOutcome,
    ingest,
)
from pledgewatch.records import ArticleRecord
from pledgewatch.store.db import normalise_db_url


def shareable(db_url: str | None) -> bool:
    """Whether another process can open the archive at ``db_url`` (not an in-memory SQLite)."""
    if not db_url:
        return False
    try:
        url = make_url(normalise_db_url(db_url))
    except (ArgumentError, PledgewatchError):
        return False
    if url.get_backend_name() != "sqlite":
        return True
    database = url.database or ""
    return database not in ("", ":memory:") and "mode=memory" not in database + str(url.query)


# A spawned process re-imports the parent's __main__ by its path: a program read from stdin has none.
_NOT_STARTED = "the store worker did not start (a program run from stdin cannot spawn processes)"

_WARM_UP = "JD.com will invest RMB 6 billion in Hubei over the next three years."


# One lock per SQLite archive, shared by the crawl's store workers (see ``ingest(write_lock=...)``):
# SQLite has one writer at a time, and a writer that finds the file locked sleeps in its busy
# handler (1, 2, 5, 10, 15, 20, 25 ms...) rather than waking when the lock is let go: three workers
# spent a third of their time asleep there. The lock is an flock on a file of its own, not a
# semaphore: a worker killed while it holds it (over budget, SIGTERM) lets it go as it dies.
_lock_files: dict[str, str] = {}
_lock_files_guard = threading.Lock()


def _remove_lock_files() -> None:
    for path in _lock_files.values():
        with contextlib.suppress(OSError):
            os.unlink(path)


atexit.register(_remove_lock_files)


def _write_lock_file(db_url: str) -> str | None:
    """The path of the store workers' lock file for the archive at ``db_url``; None if none is needed.

    PostgreSQL writers already wait on the archive's advisory lock, which wakes them at once.
    """
    url = normalise_db_url(db_url)
    if not url.startswith("sqlite") or fcntl is None:
        return None
    with _lock_files_guard:
        if url not in _lock_files:
            descriptor, path = tempfile.mkstemp(prefix="pledgewatch-write-", suffix=".lock")
            os.close(descriptor)
            _lock_files[url] = path
        return _lock_files[url]


class FileLock:
    """An exclusive flock on ``path``, held for a ``with`` block; the kernel drops it with its holder."""

    def __init__(self, path: str) -> None:
        self._descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> FileLock:
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._descriptor, fcntl.LOCK_UN)


def _worker(connection: Any, db_url: str, entities: list[WatchEntity], lock_file: str | None = None) -> None:
    """The worker's loop: one record in, its :class:`IngestOutcome` (or the error) out."""
    from pledgewatch.pledges import extract_pledges
    from pledgewatch.pledges.watchlist import Watchlist
    from pledgewatch.store.db import make_engine, session_factory

    write_lock = FileLock(lock_file) if lock_file else None
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    watchlist = Watchlist(entities)
    # The detector's tables and caches are built before the first budget starts counting.
    watchlist.match(_WARM_UP)
    extract_pledges(_WARM_UP, None, resolver=watchlist.actor_resolver)
    connection.send(("ready", None))
    try:
        while True:
            try:
                record = connection.recv()
            except EOFError:
                return
            if record is None:
                return
            try:
                with sessions() as session:
                    outcome = ingest(session, record, watchlist, write_lock=write_lock)
            except Exception as exc:  # reported to the pipeline, which counts the article's error
                connection.send(("error", (type(exc).__name__, str(exc), traceback.format_exc())))
            else:
                connection.send(("ok", outcome))
    finally:
        engine.dispose()


class StoreError(Exception):
    """An article the worker could not store: its exception's name and message there."""

    def __init__(self, kind: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.details = details


class WorkerUnavailable(RuntimeError):
    """The worker could not start (``at_start``) or died storing an article: nothing was stored,
    and the pipeline stores the article in the crawl process instead."""

    def __init__(self, message: str, at_start: bool) -> None:
        super().__init__(message)
        self.at_start = at_start


class Deferring:
    """A detector that defers every text: how an article whose worker was killed is stored."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def extract(self, *args: Any, **kwargs: Any) -> list[Any]:
        raise AnalysisDeferred(self.reason)


class StoreWorker(BudgetedProcess):
    """One worker process storing articles into the archive at ``db_url``, under a time budget
    (see :class:`pledgewatch.ingest.BudgetedProcess`).

    Callers serialise (the pipeline's one store thread). :meth:`ingest` answers the outcome, raises
    :class:`StoreError` for an article the store refused, :class:`AnalysisDeferred` when the
    article was not stored because the worker was killed (over budget, the crawl stopping): the
    caller then stores it without its pledges, or :class:`WorkerUnavailable`.
    """

    close_wait = 5.0

    def __init__(
        self,
        db_url: str,
        entities: Iterable[WatchEntity] = (),
        budget: float = DEFAULT_ANALYSIS_BUDGET,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(budget, should_stop)
        self.db_url = db_url
        self.entities = list(entities)

    def _target(self) -> tuple[Callable[..., None], tuple[Any, ...], str]:
        return _worker, (self.db_url, self.entities, _write_lock_file(self.db_url)), "pledgewatch-store"

    def _not_started(self) -> Exception:
        return WorkerUnavailable(_NOT_STARTED, at_start=True)

    def _died(self) -> Exception:
        return WorkerUnavailable("the store worker died", at_start=False)

    def ingest(self, record: ArticleRecord) -> IngestOutcome:
        """Store ``record`` in the worker: its outcome (see the class for what else may come)."""
        status, value = self._call(record)
        if status == "error":
            raise StoreError(*value)
        return value  # type: ignore[no-any-return]


class StorePool:
    """The store workers of one crawl, shared by its sources' pipelines.

    A worker per source would run more of them than the machine has cores (three sources on a
    two-core machine), each holding its own copy of the imports (~80 MB), for no more throughput:
    the crawl process and the workers together keep two cores busy. So the crawl has at most
    ``size`` workers (``min(sources, cores)``) and each article goes to whichever is free: a
    source's articles are still stored one at a time, in order (one store thread per source),
    and a busy source is not held behind a worker bound to another. The free worker used last is
    taken first, so a crawl with little new starts one worker, not ``size``. The workers stop at
    once (a SIGTERM) when every source's crawl is stopping, and close when every source's pipeline
    has closed, not when the first source is done.

    One pool per crawl: the crawl puts it in the settings (``PLEDGEWATCH_STORE_POOL``), which Scrapy
    copies for each crawler; the copies are the same pool.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.workers: list[StoreWorker] = []
        self._free: queue.LifoQueue[StoreWorker] = queue.LifoQueue()
        # [crawler, stopped, closed] for each pipeline that attached.
        self._users: list[list[Any]] = []
        self._guard = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> StorePool:
        return self

    def attach(self, crawler: Any, db_url: str, entities: Iterable[WatchEntity], budget: float) -> None:
        """``crawler``'s pipeline stores through this pool (its workers start at their first article)."""
        with self._guard:
            self._users.append([crawler, False, False])
            if not self.workers:
                entities = list(entities)
                for _ in range(self.size):
                    worker = StoreWorker(db_url, entities, budget, should_stop=self._all_stopping)
                    self.workers.append(worker)
                for worker in reversed(self.workers):
                    self._free.put(worker)

    @contextlib.contextmanager
    def worker(self) -> Iterator[StoreWorker]:
        """A free worker for one article (waiting for one if all are busy), given back after."""
        worker = self._free.get()
        try:
            yield worker
        finally:
            self._free.put(worker)

    def _all_stopping(self) -> bool:
        users = self._users
        return bool(users) and all(not user[0].crawling for user in users)

    def _mark(self, crawler: Any, field: int) -> bool:
        """Marks ``crawler`` stopped (1) or closed (2); whether every user now is."""
        with self._guard:
            for user in self._users:
                if user[0] is crawler:
                    user[field] = True
            return all(user[field] for user in self._users)

    def stopping(self, crawler: Any) -> None:
        """``crawler``'s spider closed: the workers stop at once if it was the last one running."""
        if self._mark(crawler, 1):
            for worker in self.workers:
                worker.abort()

    def closed(self, crawler: Any) -> None:
        """``crawler``'s pipeline closed: the worker processes end if it was the last one open."""
        if self._mark(crawler, 2):
            for worker in self.workers:
                worker.close()
