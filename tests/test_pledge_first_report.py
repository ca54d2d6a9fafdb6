"""A pledge's first report is its earliest-published one, whichever article was crawled first.

The sample web's Greater Bay Area pledge was printed by China Daily on 2020-10-20 and republished
by People's Daily on 2020-10-21. A crawl may archive the copy first. The pledge is still alerted
once, when it first appears in the archive, and the alert, the Atom feed, the digest and the
listings all name China Daily's original; an original found after the alert went out is no second
alert. Real SMTP server, SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import pytest
from helpers_daemon import SmtpSink, subjects, text_part
from helpers_pledges import sample_record
from sqlalchemy import select

from pledgewatch.config import Config, EmailConfig
from pledgewatch.ingest import ingest
from pledgewatch.notify.digest import build_digest
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.notify.feed import render_pledges_feed
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.sampleweb import load_manifest
from pledgewatch.store.listing import list_pledges, pledge_to_dict
from pledgewatch.store.models import Article, Pledge

ORIGINAL = "https://www.chinadaily.com.cn/a/202010/20/WS5f8e27542b2cf1577abe2fb6.html"
COPY = "https://en.people.cn/n3/2020/1021/c90778-9771296.html"
SUBJECT = "New pledge: JD.com to invest RMB 10 bn in Guangdong, Hong Kong, Macao over 5 years"


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def dispatcher(sessions, port: int) -> Dispatcher:
    email = EmailConfig(host="127.0.0.1", port=port, recipients=["analyst@example.org"], timeout=5.0)
    return Dispatcher(Config(email=email), sessions, alert_max_age_days=0)


def ingest_url(sessions, url: str, snapshot: str = "first") -> None:
    """One sample-web article (as of ``snapshot``) through the crawl pipeline's ingest step."""
    (article,) = [a for a in load_manifest()["articles"] if a["url"] == url]
    record = sample_record(article, snapshot)
    with sessions() as session:
        ingest(session, record, Watchlist(Config().watchlist))


def gba_pledge(session) -> Pledge:
    (pledge,) = session.scalars(select(Pledge).where(Pledge.region.like("Guangdong%"))).all()
    return pledge


def feed_entry(session, pledge_id: int):
    feed = feedparser.parse(render_pledges_feed(list_pledges(session)))
    (entry,) = [e for e in feed.entries if e.id == f"urn:pledgewatch:pledge:{pledge_id}"]
    return entry


def test_copy_crawled_before_the_original_alerts_once_linking_the_original(sessions, smtp):
    ingest_url(sessions, COPY)
    ingest_url(sessions, ORIGINAL)
    report = dispatcher(sessions, smtp.port).send_alerts()

    assert subjects(smtp.messages) == [SUBJECT] and len(report.sent) == 1
    body = text_part(smtp.messages[0])
    assert f"Link:        {ORIGINAL}" in body, body
    assert "Published:   2020-10-20" in body
    # The copy is only listed as another report, never as the one the alert names.
    assert body.count(COPY) == 1 and f"2020-10-21: {COPY}" in body, body
    with sessions() as session:
        pledge = gba_pledge(session)
        # The copy brought the pledge into the archive; the original is its first report.
        assert sorted((m.article.canonical_url, m.is_new) for m in pledge.mentions) == [
            (COPY, True),
            (ORIGINAL, False),
        ]
        assert pledge_to_dict(pledge)["first_report"]["url"] == ORIGINAL
        entry = feed_entry(session, pledge.id)
        assert entry.link == ORIGINAL and entry.published.startswith("2020-10-19T23:55")
        reports = entry.content[0].value
        assert reports.index("China Daily, 2020-10-19 (first report)") < reports.index("(re-report)")
        # The digest's new pledge is the original too, and the copy points to it.
        ids = [m.article_id for m in pledge.mentions]
        digest = build_digest(session, ids, Watchlist(Config().watchlist))
        (new,) = digest.new_pledges
        assert new.url == ORIGINAL and new.line.status == "new"
        # One story (the copy is a syndicated duplicate): shown under the original, the copy
        # listed as also reported.
        (entry,) = [e for g in digest.groups for e in g.entries]
        assert entry.url == ORIGINAL and [a.url for a in entry.also] == [COPY]
        assert [(m.status, m.note) for m in entry.mentions] == [("new", "")]


def test_an_earlier_report_found_after_the_alert_is_no_second_alert(sessions, smtp):
    ingest_url(sessions, COPY)
    sender = dispatcher(sessions, smtp.port)
    sender.send_alerts()
    assert subjects(smtp.messages) == [SUBJECT]
    assert f"Link:        {COPY}" in text_part(smtp.messages[0])  # the only report known then

    ingest_url(sessions, ORIGINAL)
    assert sender.send_alerts().created == [] and len(smtp.messages) == 1
    with sessions() as session:
        pledge = gba_pledge(session)
        new = [m.article.canonical_url for m in pledge.mentions if m.is_new]
        assert new == [COPY]  # the pledge is not "new" again
        assert pledge_to_dict(pledge)["first_report"]["url"] == ORIGINAL
        assert feed_entry(session, pledge.id).link == ORIGINAL
        # The digest carrying the original calls it a known pledge's earliest report.
        original = session.scalar(select(Article.id).where(Article.canonical_url == ORIGINAL))
        digest = build_digest(session, [original], Watchlist(Config().watchlist))
        assert digest.new_pledges == []
        (entry,) = [e for g in digest.groups for e in g.entries]
        assert [(m.status, m.note) for m in entry.mentions] == [
            ("re-report", "the earliest report of this known pledge")
        ]


SHAANXI = "https://jdcorporateblog.com/jd-pledges-to-help-sell-rmb-10-billion-of-farm-produce-from-shaanxi/"
LONG_AGO = datetime(2021, 1, 1, tzinfo=UTC)


@pytest.mark.slow
def test_feed_updated_changes_only_when_the_entry_does(sessions):
    """A later crawl moves <updated> of the pledges it reports again, revises or withdraws only."""
    first = [
        a["url"]
        for a in sorted(load_manifest()["articles"], key=lambda a: a["published"])
        if "first" in a["snapshots"] and a.get("text") and a["url"] != ORIGINAL
    ]
    for url in first:
        ingest_url(sessions, url)
    with sessions() as session:  # as if the first crawl had been long ago
        for pledge in session.scalars(select(Pledge)):
            pledge.updated_at = LONG_AGO
        session.commit()
        before = {p.id: p for p in session.scalars(select(Pledge))}
        changed = {gba_pledge(session).id}
        changed |= {
            m.pledge_id for p in before.values() for m in p.mentions if m.article.canonical_url == SHAANXI
        }
    assert len(changed) == 2

    # The later crawl: China Daily's original of a known pledge, and the edited Shaanxi article.
    ingest_url(sessions, ORIGINAL)
    ingest_url(sessions, SHAANXI, "later")

    with sessions() as session:
        feed = feedparser.parse(render_pledges_feed(list_pledges(session, include_withdrawn=True)))
        updated = {int(e.id.rsplit(":", 1)[1]): e.updated for e in feed.entries}
    stamp = LONG_AGO.isoformat(timespec="seconds")
    assert {i for i in before if updated[i] != stamp} == changed, updated
