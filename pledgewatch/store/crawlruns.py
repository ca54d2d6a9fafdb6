"""The run history: one ``crawl_runs`` row per crawl or import, and the guard against overlaps.

Every row is written as ``running`` first, with the pid and host of the process doing the work,
so a crawl that is killed still leaves a trace the daemon and ``pledgewatch status`` can show.

Crawls (the daemon's, `run --once` from cron, `pledgewatch crawl` at a terminal) go through
:func:`begin_crawl`: the row is inserted, then any other running crawl of an overlapping source
whose process is alive makes it withdraw (the daemon skips the slot, the CLI refuses to start).
Insert-then-check means two racing crawls may both withdraw, never both crawl. Within one daemon
APScheduler's ``max_instances=1`` keeps a job from running twice.

A ``running`` row whose process is gone (kill -9, a crash, a reboot) is marked ``interrupted``,
so the history stays honest and the source is not blocked.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pledgewatch.store.models import CrawlRun, utcnow

COUNT_FIELDS = (
    "pages_fetched",
    "articles_seen",
    "articles_new",
    "articles_updated",
    "duplicates",
    "pledges_new",
    "errors",
)
# Keep the error log of one run readable and the row small.
MAX_ERROR_LOG = 200
# How many recent runs are searched for a source's previous health (per-source jobs interleave).
HEALTH_LOOKBACK = 200
# How long past its time limit a crawl without a known live process still counts as running.
STALE_MARGIN = timedelta(minutes=10)


def _set_counts(run: CrawlRun, counts: Mapping[str, Any], keep_missing: bool = False) -> None:
    """Copy a crawl summary's counts onto its row (``keep_missing``: leave absent ones as they are)."""
    for name in COUNT_FIELDS:
        value = counts.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            setattr(run, name, value)
        elif not keep_missing:
            setattr(run, name, int(value or 0))


def start_run(session: Session, trigger: str, sources: Sequence[str], replay: str | None = None) -> int:
    """Open the row of work that is not guarded against overlaps (an import)."""
    run = CrawlRun(
        trigger=trigger,
        sources=list(sources),
        replay=replay,
        status="running",
        pid=os.getpid(),
        host=this_host(),
        error_log=[],
    )
    session.add(run)
    session.commit()
    return run.id


def adopt_run(session: Session, run_id: int) -> int | None:
    """A ``running`` row opened by whoever started this crawl (the daemon), or None if there is none."""
    run = session.get(CrawlRun, run_id)
    if run is None or run.status != "running":
        return None
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    status: str,
    counts: Mapping[str, Any],
    error_log: Sequence[str] = (),
    health: Mapping[str, Any] | None = None,
) -> None:
    """The outcome a crawl or import records for itself, in its own process.

    ``health``: the source health of a crawl, by source (see :func:`health_of_summary`).
    """
    run = session.get_one(CrawlRun, run_id)
    run.status = status
    run.finished_at = utcnow()
    _set_counts(run, counts)
    run.error_log = list(error_log)[:MAX_ERROR_LOG]
    if health:
        run.health = dict(health)
    session.commit()


def health_of_summary(summary: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``crawl_runs.health`` value of a crawl summary (``crawl --json``): per source, its health."""
    sources = (summary or {}).get("sources")
    if not isinstance(sources, Mapping):
        return {}
    found: dict[str, Any] = {}
    for name, result in sources.items():
        if isinstance(result, Mapping) and result.get("health"):
            found[name] = {
                "health": result.get("health"),
                "reasons": list(result.get("health_reasons") or []),
                "counts": dict(result.get("health_counts") or {}),
                "dead_start_urls": dict(result.get("dead_start_urls") or {}),
            }
    return found


def previous_health(session: Session, source: str, before_run_id: int | None = None) -> dict[str, Any] | None:
    """The health a source had in its latest run that recorded one (before ``before_run_id``)."""
    statement = select(CrawlRun).where(CrawlRun.health.is_not(None)).order_by(CrawlRun.id.desc())
    if before_run_id is not None:
        statement = statement.where(CrawlRun.id < before_run_id)
    for run in session.scalars(statement.limit(HEALTH_LOOKBACK)):
        entry = (run.health or {}).get(source)
        if isinstance(entry, dict):
            return entry
    return None


@dataclass(frozen=True)
class SourceHealth:
    """A source's latest recorded health, for `pledgewatch status`."""

    source: str
    health: str
    reasons: list[str]
    run_id: int
    checked_at: datetime


def latest_health(session: Session) -> list[SourceHealth]:
    """Every source's health in the latest run that recorded it, by source name."""
    found: dict[str, SourceHealth] = {}
    statement = select(CrawlRun).where(CrawlRun.health.is_not(None)).order_by(CrawlRun.id.desc())
    for run in session.scalars(statement.limit(HEALTH_LOOKBACK)):
        for name, entry in (run.health or {}).items():
            if name not in found and isinstance(entry, dict):
                found[name] = SourceHealth(
                    name,
                    str(entry.get("health") or "unknown"),
                    list(entry.get("reasons") or []),
                    run.id,
                    run.finished_at or run.started_at,
                )
    return [found[name] for name in sorted(found)]


def runs_with_health(session: Session, after_run_id: int, limit: int = HEALTH_LOOKBACK) -> list[CrawlRun]:
    """The latest ``limit`` runs that recorded source health after ``after_run_id``, oldest first."""
    rows = session.scalars(
        select(CrawlRun)
        .where(CrawlRun.health.is_not(None), CrawlRun.id > after_run_id)
        .order_by(CrawlRun.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def get_run(session: Session, run_id: int) -> CrawlRun | None:
    return session.get(CrawlRun, run_id)


def this_host() -> str:
    return socket.gethostname()[:255]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Blocker:
    """The crawl that holds a source, for the line that explains a skipped or refused crawl."""

    run_id: int
    sources: tuple[str, ...]
    pid: int | None
    host: str | None
    started_at: datetime

    def describe(self) -> str:
        where = f"pid {self.pid} on {self.host}" if self.pid else "another process"
        return (
            f"crawl run {self.run_id} of {','.join(self.sources) or 'all sources'} is still running "
            f"({where}, since {self.started_at:%Y-%m-%d %H:%M:%S} UTC)"
        )


def _overlaps(a: Sequence[str], b: Sequence[str]) -> bool:
    # An empty list means "every enabled source".
    return not a or not b or bool(set(a) & set(b))


def _alive(run: CrawlRun, time_limit: timedelta, now: datetime, host: str) -> bool | None:
    """True/False when known; None when this process cannot tell (another host, no pid)."""
    if run.pid is not None and run.host == host:
        return pid_alive(run.pid) and run.started_at > now - time_limit - STALE_MARGIN
    return None


def begin_crawl(
    session: Session,
    sources: Sequence[str],
    *,
    time_limit: timedelta,
    replay: str | None = None,
    trigger: str = "daemon",
) -> tuple[CrawlRun | None, Blocker | None]:
    """Record a crawl about to start; returns (run, None) to go ahead or (None, blocker) to skip."""
    host = this_host()
    run = CrawlRun(
        status="running",
        trigger=trigger,
        sources=list(sources),
        replay=replay or None,
        pid=os.getpid(),
        host=host,
        error_log=[],
    )
    session.add(run)
    session.commit()
    now = utcnow()
    others = session.scalars(
        select(CrawlRun).where(CrawlRun.status == "running", CrawlRun.id != run.id).order_by(CrawlRun.id)
    ).all()
    blocker: Blocker | None = None
    for other in others:
        if not _overlaps(sources, other.sources or []):
            continue
        alive = _alive(other, time_limit, now, host)
        if alive is False:
            other.status = "interrupted"
            other.finished_at = now
            other.error_log = [*(other.error_log or []), "its process is gone: marked interrupted"]
            continue
        if alive is None and other.started_at < now - time_limit - STALE_MARGIN:
            continue  # too old to be a crawl the daemon would wait for
        blocker = Blocker(
            run_id=other.id,
            sources=tuple(other.sources or []),
            pid=other.pid,
            host=other.host,
            started_at=other.started_at,
        )
        break
    if blocker is not None:
        session.execute(delete(CrawlRun).where(CrawlRun.id == run.id))
        session.commit()
        return None, blocker
    session.commit()
    return run, None


def set_crawl_pid(session: Session, run_id: int, pid: int) -> None:
    """The child's pid: the row now stands for the child, which may outlive a killed daemon."""
    run = session.get(CrawlRun, run_id)
    if run is not None:
        run.pid = pid
        session.commit()


def finish_crawl(
    session: Session,
    run_id: int,
    status: str,
    summary: dict[str, Any] | None,
    errors: Sequence[str] = (),
) -> CrawlRun | None:
    """Store the outcome the child reported (its JSON summary), or why it has none."""
    run = session.get(CrawlRun, run_id)
    if run is None:
        return None
    session.refresh(run)
    run.status = status
    run.finished_at = utcnow()
    _set_counts(run, summary or {}, keep_missing=True)
    if run.health is None:
        run.health = health_of_summary(summary) or None
    log = list(run.error_log or [])
    missing = (summary or {}).get("missing")
    if isinstance(missing, list) and missing:
        log.append(f"{len(missing)} URLs missing from the replay archive")
    # The child may already have logged the same reason in this row (a source that failed).
    run.error_log = [*log, *[e[:2000] for e in errors if e[:2000] not in log]]
    session.commit()
    return run


def interrupt_orphans(session: Session, sources: Sequence[str], since: datetime, reason: str) -> int:
    """Mark the rows a stopped child left `running` (it could not record its own end)."""
    rows = session.scalars(
        select(CrawlRun).where(
            CrawlRun.status == "running", CrawlRun.started_at >= since, CrawlRun.trigger != "daemon"
        )
    ).all()
    count = 0
    for row in rows:
        if _overlaps(sources, row.sources or []):
            row.status = "interrupted"
            row.finished_at = utcnow()
            row.error_log = [*(row.error_log or []), reason]
            count += 1
    session.commit()
    return count


def absorb_child_run(
    session: Session, run_id: int, spawned_at: datetime, sources: Sequence[str]
) -> CrawlRun | None:
    """Fold the row the crawl child wrote for itself into the daemon's row: one row per crawl.

    A crawl command that records into the daemon's row (``PLEDGEWATCH_CRAWL_RUN_ID``) writes no
    row of its own, and nothing is folded. Otherwise its row is the only run of the same sources
    started after the child was spawned; its error log is kept, the row itself is removed.
    """
    candidates = session.scalars(
        select(CrawlRun).where(
            CrawlRun.id != run_id,
            CrawlRun.trigger != "daemon",
            CrawlRun.started_at >= spawned_at - timedelta(seconds=1),
        )
    ).all()
    mine = sorted(sources)
    matching = [row for row in candidates if sorted(row.sources or []) == mine]
    run = session.get(CrawlRun, run_id)
    if len(matching) != 1 or run is None:
        return None
    child = matching[0]
    log = [line for line in (child.error_log or []) if line not in (run.error_log or [])]
    run.error_log = [*log, *(run.error_log or [])]
    for name in COUNT_FIELDS:
        if not getattr(run, name) and getattr(child, name):
            setattr(run, name, getattr(child, name))
    session.delete(child)
    session.commit()
    return child
