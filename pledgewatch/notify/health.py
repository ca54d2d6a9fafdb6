"""Health notices: the operator hears once when a source turns degraded or broken, once when it recovers.

A crawl records each source's health in its ``crawl_runs`` row. A *change* is a source whose state
in a run differs from its state in the previous run that recorded one (a source seen for the first
time counts as having been ``ok``). One notice per run with changes carries all of them; runs without
changes send nothing, so a source that stays degraded for a week is one message, not eighty-four.
The dispatcher records the notice as a delivery (kind ``health``, item: the crawl run) before
sending it, so it goes out exactly once like alerts and digests.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from sqlalchemy.orm import Session

from pledgewatch.notify.rendering import ComposedMessage
from pledgewatch.store import crawlruns
from pledgewatch.store.models import CrawlRun

OK = "ok"


@dataclass(frozen=True)
class HealthChange:
    """One source's state before and after a run, with the reasons of the new state."""

    source: str
    before: str
    after: str
    reasons: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> bool:
        return self.after == OK


def changes_in_run(session: Session, run: CrawlRun) -> list[HealthChange]:
    """The sources whose health changed in ``run`` (against each one's previous recorded state)."""
    changes = []
    for source, entry in sorted((run.health or {}).items()):
        if not isinstance(entry, dict):
            continue
        after = str(entry.get("health") or OK)
        previous = crawlruns.previous_health(session, source, before_run_id=run.id)
        before = str((previous or {}).get("health") or OK)
        if after != before:
            changes.append(HealthChange(source, before, after, list(entry.get("reasons") or [])))
    return changes


def _line(change: HealthChange) -> str:
    if change.recovered:
        return f"{change.source} recovered ({change.before} -> ok)"
    return f"{change.source} is {change.after} (was {change.before})"


def compose_health_notice(run: CrawlRun, changes: list[HealthChange], zone: tzinfo) -> ComposedMessage:
    """The notice for the changes of one run: subject names every source and its new state."""
    subject = "pledgewatch source health: " + "; ".join(_line(c) for c in changes)
    moment = run.finished_at or run.started_at
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    when = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    intro = f"Crawl run {run.id} ({when}) changed the health of {len(changes)} source(s)."
    text_lines = [intro, ""]
    html_parts = [f"<p>{html.escape(intro)}</p>"]
    for change in changes:
        text_lines.append(_line(change))
        text_lines.extend(f"  - {reason}" for reason in change.reasons)
        text_lines.append("")
        items = "".join(f"<li>{html.escape(reason)}</li>" for reason in change.reasons)
        html_parts.append(f"<h3>{html.escape(_line(change))}</h3>" + (f"<ul>{items}</ul>" if items else ""))
    footer = (
        "`pledgewatch status` shows every source's health; docs/crawling.md says what each reason "
        "means. You get one message when a source's health changes, not one per crawl ([health] in "
        "the configuration)."
    )
    text_lines.append(footer)
    html_parts.append(f"<p><small>{html.escape(footer)}</small></p>")
    return ComposedMessage(subject=subject, text="\n".join(text_lines), html="\n".join(html_parts))
