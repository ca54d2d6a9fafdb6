"""Which reports of a pledge stand, and in what order: the one rule of "first report".

Alerts, the digest, the Atom feed, listings and exports all name a pledge's first report; they
agree because they all ask this module (in Python over loaded mentions, or in SQL through
:data:`REPORT_ORDER` for a query that picks the first per pledge).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pledgewatch.store.models import Pledge, PledgeMention

# The same order in SQL: earliest publication first, undated last, then as stored.
REPORT_ORDER = (PledgeMention.published_at.asc().nulls_last(), PledgeMention.id)


def standing_reports(pledge: Pledge, *, archived: bool = False) -> list[PledgeMention]:
    """The pledge's reports that still stand (an edit did not withdraw them), in report order.

    ``archived`` keeps to mentions of archived articles (something a reader can open).
    """
    standing = [
        m for m in pledge.mentions if m.withdrawn_at is None and (not archived or m.article_id is not None)
    ]
    return sorted(standing, key=report_order)


def report_order(mention: PledgeMention) -> tuple[bool, datetime, int]:
    """Sort key of a pledge's reports: earliest publication first, undated last, then as stored."""
    published = mention.published_at or datetime.max.replace(tzinfo=UTC)
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return (mention.published_at is None, published, mention.id)


def first_report(pledge: Pledge, *, archived: bool = False) -> PledgeMention | None:
    """The pledge's first report: its earliest-published mention that still stands.

    This is not necessarily the mention that brought the pledge into the archive (``is_new``): a
    crawl may archive a syndicated copy (People's Daily, the next day) before the original (China
    Daily). Alerts, the feed, the digest and listings all name this one, so they agree.
    ``archived`` keeps to mentions of archived articles (something a reader can open).
    """
    standing = standing_reports(pledge, archived=archived)
    return standing[0] if standing else None


def other_reports(pledge: Pledge, report: PledgeMention) -> list[PledgeMention]:
    """The pledge's other current reports a reader can open, earliest first, one per article.

    An alert names one report (``report``); an analyst also wants to see at a glance how widely
    the pledge is reported. Withdrawn mentions (an edit took them back) and mentions without an
    archived article are left out, and so is a second sentence of the named report's own article.
    """
    seen = {report.article_id}
    others = []
    for mention in standing_reports(pledge, archived=True):
        if mention.article_id in seen:
            continue
        seen.add(mention.article_id)
        others.append(mention)
    return others


