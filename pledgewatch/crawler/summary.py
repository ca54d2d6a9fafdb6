"""The crawl summary: the JSON contract of ``pledgewatch crawl --json`` (the daemon parses it).

Components count into Scrapy's stats collector under ``pledgewatch/...`` keys; the summary is read
from the stats of every spider of the crawl once it is over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

STAT_PREFIX = "pledgewatch/"
PAGES_STAT = "downloader/response_count"
ERROR_LOG_STAT = "pledgewatch/error_log"
COUNTED = ("articles_seen", "articles_new", "articles_updated", "duplicates", "pledges_new", "errors")
# Past this many, errors are counted but not logged one by one in the run history.
MAX_LOGGED_ERRORS = 200


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
    missing: list[str] | None = None
    # Not part of the JSON contract: for the run history and the readable report.
    status: str = field(default="ok", compare=False)
    error_log: list[str] = field(default_factory=list, compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("status")
        data.pop("error_log")
        if self.missing is None:
            data.pop("missing")
        return data

    def add(self, other: CrawlSummary) -> None:
        for name in ("pages_fetched", *COUNTED):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.missing is not None:
            known = list(self.missing or [])
            self.missing = known + [url for url in other.missing if url not in known]
        self.error_log.extend(other.error_log)


def summary_from_stats(stats: Mapping[str, Any], replay: bool) -> CrawlSummary:
    """Read one spider's counts out of its Scrapy stats."""
    summary = CrawlSummary(pages_fetched=int(stats.get(PAGES_STAT, 0) or 0))
    for name in COUNTED:
        setattr(summary, name, int(stats.get(STAT_PREFIX + name, 0) or 0))
    summary.error_log = list(stats.get(ERROR_LOG_STAT) or [])
    if replay:
        summary.missing = list(stats.get(STAT_PREFIX + "missing") or [])
    return summary


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
