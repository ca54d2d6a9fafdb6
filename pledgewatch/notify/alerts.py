"""New-pledge alerts: one message per new (or revised) pledge of a watch-list company.

An alert is what an analyst acts on at once, so its subject says the whole pledge ("New pledge:
JD.com to invest RMB 6 bn in Hubei over 3 years") and its body carries the sentence it comes from,
the extracted fields (to check the machine's reading against the sentence) and where it was printed.
A re-report of a known pledge is never an alert: it shows up in the digest, marked as such.

An alert is owed once, for the mention that brought the pledge into the archive (``is_new``), but
it names the pledge's first report known when it is sent (the earliest-published report, see
:func:`pledgewatch.store.reports.first_report`): a crawl that finds People's Daily's syndicated copy
before China Daily's original still links the original, as the feed and the digest do. Below it,
"Also reported by" lists the pledge's other current reports known at sending time (outlet, date,
link; at most :data:`ALSO_REPORTED_LIMIT`, then "and N more"), so an analyst sees at a glance how
widely the pledge is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Literal

from pledgewatch.notify.rendering import (
    AlsoReported,
    ComposedMessage,
    format_amount,
    format_date,
    format_time,
    pledge_headline,
    render,
)
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.store.listing import why_line
from pledgewatch.store.models import Article, Pledge, PledgeMention
from pledgewatch.store.overrides import effective_pledge
from pledgewatch.store.reports import first_report, other_reports

# How many other reports an alert lists by name; the rest are counted ("and 3 more").
ALSO_REPORTED_LIMIT = 5


@dataclass(frozen=True)
class Footer:
    """Why the reader gets a message and how to stop it, taken from the configuration.

    A message nobody remembers subscribing to gets reported as spam; one that names the watch-list
    entry behind it and the key to edit gets the configuration fixed instead.
    """

    # Where the settings live: the configuration file, or a phrase when there is none.
    config: str
    # The watch-list names behind the message (the pledge's actor; the digest's companies).
    watched: tuple[str, ...]
    # The digest's schedule expression (schedule.digest), for the digest's footer.
    digest_schedule: str = ""
    # email.alert_on: an alert for an unwatched company is sent because this is "all".
    alert_on: str = "watchlist"
    # Whether email.recipients names anyone: with nobody (the demo, a dry run), the footer must not
    # tell the reader "your address is in email.recipients".
    has_recipients: bool = True

    @property
    def address(self) -> str:
        """Why this reader has the message, as the configuration that made it says."""
        if self.has_recipients:
            return f"your address is in email.recipients, in {self.config}"
        return f"email.recipients is empty in {self.config}, so this copy is a preview that nobody is mailed"


def outlet_name(article: Article) -> str:
    """The publisher, plus the outlet printed on the page when it differs (syndication)."""
    publisher = article.source.title if article.source is not None else ""
    printed = (article.outlet or "").strip()
    if printed and printed.lower() not in publisher.lower():
        return f"{publisher} ({printed})" if publisher else printed
    return publisher or printed or "unknown outlet"


AlertOn = Literal["watchlist", "all"]


def is_alertable(mention: PledgeMention, watchlist: Watchlist, alert_on: AlertOn = "watchlist") -> bool:
    """New or revised, from an archived article, by a company on the watch list (``alert_on =
    "watchlist"``, the default) or by any company (``"all"``).

    The archive holds every company's pledges; an alert interrupts an analyst, so by default only
    the companies they watch do.
    """
    if not (mention.is_new or mention.is_revision) or mention.article_id is None:
        return False
    return alert_on == "all" or bool(watchlist.match(effective_pledge(mention.pledge).actor))


def alert_subject(mention: PledgeMention) -> str:
    label = "Revised pledge" if mention.is_revision and not mention.is_new else "New pledge"
    return f"{label}: {pledge_headline(effective_pledge(mention.pledge))}"


def pledge_fields(mention: PledgeMention, pledge: Pledge | None = None) -> list[tuple[str, str]]:
    """The extracted fields, in the order an analyst checks them against the sentence.

    ``pledge`` is the mention's pledge as readers see it (an analyst's corrections applied).
    """
    pledge = pledge if pledge is not None else effective_pledge(mention.pledge)
    amount = format_amount(pledge.amount_value, pledge.currency, pledge.amount_unit)
    if amount and pledge.qualifier:
        amount = f"{pledge.qualifier} {amount}"
    stated = format_amount(mention.amount_value, mention.currency, pledge.amount_unit)
    fields = [
        ("Actor", pledge.actor),
        ("Kind", pledge.kind),
        ("Amount", amount or "not stated"),
    ]
    if stated and stated != format_amount(pledge.amount_value, pledge.currency, pledge.amount_unit):
        fields.append(("As reported", stated))
    fields.append(("Region", pledge.region or "not stated"))
    horizon = pledge.horizon or ""
    if pledge.start_year or pledge.end_year:
        # One year is "2020", never "2020-2020".
        years = "-".join(dict.fromkeys(str(y) for y in (pledge.start_year, pledge.end_year) if y))
        horizon = f"{horizon} ({years})" if horizon else years
    fields.append(("Horizon", horizon or "not stated"))
    previous = previous_amount(mention)
    if previous:
        # What the reader was told before: a revision means nothing without the old figure.
        fields.append(("Previously", previous))
    return fields


def previous_amount(mention: PledgeMention) -> str:
    """The amount an earlier, since withdrawn report of this pledge gave, for a revision ("" else)."""
    if not mention.is_revision:
        return ""
    current = format_amount(mention.amount_value, mention.currency, mention.pledge.amount_unit)
    earlier = sorted(
        (
            m
            for m in mention.pledge.mentions
            if m.id != mention.id and m.withdrawn_at is not None and m.amount_value is not None
        ),
        key=lambda m: m.id,
        reverse=True,
    )
    for other in earlier:
        amount = format_amount(other.amount_value, other.currency, mention.pledge.amount_unit)
        if amount and amount != current:
            return amount
    return ""


def alert_report(mention: PledgeMention) -> PledgeMention:
    """The report an alert for ``mention`` names and links.

    A revision names the revised statement (it is the news). A new pledge names its first report
    known now, from an archived article: the earliest-published one, which need not be the
    mention that was crawled first.
    """
    if mention.is_revision and not mention.is_new:
        return mention
    return first_report(mention.pledge, archived=True) or mention


def also_reported(
    report: PledgeMention, zone: tzinfo | None = None, limit: int = ALSO_REPORTED_LIMIT
) -> tuple[list[AlsoReported], int]:
    """The pledge's other current reports besides ``report`` (earliest first, at most ``limit``)
    and how many more there are: "Also reported by" in an alert."""
    others = other_reports(report.pledge, report)
    shown = []
    for mention in others[:limit]:
        article = mention.article
        assert article is not None, "other_reports keeps to archived articles"
        shown.append(
            AlsoReported(
                outlet=outlet_name(article),
                date=format_date(mention.published_at or article.published_at, zone),
                url=article.canonical_url,
            )
        )
    return shown, max(0, len(others) - limit)


def compose_alert(
    mention: PledgeMention, zone: tzinfo | None = None, footer: Footer | None = None
) -> ComposedMessage:
    """Subject, text and HTML of the alert for one pledge mention (see :func:`alert_report`);
    ``footer`` says why it is sent and how to stop it."""
    report = alert_report(mention)
    article = report.article
    assert article is not None, "alerts are for mentions in archived articles"
    also, also_more = also_reported(report, zone)
    context = {
        "subject": alert_subject(mention),
        "is_revision": bool(mention.is_revision and not mention.is_new),
        "headline": pledge_headline(effective_pledge(mention.pledge)),
        "sentence": report.sentence,
        "fields": pledge_fields(report),
        "why": why_line(report.evidence),
        "title": article.title or "(untitled)",
        "outlet": outlet_name(article),
        "published": format_time(article.published_at or report.published_at, zone),
        "url": article.canonical_url,
        "authors": ", ".join(article.authors or []),
        "also": also,
        "also_more": also_more,
        "footer": footer,
    }
    return ComposedMessage(
        subject=context["subject"],
        text=render("alert.txt.j2", **context),
        html=render("alert.html.j2", **context),
    )
