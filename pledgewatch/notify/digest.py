"""The digest: every relevant article not yet sent, on the digest's schedule, as one message.

A reader skims a digest top-down, so it opens with a one-screen summary (notify/summary.py: the
new pledges as a table with US-dollar estimates, then totals per watched company), then the new
(and revised) pledges in their own words, then the
articles grouped by outlet, newest first. A story carried by several outlets (same ``story_id``:
syndication, reprints) appears once, under its first publisher, with "also reported by" the
others, and every pledge it mentions is marked new, revised or re-reported (with the first report).
An article a previous digest carried comes back once when the publisher edits it (marked
"updated"), so a corrected amount reaches readers who only read digests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy.orm import Session

from pledgewatch.notify.alerts import Footer, outlet_name, previous_amount
from pledgewatch.notify.rendering import (
    AlsoReported,
    ComposedMessage,
    format_date,
    format_time,
    pledge_headline,
    render,
)
from pledgewatch.notify.summary import DigestSummary, build_summary
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.store import deliveries as store
from pledgewatch.store.models import Article, Pledge, PledgeMention, utcnow
from pledgewatch.store.overrides import describe, effective_pledge

EXCERPT_CHARS = 280


@dataclass
class MentionLine:
    """One pledge as a digest entry shows it."""

    pledge_id: int
    headline: str
    sentence: str
    status: str  # new | revised | re-report
    note: str
    watched: bool


@dataclass
class DigestEntry:
    article_id: int
    title: str
    url: str
    # The publisher groups the digest; ``outlet`` adds the outlet printed on the page if it differs.
    publisher: str
    outlet: str
    published: str
    published_at: datetime | None
    authors: str
    excerpt: str
    # When the article is here because it was edited after an earlier digest carried it.
    updated: str = ""
    also: list[AlsoReported] = field(default_factory=list)
    mentions: list[MentionLine] = field(default_factory=list)


@dataclass
class OutletGroup:
    name: str
    entries: list[DigestEntry]


@dataclass
class NewPledge:
    line: MentionLine
    title: str
    url: str
    outlet: str
    published: str


@dataclass
class Correction:
    """An analyst's override of a pledge readers were alerted to: what the digest says of it."""

    pledge_id: int
    headline: str
    summary: str


@dataclass
class Digest:
    """What one digest carries: ``article_ids`` (the edited ones among them in ``updated_ids``)."""

    article_ids: list[int]
    new_pledges: list[NewPledge]
    groups: list[OutletGroup]
    generated: str
    updated_ids: list[int] = field(default_factory=list)
    # The watch-list companies the digest's articles mention (its footer says why it is sent).
    watched: list[str] = field(default_factory=list)
    # The one-screen summary on top: new pledges as a table, totals per watched company.
    summary: DigestSummary | None = None
    # Pledges already alerted that an analyst corrected, rejected, merged or split since.
    corrections: list[Correction] = field(default_factory=list)

    @property
    def story_count(self) -> int:
        return sum(len(group.entries) for group in self.groups)

    @property
    def is_empty(self) -> bool:
        return not self.article_ids and not self.corrections

    @property
    def subject(self) -> str:
        if self.is_empty:
            return f"pledgewatch digest {self.generated[:10]}: nothing new"
        stories = self.story_count
        revised = sum(1 for item in self.new_pledges if item.line.status == "revised")
        pledges = len(self.new_pledges) - revised
        subject = (
            f"pledgewatch digest {self.generated[:10]}: {stories} "
            f"{'story' if stories == 1 else 'stories'}, {pledges} new "
            f"{'pledge' if pledges == 1 else 'pledges'}"
        )
        if revised:
            subject += f", {revised} revised"
        if self.corrections:
            subject += f", {len(self.corrections)} corrected"
        return subject


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    if len(text) <= EXCERPT_CHARS:
        return text
    cut = text[:EXCERPT_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"


_STATUS_RANK = {"new": 0, "revised": 1, "re-report": 2}


def build_digest(
    session: Session,
    article_ids: list[int],
    watchlist: Watchlist,
    zone: tzinfo | None = None,
    now: datetime | None = None,
    updated_ids: frozenset[int] | set[int] = frozenset(),
    override_ids: list[int] | tuple[int, ...] = (),
) -> Digest:
    """Assemble the digest of the given articles (the items of one digest delivery).

    ``updated_ids`` are articles shown again because they were edited since an earlier digest;
    ``override_ids`` the analyst's overrides of alerted pledges (shown as "corrected").
    """
    articles = store.articles_by_ids(session, article_ids)
    generated = format_time(now or utcnow(), zone)
    mentions = store.mentions_of_articles(session, [a.id for a in articles])
    first = store.first_mentions(session, [m.pledge_id for m in mentions])
    # An updated article's pledges count as news only if the edit brought them.
    digested_at = store.first_digested_at(session, [a.id for a in articles if a.id in updated_ids])
    siblings = store.story_articles(session, [a.story_id for a in articles if a.story_id is not None])

    by_article: dict[int, list[PledgeMention]] = {}
    for mention in mentions:
        assert mention.article_id is not None
        by_article.setdefault(mention.article_id, []).append(mention)

    # A pledge is new in this digest when the mention that brought it into the archive is here.
    # Its "new" line is its first report (earliest published) when that is here too, whichever
    # was crawled first: the alert, the feed and this digest name the same report.
    shown_ids = {m.id for m in mentions}
    new_line: dict[int, int] = {}
    for mention in mentions:
        if mention.is_new:
            origin = first.get(mention.pledge_id)
            here = origin is not None and origin.id in shown_ids
            new_line[mention.pledge_id] = origin.id if here and origin is not None else mention.id

    def line(mention: PledgeMention) -> MentionLine:
        if new_line.get(mention.pledge_id) == mention.id:
            status = "new"
        elif mention.is_revision:
            status = "revised"
        else:
            status = "re-report"
        note = ""
        origin = first.get(mention.pledge_id)
        if status == "re-report" and origin is not None and origin.id != mention.id:
            where = outlet_name(origin.article) if origin.article is not None else "another report"
            note = f"first reported {format_date(origin.published_at, zone)} by {where}"
        elif status == "re-report" and origin is not None:
            # Found after a later report of the pledge (a syndicated copy crawled first).
            note = "the earliest report of this known pledge"
        elif status == "revised":
            previous = previous_amount(mention)
            note = f"was {previous}" if previous else "amount revised"
        return MentionLine(
            pledge_id=mention.pledge_id,
            headline=pledge_headline(effective_pledge(mention.pledge)),
            sentence=mention.sentence,
            status=status,
            note=note,
            watched=bool(watchlist.match(mention.pledge.actor)),
        )

    # One entry per story: its earliest article in this digest stands for the others.
    stories: dict[object, list[Article]] = {}
    for article in articles:
        key: object = ("story", article.story_id) if article.story_id is not None else ("article", article.id)
        stories.setdefault(key, []).append(article)

    def published_key(article: Article) -> tuple[int, float, int]:
        stamp = article.published_at
        return (0 if stamp is not None else 1, stamp.timestamp() if stamp else 0.0, article.id)

    entries: list[DigestEntry] = []
    new_pledges: dict[int, tuple[int, NewPledge]] = {}
    for members in stories.values():
        members.sort(key=published_key)
        primary = members[0]
        entry = DigestEntry(
            article_id=primary.id,
            title=primary.title or "(untitled)",
            url=primary.canonical_url,
            publisher=primary.source.title if primary.source is not None else outlet_name(primary),
            outlet=outlet_name(primary),
            published=format_time(primary.published_at, zone),
            published_at=primary.published_at,
            authors=", ".join(primary.authors or []),
            excerpt=_excerpt(primary.text),
            updated=format_time(primary.modified_at or primary.updated_at, zone)
            if primary.id in updated_ids
            else "",
        )
        story_members = siblings.get(primary.story_id, []) if primary.story_id is not None else []
        for other in sorted({a.id: a for a in [*members[1:], *story_members]}.values(), key=published_key):
            if other.id == primary.id:
                continue
            entry.also.append(
                AlsoReported(
                    outlet=outlet_name(other),
                    url=other.canonical_url,
                    date=format_date(other.published_at, zone),
                )
            )
        lines: dict[int, MentionLine] = {}
        for member in members:
            for mention in by_article.get(member.id, []):
                candidate = line(mention)
                known = lines.get(candidate.pledge_id)
                if known is None or _STATUS_RANK[candidate.status] < _STATUS_RANK[known.status]:
                    lines[candidate.pledge_id] = candidate
                before = digested_at.get(member.id)
                if candidate.status in {"new", "revised"} and (before is None or mention.created_at > before):
                    rank = 0 if candidate.watched else 1
                    if candidate.pledge_id not in new_pledges:
                        new_pledges[candidate.pledge_id] = (
                            rank,
                            NewPledge(
                                line=candidate,
                                title=member.title or "(untitled)",
                                url=member.canonical_url,
                                outlet=outlet_name(member),
                                published=format_time(member.published_at, zone),
                            ),
                        )
        entry.mentions = sorted(lines.values(), key=lambda m: (_STATUS_RANK[m.status], m.pledge_id))
        entries.append(entry)

    # Outlets ordered by their newest story; stories newest first within an outlet.
    entries.sort(key=_entry_key, reverse=True)
    groups: dict[str, list[DigestEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.publisher, []).append(entry)
    ordered_new = [item for _, item in sorted(new_pledges.values(), key=lambda pair: pair[0])]
    mentioned = {name for a in articles for name in a.entities or []}
    corrections = []
    for row in store.overrides_by_ids(session, override_ids):
        pledge = session.get(Pledge, row.pledge_id) if row.pledge_id is not None else None
        corrections.append(
            Correction(
                pledge_id=row.pledge_id or 0,
                headline=pledge_headline(effective_pledge(pledge)) if pledge is not None else "",
                summary=describe(row),
            )
        )
    return Digest(
        corrections=corrections,
        article_ids=[a.id for a in articles],
        updated_ids=[a.id for a in articles if a.id in updated_ids],
        new_pledges=ordered_new,
        groups=[OutletGroup(name=name, entries=items) for name, items in groups.items()],
        generated=generated,
        watched=[name for name in watchlist.names if name in mentioned],
        summary=build_summary(
            session,
            [(i.line.pledge_id, i.line.status, i.url, i.title, i.outlet) for i in ordered_new],
            watchlist,
        )
        if articles
        else None,
    )


def _entry_key(entry: DigestEntry) -> tuple[int, float, int]:
    stamp = entry.published_at
    return (1 if stamp is not None else 0, stamp.timestamp() if stamp else 0.0, entry.article_id)


def render_digest(digest: Digest, footer: Footer | None = None) -> ComposedMessage:
    """Subject, text and HTML of a digest; ``footer`` says why it is sent and how to stop it."""
    context = {
        "subject": digest.subject,
        "digest": digest,
        "generated": digest.generated,
        "footer": footer,
    }
    return ComposedMessage(
        subject=digest.subject,
        text=render("digest.txt.j2", **context),
        html=render("digest.html.j2", **context),
    )
