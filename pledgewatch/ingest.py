"""Where the pipeline's parts meet: an extracted record into the archive, its text through pledge
detection, the candidates into the store's pledge linking, then one commit.

Shared by the crawl's item pipeline, by ``pledgewatch import`` and by ``pledgewatch pledges
extract``, so a text gets exactly the same treatment whichever way it arrived. The store below
knows SQL only and the pledge detector knows text only; this module is the one place that runs
one over the other.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pledgewatch.pledges.version import detector_version
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.spiders.publisher import all_publishers
from pledgewatch.spiders.urls import identify
from pledgewatch.store import archive, meta, queries
from pledgewatch.store.models import Article, utcnow

# The detector and the pledge store are imported where they are used: a crawl that finds nothing
# new (the daemon's usual run) never loads them, ~0.1 s of its start-up (issue 15).
if TYPE_CHECKING:
    from pledgewatch.pledges import ActorResolver
    from pledgewatch.store.pledges import MentionOutcome

# Seconds of pledge detection one article may take in the crawl before it is stored without its
# pledges and marked for a rescan (``articles.analysis_deferred_at``). Ordinary articles take
# milliseconds; the budget exists for adversarial or pathological texts, which must not hold the
# crawl (or its SIGTERM) for minutes.
DEFAULT_ANALYSIS_BUDGET = 20.0


class AnalysisDeferred(Exception):
    """Pledge detection of one text did not finish: over its time budget, or the crawl is stopping."""


def _analysis_worker(connection: Any, resolver: ActorResolver | None) -> None:
    """The worker process's loop: one (text, published) in, its candidates (or the error) out."""
    from pledgewatch.pledges import extract_pledges

    connection.send(("ready", None))
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        text, published, context = message
        try:
            connection.send(("ok", extract_pledges(text, published, resolver=resolver, **context)))
        except Exception as exc:  # reported to the caller, which stores the article as usual
            connection.send(("error", f"{type(exc).__name__}: {exc}"))


class BudgetedProcess:
    """A spawned worker process answering one request at a time, each under a time budget.

    A thread cannot be stopped from outside, so work that runs for minutes (pledge detection of a
    pathological text) would hold the crawl's shutdown (and its SIGTERM) for as long; a process
    can be killed at once. The worker is started (and its imports done) before a budget starts
    counting, is killed when a request overruns its budget or :meth:`abort` is called (the request
    then raises :class:`AnalysisDeferred`), and is restarted lazily for the next request. Callers
    serialise (the crawl's store thread, a rescan loop). Subclasses name the worker's loop
    (:meth:`_target`) and what a worker that did not start or died raises.
    """

    #: Seconds :meth:`close` lets the worker finish its last request before killing it.
    close_wait: float = 0.0

    def __init__(self, budget: float, should_stop: Callable[[], bool] | None = None) -> None:
        self.budget = float(budget)
        # Polled while a request runs: true once the caller is shutting down (a SIGTERM).
        self.should_stop = should_stop or (lambda: False)
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._connection: Any = None
        self._lock = threading.Lock()
        self._aborted = threading.Event()

    def _target(self) -> tuple[Callable[..., None], tuple[Any, ...], str]:
        """The worker's loop (called with the pipe's end, then these arguments) and its name."""
        raise NotImplementedError

    def _not_started(self) -> Exception:
        return AnalysisDeferred("the analysis worker did not start")

    def _died(self) -> Exception:
        return RuntimeError("the analysis worker died")

    def _stopping(self) -> bool:
        if not self._aborted.is_set() and self.should_stop():
            self._aborted.set()
        return self._aborted.is_set()

    def _start(self) -> None:
        target, args, name = self._target()
        parent, child = self._context.Pipe()
        process = self._context.Process(target=target, args=(child, *args), name=name, daemon=True)
        process.start()
        child.close()
        self._process, self._connection = process, parent
        # The worker's imports (seconds on a cold cache) are not part of any request's budget.
        while not parent.poll(0.1):
            if self._stopping():
                self._kill()
                raise AnalysisDeferred("the crawl is stopping")
            if not process.is_alive():
                self._kill()
                raise self._not_started()
        try:
            parent.recv()
        except EOFError:  # it died before it was ready (a program read from stdin cannot spawn)
            self._kill()
            raise self._not_started() from None

    def _kill(self) -> None:
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if connection is not None:
            connection.close()
        if process is not None:
            process.kill()
            process.join(5)

    def _call(self, message: Any) -> tuple[str, Any]:
        """Send ``message`` to the worker and wait, within the budget, for its (status, value)."""
        with self._lock:
            if self._stopping():
                raise AnalysisDeferred("the crawl is stopping")
            if self._process is None or not self._process.is_alive():
                self._kill()
                self._start()
            assert self._connection is not None
            self._connection.send(message)
            deadline = time.monotonic() + self.budget
            while not self._connection.poll(0.05):
                if self._stopping():
                    self._kill()
                    raise AnalysisDeferred("the crawl is stopping")
                if time.monotonic() >= deadline:
                    self._kill()
                    raise AnalysisDeferred(f"pledge detection took over {self.budget:g} s")
                if not self._process.is_alive():
                    self._kill()
                    raise self._died()
            try:
                return self._connection.recv()  # type: ignore[no-any-return]
            except EOFError:
                self._kill()
                raise self._died() from None

    def abort(self) -> None:
        """Stop now (a SIGTERM): the request running is deferred, and so is every later one."""
        self._aborted.set()

    def close(self) -> None:
        """Stop the worker process (a no-op when none runs), after :attr:`close_wait` at most."""
        self._aborted.set()
        with self._lock:
            process, connection = self._process, self._connection
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.send(None)
            if process is not None and self.close_wait:
                process.join(self.close_wait)
            self._kill()


class PledgeAnalyzer(BudgetedProcess):
    """Pledge detection in a worker process, with a time budget per text, that can be killed
    (see :class:`BudgetedProcess`)."""

    def __init__(
        self,
        budget: float = DEFAULT_ANALYSIS_BUDGET,
        resolver: ActorResolver | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(budget, should_stop)
        self.resolver = resolver

    def _target(self) -> tuple[Callable[..., None], tuple[Any, ...], str]:
        return _analysis_worker, (self.resolver,), "pledgewatch-analysis"

    def extract(self, text: str, published: date | datetime | None, **context: str | None) -> list[Any]:
        """The pledge candidates of ``text``, or :class:`AnalysisDeferred` past the budget or on abort.

        ``context`` is what :func:`extract_pledges` takes besides the text (``title``, ``url``).
        """
        status, value = self._call((text, published, context))
        if status == "error":
            raise RuntimeError(f"pledge detection failed: {value}")
        return list(value)


@dataclass(frozen=True)
class IngestOutcome:
    # new | updated | duplicate | unchanged (see store.archive.SaveStatus)
    status: str
    article_id: int
    pledges_new: int
    # Stored without its pledges: detection overran its budget (see PledgeAnalyzer); why, else None.
    analysis_deferred: str | None = None


# (text, published, title=..., url=...) -> candidates: extract_pledges or PledgeAnalyzer.extract.
Detector = Callable[..., list[Any]]


def detects_pledges(article: Article) -> bool:
    """Whether pledge detection reads this article: the one rule, for a crawl, an import and a rescan.

    Every archived article (issue 13): the watch list decides what is alerted and what the digest
    leads with, not what the archive knows, so ``pledges list`` shows every company's pledges and a
    company added to the watch list later has its history.
    """
    del article  # every article, relevant or not
    return True


def record_article_pledges(
    session: Session,
    article: Article,
    resolver: ActorResolver | None = None,
    detect: Detector | None = None,
    new_article: bool = False,
) -> list[MentionOutcome]:
    """Detect and store the pledges of an archived article; processing it again updates, never duplicates.

    ``detect`` replaces the in-process detector (the crawl passes :meth:`PledgeAnalyzer.extract`);
    it may raise :class:`AnalysisDeferred`, which leaves the article's pledges as they were.
    ``new_article``: inserted in this transaction (no mentions to update yet).
    """
    from pledgewatch.pledges import extract_pledges
    from pledgewatch.store import pledges

    published = article.published_at or article.fetched_at
    # The headline and the URL's slug name the company that "the company" of the text is.
    context = {"title": article.title or None, "url": article.canonical_url or None}
    if detect is not None:
        candidates = detect(article.text or "", published, **context)
    else:
        candidates = extract_pledges(article.text or "", published, resolver=resolver, **context)
    outcomes = pledges.link_article_candidates(session, article, candidates, new_article=new_article)
    article.analysis_deferred_at = None
    return outcomes


def record_report(
    session: Session,
    report_ref: str,
    text: str,
    published: date | datetime | None,
    source: str | None,
    resolver: ActorResolver | None = None,
    title: str | None = None,
    url: str | None = None,
) -> list[MentionOutcome]:
    """Detect and store the pledges of a text that is not an archived article, known by ``report_ref``.

    ``title`` is the text's headline, the context that names the company when the text says only
    "it" or "the company": detection takes it as the text's subject (it is not prepended to the
    text, which would shift the offsets and could be read as a sentence of its own). ``url`` (the
    page the text is from) and ``source`` (the outlet) are weaker context of the same kind.
    """
    from pledgewatch.pledges import extract_pledges
    from pledgewatch.store import pledges

    when = pledges.as_datetime(published)
    candidates = extract_pledges(text, when, resolver=resolver, title=title, url=url, outlet=source)
    return pledges.link_report_candidates(session, report_ref, candidates, when, source)


def _detect_before_lock(
    record: ArticleRecord, watchlist: Watchlist, analyzer: PledgeAnalyzer | None
) -> Detector:
    """Detect the pledges of an article not yet archived before the archive's write lock is taken.

    Under the lock (:func:`pledgewatch.store.archive.serialize_writes`) the writers of a cluster
    store one at a time; detection, by far the slowest step, would be serial with them. Only for
    a record whose URL is not archived: an unchanged one or an edit is left to the usual path
    under the lock. The returned detector answers from what was found when asked for the same
    text and date (a new article), and detects again otherwise; a detection that overran its
    budget is raised there, so the article is stored as deferred exactly as before.
    """
    text = record.text or ""
    published = record.published or record.fetched_at
    # The same context record_article_pledges gives: the headline and the page's URL.
    own = {
        "title": record.title or None,
        "url": (record.canonical.url if record.canonical else record.url) or None,
    }
    if analyzer is not None:
        detect: Detector = analyzer.extract
    else:

        def detect(body: str, when: date | datetime | None, **context: str | None) -> list[Any]:
            from pledgewatch.pledges import extract_pledges

            return extract_pledges(body, when, resolver=watchlist.actor_resolver, **context)

    failure: AnalysisDeferred | None = None
    found: list[Any] = []
    try:
        found = detect(text, published, **own)
    except AnalysisDeferred as exc:
        failure = exc

    def detected(body: str, when: date | datetime | None, **context: str | None) -> list[Any]:
        if body == text and when == published:
            if failure is not None:
                raise failure
            return found
        return detect(body, when, **context)

    return detected


def ingest(
    session: Session,
    record: ArticleRecord,
    watchlist: Watchlist,
    analyzer: PledgeAnalyzer | None = None,
    write_lock: contextlib.AbstractContextManager[Any] | None = None,
) -> IngestOutcome:
    """Store ``record`` and detect the pledges of every new or edited article, then commit.

    Every company's pledges are detected, whether or not the article mentions a watched name: the
    watch list decides what is alerted and what the digest leads with (see
    :mod:`pledgewatch.notify`), not what the archive knows, so a company added to the watch list
    later has its history, and ``pledges list`` shows every company. On failure the session is
    rolled back, so one bad article never leaves half an article behind.
    With an ``analyzer``, detection runs under its time budget: an article that overruns it is
    stored anyway, without pledges, with ``analysis_deferred_at`` set for :func:`rescan_deferred`
    (never lost and never refetched: a later crawl sees it stored and unchanged).
    ``write_lock`` is held from the first write to the commit, detection done before it: writers
    in several processes on one SQLite file (the crawl's store workers) take turns on it, woken
    the moment it is free, instead of sleeping in SQLite's busy handler.
    """
    deferred: str | None = None
    try:
        if record.canonical is None:
            record = identify(record)
        # Everything that needs no write before the write lock: detection (the slow part), the
        # text's dedup facts, the watch list, the source's row (reads only; on SQLite outside any
        # transaction). Under the lock only what decides what is new, and the writes.
        unknown = archive.find_known_article(session, record.url, record.canonical) is None
        detect = _detect_before_lock(record, watchlist, analyzer) if unknown else None
        facts = archive.text_facts(record.text) if unknown else None
        entities = watchlist.match(record.title, record.text)
        publisher = all_publishers().get(record.source)
        source = archive.find_source(session, publisher.name) if publisher is not None else None
        with write_lock if write_lock is not None else contextlib.nullcontext():
            try:
                # Concurrent writers (cluster workers) decide what is new one at a time (store.archive).
                archive.serialize_writes(session)
                if publisher is not None and source is None:
                    source = archive.get_or_create_source(
                        session, publisher.name, publisher.title, publisher.domain
                    )
                result = archive.save_article(session, record, entities, source, facts)
                pledges_new = 0
                if result.status in ("new", "updated") and detects_pledges(result.article):
                    try:
                        outcomes = record_article_pledges(
                            session,
                            result.article,
                            resolver=watchlist.actor_resolver,
                            detect=detect or (analyzer.extract if analyzer is not None else None),
                            new_article=result.status == "new",
                        )
                    except AnalysisDeferred as exc:
                        deferred = str(exc)
                        result.article.analysis_deferred_at = utcnow()
                    else:
                        pledges_new = sum(1 for outcome in outcomes if outcome.is_new)
                article_id = result.article.id
                meta.note_detector(session, detector_version())
                session.commit()
            except BaseException:
                session.rollback()  # before the lock is let go: the next writer finds no open write
                raise
    except Exception:
        session.rollback()
        raise
    return IngestOutcome(
        status=result.status, article_id=article_id, pledges_new=pledges_new, analysis_deferred=deferred
    )


def rescan_deferred(session: Session, watchlist: Watchlist, analyzer: PledgeAnalyzer | None = None) -> int:
    """Detect the pledges of every article stored with its analysis deferred; the number done.

    Without an ``analyzer`` detection runs in this process with no budget (an operator's
    deliberate rescan); with one, an article that overruns again stays marked.
    """
    ids = session.scalars(
        select(Article.id).where(Article.analysis_deferred_at.is_not(None)).order_by(Article.id)
    ).all()
    done = 0
    for article_id in ids:
        article = session.get(Article, article_id)
        if article is None:
            continue
        try:
            record_article_pledges(
                session,
                article,
                resolver=watchlist.actor_resolver,
                detect=analyzer.extract if analyzer is not None else None,
            )
        except AnalysisDeferred:
            session.rollback()
            continue
        session.commit()
        done += 1
    return done


@dataclass
class RescanReport:
    """What a rescan changed, for its summary line (and what a dry run would change)."""

    articles: int = 0
    # Articles whose relevance (the watch-list names they mention) changed.
    relevance_changed: int = 0
    pledges_new: int = 0
    # Mentions a rescan added to pledges already known (the same pledge found in another article).
    mentions_linked: int = 0
    # Mentions the current detector no longer finds: withdrawn, as an edit withdraws them.
    mentions_withdrawn: int = 0


def rescan_article(session: Session, article: Article, watchlist: Watchlist, report: RescanReport) -> None:
    """Read one stored article again with today's watch list and detector; nothing is fetched.

    Detection over an article already read updates its mentions in place: a pledge found again
    keeps its mention (and any alert made for it), a pledge no longer found is withdrawn.
    """
    archive.serialize_writes(session)  # workers may be storing meanwhile
    entities = watchlist.match(article.title, article.text)
    if entities != list(article.entities or []):
        report.relevance_changed += 1
        article.entities = entities
        article.relevant = bool(entities)
    report.articles += 1
    if not detects_pledges(article):
        return
    before = queries.standing_mentions(session, article.id)
    outcomes = record_article_pledges(session, article, resolver=watchlist.actor_resolver)
    # An article the crawl stored without its pledges (detection overran its budget) has them now.
    article.analysis_deferred_at = None
    after = queries.standing_mentions(session, article.id)
    report.mentions_withdrawn += len(before.keys() - after.keys())
    for outcome in outcomes:
        if outcome.mention.id in before:
            continue
        if outcome.is_new:
            report.pledges_new += 1
        else:
            report.mentions_linked += 1


def rescan(
    session: Session,
    watchlist: Watchlist,
    *,
    since: datetime | None = None,
    sources: tuple[str, ...] = (),
    dry_run: bool = False,
    batch: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> RescanReport:
    """Re-run relevance and pledge detection over the stored texts, oldest first.

    Idempotent: a second rescan with the same watch list and detector changes nothing. It commits
    every ``batch`` articles, so an interrupted rescan keeps what it did and the next one goes on
    from there; ``dry_run`` does the same work in one transaction and rolls it back. Alerts are
    the dispatcher's: a pledge that already had its alert has it still, and a newly found pledge
    older than ``[email] alert_max_age_days`` is recorded as skipped there, not mailed.
    """
    report = RescanReport()
    ids = queries.article_ids_for_rescan(session, since, sources)
    try:
        for done, article_id in enumerate(ids, start=1):
            article = session.get(Article, article_id)
            if article is not None:
                rescan_article(session, article, watchlist, report)
            if not dry_run and done % batch == 0:
                session.commit()
            if progress is not None:
                progress(done, len(ids))
        if dry_run:
            session.rollback()
        else:
            if not since and not sources:
                # Every text was read by this detector: `db upgrade` need not advise a rescan.
                meta.put(session, meta.DETECTOR_VERSION, detector_version())
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return report
