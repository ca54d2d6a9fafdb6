"""The Atom feed of pledges, for analysts who follow pledgewatch in a feed reader.

Entries are pledges, not articles: one entry per commitment, linked to its first report and listing
every outlet that reported it, so a re-report updates an entry instead of adding a new one. An
entry's ``<updated>`` is the pledge's ``updated_at``, which the store moves only when the entry's
content changes (a new report, a revision, a withdrawal): feed readers show it as changed then only.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.orm import object_session

from pledgewatch.notify.alerts import outlet_name, pledge_fields
from pledgewatch.notify.rendering import format_date, pledge_headline, render
from pledgewatch.store.models import Pledge, utcnow
from pledgewatch.store.overrides import OverrideView, describe, effective_pledge, view_for
from pledgewatch.store.reports import standing_reports

FEED_ID = "urn:pledgewatch:pledges"


def _rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def render_pledges_feed(pledges: list[Pledge], zone: tzinfo | None = None, self_url: str = "") -> str:
    """Atom 1.0 XML for ``pledges`` (newest first); every text from the web is escaped."""
    entries = []
    for machine in pledges:
        session = object_session(machine)
        analyst = view_for(session) if session is not None else OverrideView()
        if analyst.is_rejected(machine):
            continue  # an analyst said it is not a pledge
        # What readers are shown: the analyst's corrections over the machine's values.
        pledge = effective_pledge(machine)
        # What the archive reports now: a mention an edit withdrew (or an analyst rejected) is
        # not listed as a report.
        mentions = [m for m in standing_reports(machine) if analyst.mention_rejection(m) is None]
        # The first report is the earliest-published one, whichever was crawled first: the
        # entry links the report the alert linked and the digest calls "first reported".
        first = mentions[0] if mentions else None
        first_article = first.article if first is not None else None
        published = pledge.first_published_at or (first.published_at if first else None)
        entries.append(
            {
                "id": f"urn:pledgewatch:pledge:{pledge.id}",
                "title": pledge_headline(pledge),
                "updated": _rfc3339(pledge.updated_at),
                "published": _rfc3339(published) if published else "",
                "link": first_article.canonical_url if first_article is not None else "",
                "outlet": outlet_name(first_article) if first_article is not None else "pledgewatch",
                "kind": pledge.kind,
                "sentence": first.sentence if first is not None else "",
                "fields": pledge_fields(first, pledge) if first is not None else [],
                "analyst": [describe(row) for row in analyst.history(machine.id)],
                "mentions": [
                    {
                        "url": m.article.canonical_url if m.article is not None else "",
                        "title": (m.article.title if m.article is not None else m.report_ref) or "(untitled)",
                        "outlet": outlet_name(m.article) if m.article is not None else (m.source_name or ""),
                        "published": format_date(m.published_at, zone),
                        "status": "revised"
                        if m.is_revision
                        else ("first report" if m is first else "re-report"),
                    }
                    for m in mentions
                ],
            }
        )
    updated = max((p.updated_at for p in pledges), default=utcnow())
    return render(
        "pledges.atom.j2",
        feed_id=FEED_ID,
        title="pledgewatch: corporate pledges",
        updated=_rfc3339(updated),
        self_url=self_url,
        entries=entries,
    )
