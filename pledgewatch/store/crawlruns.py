"""The run history: one ``crawl_runs`` row per crawl or import, opened before it starts.

The row is written as ``running`` first, so a crawl that is killed still leaves a trace the daemon
and ``pledgewatch status`` can show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
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


def start_run(session: Session, trigger: str, sources: Sequence[str], replay: str | None = None) -> int:
    run = CrawlRun(trigger=trigger, sources=list(sources), replay=replay, status="running")
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
    session: Session, run_id: int, status: str, counts: Mapping[str, Any], error_log: Sequence[str] = ()
) -> None:
    run = session.get_one(CrawlRun, run_id)
    run.status = status
    run.finished_at = utcnow()
    for name in COUNT_FIELDS:
        setattr(run, name, int(counts.get(name, 0) or 0))
    run.error_log = list(error_log)[:MAX_ERROR_LOG]
    session.commit()


def recent_runs(session: Session, limit: int = 20) -> list[CrawlRun]:
    return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)))
