"""The crawl summary: the JSON contract of ``pledgewatch crawl --json`` (the daemon parses it).

Components count into Scrapy's stats collector under ``pledgewatch/...`` keys; the summary is read
from the stats of every spider of the crawl once it is over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pledgewatch.crawler import health

logger = logging.getLogger(__name__)

STAT_PREFIX = "pledgewatch/"
PAGES_STAT = "downloader/response_count"
ERROR_LOG_STAT = "pledgewatch/error_log"
COUNTED = (
    "articles_seen",
    "articles_new",
    "articles_updated",
    "duplicates",
    "pledges_new",
    "errors",
    # Stored without pledges: detection overran its time budget (articles.analysis_deferred_at).
    "analysis_deferred",
    # Linked articles published before the crawl's window ([crawl] window_days or --since): not
    # fetched or not stored. A crawl that stores nothing says this count, so "0 new" has a why.
    "outside_window",
)
# Past this many, errors are counted but not logged one by one in the run history.
MAX_LOGGED_ERRORS = 200
# Per source: requests the site answered (any status below 500, 304 and 404 included) and requests
# that got no usable answer (a network error, a timeout, a 5xx after retries), with why. A source
# whose every request failed reached nothing: its crawl failed, even though the spider "finished".
ANSWERED_STAT = "pledgewatch/requests_answered"
FAILED_STAT = "pledgewatch/requests_failed"
FAILURE_REASONS_STAT = "pledgewatch/failure_reasons"


@dataclass
class SourceResult:
    """How one source's crawl went: ``failed`` when it made requests and none was answered."""

    status: str = "ok"
    requests: int = 0
    requests_failed: int = 0
    reason: str = ""
    # Source health (pledgewatch.crawler.health): ok | degraded | broken, why, and what was counted.
    health: str = field(default="ok", compare=False)
    health_reasons: list[str] = field(default_factory=list, compare=False)
    health_counts: dict[str, Any] = field(default_factory=dict, compare=False)
    # Start URL -> consecutive runs it answered 404/410 (carried from run to run).
    dead_start_urls: dict[str, int] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        """One line for the summary: the counts, and why a failed source failed."""
        if self.status == "failed":
            return f"failed: {self.reason}"
        if self.requests_failed:
            return f"ok, {self.reason}"  # some failed: counted, not fatal
        return f"ok, {self.requests} requests"


@dataclass
class CrawlSummary:
    """What one crawl did. ``missing`` is only present (not None) for replays."""

    pages_fetched: int = 0
    articles_seen: int = 0
    articles_new: int = 0
    articles_updated: int = 0
    duplicates: int = 0
    pledges_new: int = 0
    errors: int = 0
    analysis_deferred: int = 0
    outside_window: int = 0
    missing: list[str] | None = None
    # Per source (by name): ok or failed, with its request counts.
    sources: dict[str, SourceResult] = field(default_factory=dict)
    # A cluster run's start (`crawl --enqueue`): requests queued for the workers, and the sources
    # not enqueued with why (their previous run is still being crawled). None otherwise.
    enqueued: int | None = None
    skipped: dict[str, str] | None = None
    # Not part of the JSON contract: for the run history and the readable report.
    status: str = field(default="ok", compare=False)
    error_log: list[str] = field(default_factory=list, compare=False)
    # The signal that stopped the crawl ("SIGINT", "SIGTERM"), if one did: the CLI's exit code.
    stopped_by: str | None = field(default=None, compare=False)

    @property
    def failed_sources(self) -> list[str]:
        return [name for name, result in self.sources.items() if result.status == "failed"]

    def window_note(self, window: str) -> str:
        """Why nothing new was stored when the window dropped articles ("" otherwise); ``window``
        names what set it ("[crawl] window_days = 30")."""
        if self.articles_new or self.articles_updated or not self.outside_window:
            return ""
        return (
            f"0 articles stored: {self.outside_window} links led to articles published before the "
            f"window ({window}; --since or a larger value reaches further back)"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("error_log")
        data.pop("stopped_by")
        if self.missing is None:
            data.pop("missing")
        if not self.sources:
            data.pop("sources")
        for name in ("enqueued", "skipped"):
            if data[name] is None:
                data.pop(name)
        return data

    def add(self, other: CrawlSummary) -> None:
        for name in ("pages_fetched", *COUNTED):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.missing is not None:
            known = list(self.missing or [])
            self.missing = known + [url for url in other.missing if url not in known]
        self.error_log.extend(other.error_log)
        self.sources.update(other.sources)


def source_result(
    stats: Mapping[str, Any], source: str = "", previous_dead: Mapping[str, int] | None = None
) -> SourceResult:
    """One source's outcome from its spider's stats (see :data:`ANSWERED_STAT`), with its health.

    ``previous_dead``: the source's dead start URLs of its previous run (see :func:`health.assess`).
    """
    answered = int(stats.get(ANSWERED_STAT, 0) or 0)
    failed = int(stats.get(FAILED_STAT, 0) or 0)
    reasons: dict[str, int] = dict(stats.get(FAILURE_REASONS_STAT) or {})
    if len(reasons) == 1:
        why = next(iter(reasons))
    else:
        why = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items(), key=lambda r: -r[1]))
    total = answered + failed
    result = SourceResult(requests=total, requests_failed=failed)
    if failed:
        result.reason = f"{failed} of {total} requests failed: {why}"
        if answered == 0:
            result.status = "failed"
    assess_health(result, stats, source, previous_dead)
    return result


def assess_health(
    result: SourceResult,
    stats: Mapping[str, Any],
    source: str,
    previous_dead: Mapping[str, int] | None = None,
    **thresholds: Any,
) -> None:
    """Fill in ``result``'s health from the spider's stats (again, once the previous run is known)."""
    counts = health.counts_from_stats(stats, source)
    verdict = health.assess(
        counts,
        reachable=result.status != "failed",
        unreachable_reason=result.reason,
        previous_dead=previous_dead,
        **thresholds,
    )
    result.health = verdict.state
    result.health_reasons = verdict.reasons
    result.health_counts = counts.to_json()
    result.dead_start_urls = verdict.dead_start_urls


def summary_from_stats(stats: Mapping[str, Any], replay: bool, source: str | None = None) -> CrawlSummary:
    """Read one spider's counts out of its Scrapy stats (``source``: its name, for the per-source result)."""
    summary = CrawlSummary(pages_fetched=int(stats.get(PAGES_STAT, 0) or 0))
    for name in COUNTED:
        setattr(summary, name, int(stats.get(STAT_PREFIX + name, 0) or 0))
    summary.error_log = list(stats.get(ERROR_LOG_STAT) or [])
    if replay:
        summary.missing = list(stats.get(STAT_PREFIX + "missing") or [])
    if source is not None:
        summary.sources[source] = source_result(stats, source)
    return summary


def record_answered(stats: Any) -> None:
    """Count one request the site answered (below 500): the source is reachable."""
    stats.inc_value(ANSWERED_STAT)


def record_request_failed(stats: Any, reason: str) -> None:
    """Count one request that got no usable answer, by reason ("connection refused", "HTTP 503")."""
    stats.inc_value(FAILED_STAT)
    reasons = stats.get_value(FAILURE_REASONS_STAT)
    if reasons is None:
        reasons = {}
        stats.set_value(FAILURE_REASONS_STAT, reasons)
    reasons[reason] = reasons.get(reason, 0) + 1


def record_error(stats: Any, message: str) -> None:
    """Count one error of the crawl and keep its message for the run history."""
    stats.inc_value(STAT_PREFIX + "errors")
    log = stats.get_value(ERROR_LOG_STAT)
    if log is None:
        log = []
        stats.set_value(ERROR_LOG_STAT, log)
    if len(log) < MAX_LOGGED_ERRORS:
        log.append(message)
    logger.warning("%s", message)


def merge(summaries: Iterable[CrawlSummary], replay: bool) -> CrawlSummary:
    total = CrawlSummary(missing=[] if replay else None)
    for summary in summaries:
        total.add(summary)
    return total
