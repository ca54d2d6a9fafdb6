"""The daemon's schedule: APScheduler jobs for crawls and digests, and a clean stop on signals.

This module only schedules. A crawl job runs the crawl child (crawler/crawl_child.py) and then the
delivery cycle (notify/dispatch.py), the same functions `pledgewatch run --once`, `digest --send`
and `alerts --send` call. The jobs live in APScheduler's SQLAlchemyJobStore in the archive's own
database (table ``apscheduler_jobs``, created by migration 0003), so the schedule survives a
restart: a run missed while the daemon was down fires once when it comes back (coalesce), however
late (no misfire limit), and never twice in parallel (``max_instances=1``).

Schedules are 5-field cron expressions ("0 */2 * * *") or intervals ("every 30m", "every 10s",
"every 2h", "every 1d"), in the configured timezone; "off" disables a job.
"""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from pledgewatch.config import Config
from pledgewatch.crawler.crawl_child import CrawlOutcome, supervised_crawl
from pledgewatch.errors import ConfigError
from pledgewatch.notify.dispatch import Dispatcher, DispatchReport
from pledgewatch.store import db
from pledgewatch.store import deliveries as delivery_store
from pledgewatch.store.models import utcnow

log = logging.getLogger("pledgewatch.daemon")

JOB_TABLE = "apscheduler_jobs"
DEFAULT_STOP_GRACE = 30.0
_INTERVAL = re.compile(
    r"^every\s+(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)$", re.IGNORECASE
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DISABLED = {"", "off", "never", "none"}
MAX_INTERVAL_SECONDS = 366 * 86400


def parse_schedule(expression: str, key: str, config: Config) -> BaseTrigger | None:
    """A trigger for ``schedule.<key>``; None when the job is switched off.

    Errors name the key and the file, like every other configuration error.
    """
    where = str(config.path) if config.path else "config"
    value = expression.strip()
    if value.lower() in DISABLED:
        return None
    zone = ZoneInfo(config.schedule.timezone)
    match = _INTERVAL.match(value)
    if match:
        amount = int(match.group(1))
        if amount <= 0:
            raise ConfigError(f"{where}: bad value for 'schedule.{key}': the interval must be positive")
        seconds = amount * _UNIT_SECONDS[match.group(2)[0].lower()]
        if seconds > MAX_INTERVAL_SECONDS:
            # Longer overflows the trigger's arithmetic: a traceback instead of a config error.
            raise ConfigError(f"{where}: bad value for 'schedule.{key}': the interval is longer than a year")
        return IntervalTrigger(seconds=seconds, timezone=zone)
    if value.lower().startswith("every"):
        raise ConfigError(
            f"{where}: bad value for 'schedule.{key}': {value!r} is not an interval "
            "(write e.g. 'every 30m', 'every 10s', 'every 2h')"
        )
    try:
        return CronTrigger.from_crontab(value, timezone=zone)
    except ValueError as exc:
        raise ConfigError(
            f"{where}: bad value for 'schedule.{key}': {value!r} is not a 5-field cron expression "
            f"or an interval like 'every 30m' ({exc})"
        ) from None


def digest_due(trigger: BaseTrigger | None, last: datetime | None, now: datetime) -> bool:
    """Whether a digest slot has passed since the last digest was made (for `run --once`)."""
    if trigger is None:
        return False
    if last is None:
        return True
    if isinstance(trigger, IntervalTrigger):
        return now - last >= trigger.interval
    upcoming = trigger.get_next_fire_time(None, last + timedelta(seconds=1))
    return upcoming is not None and upcoming <= now


def when(moment: datetime | None) -> str:
    """A scheduled time for the log, to the second ("2026-03-02 08:00:00+08:00")."""
    if moment is None:
        return "none (paused)"
    return moment.isoformat(sep=" ", timespec="seconds")


def log_outcome(outcome: CrawlOutcome) -> None:
    """A crawl that timed out or failed is a WARNING (with the sources and why), so log filters
    and alerting on the daemon's log catch it; a normal crawl or a skip is INFO."""
    log.log(logging.WARNING if outcome.went_wrong else logging.INFO, "%s", outcome.describe())


def crawl_groups(config: Config) -> list[list[str]]:
    """The sources each crawl job covers: one job for all enabled sources, or one per source."""
    from pledgewatch.spiders.publisher import all_publishers

    # Publishers the config does not mention keep their default (enabled).
    known = all_publishers()
    names = [*known, *(name for name in config.sources if name not in known)]
    enabled = [name for name in names if config.source(name).enabled]
    if not enabled:
        return []
    return [[name] for name in enabled] if config.schedule.per_source else [enabled]


class _StopAwareThreadPool(ThreadPoolExecutor):
    """APScheduler's thread pool, which takes no new job once the daemon is stopping.

    Without it, a job falling due while the daemon waits for a running crawl would be handed to an
    executor that is shutting down, which APScheduler reports as an error with a traceback.
    """

    def __init__(self, stopping: threading.Event, max_workers: int) -> None:
        super().__init__(max_workers)
        self._stopping = stopping

    def _do_submit_job(self, job: Any, run_times: Any) -> None:
        if self._stopping.is_set():
            log.info("daemon stopping: %s not started", job.id)
            return
        super()._do_submit_job(job, run_times)


@dataclass
class CycleReport:
    """What one `run --once` did, for its summary line and for tests."""

    crawls: list[CrawlOutcome] = field(default_factory=list)
    deliveries: DispatchReport = field(default_factory=DispatchReport)
    digest_due: bool = False


class Daemon:
    """One configuration on one database: the jobs, their shared state, and the stop switch."""

    def __init__(self, config: Config, db_url: str, engine: Engine, stop_grace: float = DEFAULT_STOP_GRACE):
        self.config = config
        self.db_url = db_url
        self.engine = engine
        self.sessions = db.session_factory(engine)
        self.stop = threading.Event()
        self.stop_grace = stop_grace
        # Crawls in progress in this daemon: a digest waits for them, so it is not cut mid-crawl.
        self._crawls = 0
        self._crawls_done = threading.Condition()
        # Validate everything before the first job: a typo must not surface hours later.
        self.crawl_trigger = parse_schedule(config.schedule.crawl, "crawl", config)
        self.digest_trigger = parse_schedule(config.schedule.digest, "digest", config)
        self.zone = ZoneInfo(config.schedule.timezone)
        # Health notices need somewhere to go; without any, the daemon does not insist on one.
        health_channel = config.health.recipients or config.email.recipients or config.email.apprise_urls
        needs_mail = (
            self.digest_trigger is not None
            or config.email.alerts
            or (config.health.notify and bool(health_channel))
        )
        self.dispatcher: Dispatcher | None = Dispatcher(config, self.sessions) if needs_mail else None
        if self.dispatcher is not None:
            _ = self.dispatcher.mailer  # no recipients, Apprise missing: say so now, not at 08:00

    # -- the work (the same functions the CLI calls) -----------------------------------------

    def crawl_and_alert(
        self, sources: list[str], trigger: str = "daemon", report: DispatchReport | None = None
    ) -> CrawlOutcome | None:
        """Crawl ``sources`` in a child (none: just deliver), then send pending and new alerts."""
        outcome = None
        if not self.stop.is_set() and sources:
            if self.dispatcher is not None:
                self.dispatcher.hang_up()  # no SMTP connection idles through the crawl
            with self._crawls_done:
                self._crawls += 1
            try:
                outcome = supervised_crawl(
                    self.config,
                    self.db_url,
                    self.sessions,
                    sources,
                    stop=self.stop,
                    stop_grace=self.stop_grace,
                    trigger=trigger,
                )
            finally:
                with self._crawls_done:
                    self._crawls -= 1
                    self._crawls_done.notify_all()
            log_outcome(outcome)
        if self.dispatcher is not None and not self.stop.is_set():
            with self.dispatcher.sending():  # one SMTP connection for the lot
                sent = self.dispatcher.retry_pending().merge(self.dispatcher.send_alerts())
                # A source that turned degraded or broken (or recovered) in this crawl: tell the
                # operator once (notify/health.py).
                sent.merge(self.dispatcher.send_health())
            if sent.sent or sent.failed or sent.deferred:
                log.info("alerts: %s", sent.summary())
            if report is not None:
                report.merge(sent)
        return outcome

    def digest(self) -> DispatchReport | None:
        if self.dispatcher is None or self.stop.is_set():
            return None
        with self._crawls_done:
            waited = self._crawls_done.wait_for(
                lambda: self._crawls == 0 or self.stop.is_set(),
                timeout=self.config.schedule.crawl_time_limit,
            )
        if self.stop.is_set():
            return None
        if not waited:
            log.warning("digest: a crawl is still running after its time limit; sending what is there")
        report = self.dispatcher.send_digest()
        log.info("digest: %s", report.summary())
        return report

    def run_once(self) -> CycleReport:
        """Whatever is due, once: pending deliveries, a crawl of every group, alerts, the digest if due."""
        if self.dispatcher is None:
            return self._run_once()
        # One batch for the whole run: a mail server found unreachable is not tried again (and
        # waited for again) by every later step of this run.
        with self.dispatcher.sending():
            return self._run_once()

    def _run_once(self) -> CycleReport:
        report = CycleReport()
        if self.dispatcher is not None:
            report.deliveries.merge(self.dispatcher.retry_pending())
        # `crawl = "off"`: deliveries only (the archive is fed some other way).
        groups = crawl_groups(self.config) if self.crawl_trigger is not None else []
        for group in groups or [[]]:
            outcome = self.crawl_and_alert(group, trigger="daemon", report=report.deliveries)
            if outcome is not None:
                report.crawls.append(outcome)
        with self.sessions() as session:
            last = delivery_store.last_digest_at(session)
        report.digest_due = digest_due(self.digest_trigger, last, utcnow())
        if report.digest_due:
            digest = self.digest()
            if digest is not None:
                report.deliveries.merge(digest)
        return report

    # -- the schedule ------------------------------------------------------------------------

    def desired_jobs(self) -> dict[str, tuple[str, BaseTrigger, list[Any]]]:
        jobs: dict[str, tuple[str, BaseTrigger, list[Any]]] = {}
        if self.crawl_trigger is not None:
            # With every source disabled (crawls fed by `pledgewatch import`, say) the job still
            # sends the alerts of whatever arrived.
            for group in crawl_groups(self.config) or [[]]:
                job_id = "crawl" if not self.config.schedule.per_source or not group else f"crawl:{group[0]}"
                jobs[job_id] = (f"{__name__}:_crawl_job", self.crawl_trigger, [group])
        if self.config.cluster.redis_url and self.crawl_trigger is not None and self.dispatcher is not None:
            # A cluster: the crawl job only enqueues; workers store later. Their pledges are
            # alerted here, by the daemon alone, so each alert goes out once whatever the workers.
            every = IntervalTrigger(seconds=self.config.cluster.deliver_seconds, timezone=self.zone)
            jobs["deliver"] = (f"{__name__}:_deliver_job", every, [])
        if self.digest_trigger is not None and self.dispatcher is not None:
            jobs["digest"] = (f"{__name__}:_digest_job", self.digest_trigger, [])
        return jobs

    def make_scheduler(self) -> BackgroundScheduler:
        return BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename=JOB_TABLE)},
            executors={"default": _StopAwareThreadPool(self.stop, max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=self.zone,
        )

    def reconcile(self, scheduler: BackgroundScheduler) -> None:
        """Make the stored jobs match the configuration, keeping unchanged ones (and their missed runs)."""
        desired = self.desired_jobs()
        for job in scheduler.get_jobs():
            if job.id not in desired:
                log.info("schedule: removing job %s (no longer configured)", job.id)
                job.remove()
        for job_id, (func, trigger, args) in desired.items():
            existing = scheduler.get_job(job_id)
            same = (
                existing is not None
                and str(existing.trigger) == str(trigger)
                and str(getattr(existing.trigger, "timezone", "")) == str(getattr(trigger, "timezone", ""))
                and list(existing.args) == args
                and existing.func_ref == func
            )
            if same:
                assert existing is not None
                log.info("schedule: %s %s, next run %s (kept)", job_id, trigger, when(existing.next_run_time))
                continue
            job = scheduler.add_job(func, trigger, args=args, id=job_id, name=job_id, replace_existing=True)
            log.info("schedule: %s %s, next run %s", job_id, trigger, when(job.next_run_time))

    def run_forever(self) -> int:
        """Run until SIGTERM/SIGINT; then stop taking jobs, let the running crawl finish, exit 0."""
        global _ACTIVE
        _ACTIVE = self
        scheduler = self.make_scheduler()
        try:
            scheduler.start(paused=True)
            self.reconcile(scheduler)
            scheduler.resume()
            log.info("pledgewatch daemon running (database %s)", self.engine.url.render_as_string())
            while not self.stop.wait(0.5):
                pass
            # Running jobs finish (a crawl child within --stop-grace); nothing new starts.
            scheduler.shutdown(wait=True)
            log.info("pledgewatch daemon stopped")
        finally:
            _ACTIVE = None
        return 0

    @contextmanager
    def stopping_on_signals(self) -> Iterator[None]:
        """SIGTERM/SIGINT set the stop switch instead of killing the process mid-write."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if not self.stop.is_set():
                log.info(
                    "received %s: no new jobs; a running crawl gets %.0f s to finish",
                    signal.Signals(signum).name,
                    self.stop_grace,
                )
            self.stop.set()

        for sig in previous:
            signal.signal(sig, on_signal)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


# The running daemon, for the job functions (the job store holds references, not objects).
_ACTIVE: Daemon | None = None


def _crawl_job(sources: list[str]) -> None:
    daemon = _ACTIVE
    if daemon is None or daemon.stop.is_set():
        return
    try:
        daemon.crawl_and_alert(list(sources))
    except Exception:
        log.exception("crawl job for %s failed", ",".join(sources))


def _deliver_job() -> None:
    daemon = _ACTIVE
    if daemon is None or daemon.stop.is_set():
        return
    try:
        daemon.crawl_and_alert([])
    except Exception:
        log.exception("delivery job failed")


def _digest_job() -> None:
    daemon = _ACTIVE
    if daemon is None or daemon.stop.is_set():
        return
    try:
        daemon.digest()
    except Exception:
        log.exception("digest job failed")


def configure_logging(verbose: bool = False) -> None:
    """Timestamped lines on stderr: what journald and `docker logs` show."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
