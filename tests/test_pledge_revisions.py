"""Edited articles and old news through the alert path, with a real SMTP server.

The sample web's Shaanxi article is corrected in the later snapshot (RMB 10 bn -> 12 bn, with an
editor's note quoting the old figure). An analyst who got the first alert must get exactly one
"Revised pledge" alert, and nothing for the note. An edit that drops a pledge keeps it as history
and never leaves an alert owed forever; old news (a first crawl, a backfill) is not mailed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import helpers_pledges
import pytest
from helpers_daemon import SmtpSink, free_port, html_part, seed_archive, subjects, text_part
from sqlalchemy import func, select

from pledgewatch.config import Config, EmailConfig
from pledgewatch.ingest import ingest
from pledgewatch.notify.digest import build_digest
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.notify.feed import render_pledges_feed
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.store import db
from pledgewatch.store import deliveries as store
from pledgewatch.store.listing import list_pledges, pledge_to_dict
from pledgewatch.store.models import Article, Pledge, PledgeMention
from pledgewatch.store.queries import archive_status

SHAANXI_URL = (
    "https://jdcorporateblog.com/jd-pledges-to-help-sell-rmb-10-billion-of-farm-produce-from-shaanxi/"
)
HUBEI_URL = "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/"


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def config(port: int, **email) -> Config:
    settings = {"host": "127.0.0.1", "port": port, "recipients": ["analyst@example.org"], "timeout": 5.0}
    return Config(email=EmailConfig(**{**settings, **email}))


def ingest_snapshot(sessions, snapshot: str) -> None:
    """The sample web's articles of one snapshot through the crawl pipeline's ingest step."""
    with sessions() as session:
        helpers_pledges.ingest_snapshot(session, snapshot)


@pytest.mark.slow
def test_a_corrected_amount_alerts_once_as_a_revision_and_the_note_is_no_pledge(sessions, smtp):
    ingest_snapshot(sessions, "first")
    dispatcher = Dispatcher(config(smtp.port, alert_max_age_days=0), sessions)
    dispatcher.send_alerts()
    first = subjects(smtp.messages)
    assert any(s.startswith("New pledge") and "Shaanxi" in s and "RMB 10 bn" in s for s in first), first

    ingest_snapshot(sessions, "later")
    report = dispatcher.send_alerts()
    later = subjects(smtp.messages)[len(first) :]
    revised = [s for s in later if s.startswith("Revised pledge")]
    assert len(revised) == 1 and "Shaanxi" in revised[0] and "RMB 12 bn" in revised[0], later
    # The alert says what the amount was before: a revision means nothing without it.
    revised_text = text_part(next(m for m in smtp.messages if m["Subject"].startswith("Revised pledge")))
    assert "Previously:  RMB 10 bn" in revised_text, revised_text
    # The editor's note ("An earlier version gave the amount ... as RMB 10 billion") is no pledge.
    assert not any("10 bn" in s for s in later), later
    # Besides: the paragraph the edit added (farmer training) and the later snapshot's new
    # article (100,000 small businesses) are new pledges; nothing else goes out.
    new = sorted(s for s in later if s.startswith("New pledge"))
    assert len(new) == 2 and "100,000" in new[0] and "10,000" in new[1], later
    assert len(later) == 3 and not report.failed
    assert dispatcher.send_alerts().sent == []

    with sessions() as session:
        mentions = session.scalars(
            select(PledgeMention)
            .join(PledgeMention.pledge)
            .join(PledgeMention.article)
            .where(Article.canonical_url == SHAANXI_URL, Pledge.kind != "train")
            .order_by(PledgeMention.id)
        ).all()
        # The original statement is kept as history, with the amount it printed.
        assert [(m.amount_value, m.is_revision, m.withdrawn_at is not None) for m in mentions] == [
            (1e10, False, True),
            (1.2e10, True, False),
        ]
        listed = pledge_to_dict(mentions[0].pledge)
        assert listed["amount_value"] == 1.2e10 and listed["revision"] == 1
        assert [m["amount_value"] for m in listed["mentions"]] == [1.2e10]
        assert [m["amount_value"] for m in listed["withdrawn_mentions"]] == [1e10]
        # A feed reader sees the corrected statement as the report, and the withdrawn one not at all.
        feed = feedparser.parse(render_pledges_feed(list_pledges(session)))
        entry_pledge = mentions[0].pledge_id
        (entry,) = [e for e in feed.entries if e.id == f"urn:pledgewatch:pledge:{entry_pledge}"]
        assert "RMB 12 billion" in entry.summary and "10 billion" not in entry.summary
        assert entry.content[0].value.count("<li>") == 1
        # The digest that carries the edited article shows its current statement only.
        digest = build_digest(session, [mentions[0].article_id], Watchlist(Config().watchlist))
        (shown,) = [e for group in digest.groups for e in group.entries]
        assert [
            (m.status, "12 billion" in m.sentence) for m in shown.mentions if m.pledge_id == entry_pledge
        ] == [("revised", True)]


def test_an_edit_dropping_the_pledge_keeps_it_and_its_pending_alert_is_not_owed_forever(sessions):
    watchlist = Watchlist(Config().watchlist)
    now = datetime.now(UTC)
    pledge_text = "JD.com will invest RMB 6 billion in Hubei over the next three years. More follows."
    with sessions() as session:
        ingest(session, ArticleRecord(HUBEI_URL, "jd", "Hubei", pledge_text, published=now), watchlist)
    port = free_port()  # the SMTP server is down: the alert is recorded and stays pending
    dispatcher = Dispatcher(config(port), sessions)
    assert len(dispatcher.send_alerts().failed) == 1
    # The publisher then edits the article and the pledge sentence is gone.
    with sessions() as session:
        edited = ArticleRecord(
            HUBEI_URL, "jd", "Hubei", "JD.com has not said more about Hubei yet.", published=now
        )
        assert ingest(session, edited, watchlist).status == "updated"

    sink = SmtpSink(port).start()
    try:
        report = dispatcher.send_alerts()
        again = dispatcher.send_alerts()
    finally:
        sink.stop()
    with sessions() as session:
        # The pledge and its mention stay, as history.
        assert session.scalar(select(func.count()).select_from(Pledge)) == 1
        (mention,) = session.scalars(select(PledgeMention)).all()
        assert mention.withdrawn_at is not None
        assert list_pledges(session) == []
        # The alert is closed (nothing to say any more), not owed and retried forever.
        (state,) = store.deliveries_state(session, store.ALERT)
        assert state.status == store.SKIPPED and "no longer states" in (state.last_error or "")
        assert state.attempts == 2  # not retried after it was closed
        assert archive_status(session).pending_deliveries == 0
    assert sink.messages == [] and len(report.skipped) == 1 and again.skipped == again.failed == []


def test_a_pending_alert_whose_mention_vanished_is_skipped(sessions):
    with sessions() as session:
        seeded = seed_archive(session)
        session.commit()
        hubei_id = seeded.hubei_mention.id
    port = free_port()
    dispatcher = Dispatcher(config(port, alert_max_age_days=0), sessions)
    down = dispatcher.send_alerts()  # one alert tried, the other left pending untried
    assert len(down.failed) + len(down.deferred) == 2
    with sessions() as session:  # e.g. its article was deleted from the archive
        session.delete(session.get(PledgeMention, hubei_id))
        session.commit()
    sink = SmtpSink(port).start()
    try:
        report = dispatcher.send_alerts()
    finally:
        sink.stop()
    with sessions() as session:
        statuses = sorted(s.status for s in store.deliveries_state(session, store.ALERT))
        assert statuses == [store.SENT, store.SKIPPED]
        assert archive_status(session).pending_deliveries == 0
    assert len(report.sent) == 1 and len(report.skipped) == 1


def test_old_pledges_are_not_alerted_by_default_and_not_re_read(sessions, smtp):
    with sessions() as session:
        seed_archive(session)  # 2016-2020 news
        session.commit()
    assert EmailConfig().alert_max_age_days == 30
    dispatcher = Dispatcher(config(smtp.port), sessions)
    report = dispatcher.send_alerts()
    assert smtp.messages == [] and report.sent == [] and report.skipped_old > 0
    with sessions() as session:
        (state,) = store.deliveries_state(session, store.ALERT)
        assert state.status == store.SKIPPED and len(state.items) == report.skipped_old
        # Recorded: the next cycle does not read them again.
        assert store.alert_candidates(session) == []
        assert archive_status(session).pending_deliveries == 0
    # A pledge published this week still alerts.
    recent = datetime.now(UTC) - timedelta(days=2)
    text = "JD.com will invest RMB 2 billion in Guizhou over the next two years."
    url = "https://jdcorporateblog.com/jd-to-invest-rmb-2-billion-in-guizhou/"
    with sessions() as session:
        ingest(
            session,
            ArticleRecord(url, "jd", "Guizhou", text, published=recent),
            Watchlist(Config().watchlist),
        )
    dispatcher.send_alerts()
    assert [s for s in subjects(smtp.messages)] == [
        "New pledge: JD.com to invest RMB 2 bn in Guizhou over 2 years"
    ]


def test_no_age_limit_alerts_old_pledges(sessions, smtp):
    with sessions() as session:
        seed_archive(session)
        session.commit()
    Dispatcher(config(smtp.port, alert_max_age_days=0), sessions).send_alerts()
    assert len(smtp.messages) == 2


@pytest.mark.parametrize(
    "note",
    [
        "An earlier version gave the amount of produce JD pledged to help sell as RMB 10 billion.",
        "Correction: An earlier version of this article said JD would invest RMB 5 billion in Hubei.",
        "Editor's note: JD.com will invest RMB 3 billion in Jiangsu, not RMB 2 billion as first stated.",
    ],
)
def test_editors_notes_and_corrections_are_not_pledges(note):
    from pledgewatch.pledges import extract_pledges

    assert extract_pledges(note, datetime(2021, 6, 10, tzinfo=UTC)) == []
    # The same pledge stated as such is one.
    assert extract_pledges("JD.com will invest RMB 3 billion in Jiangsu.", datetime(2021, 6, 10, tzinfo=UTC))


@pytest.mark.slow
def test_demo_export_and_pledges_list_share_one_json_shape(sqlite_url, tmp_path):
    import json

    from conftest import run_cli

    from pledgewatch.store.exports import all_pledges

    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        seed_archive(session)
        session.commit()
        exported = all_pledges(session)
    engine.dispose()
    listed = run_cli("--db", sqlite_url, "pledges", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == exported
    assert {"id", "first_report", "mentions", "withdrawn_mentions"} <= set(exported[0])


@pytest.mark.slow
def test_an_edit_after_its_digest_comes_back_once_in_the_next_digest(sessions, smtp):
    """A digest-only reader learns of the corrected amount: the edited article is shown again,
    marked updated, with the revision and the pledge the edit added on top; only once."""
    ingest_snapshot(sessions, "first")
    dispatcher = Dispatcher(config(smtp.port, alert_max_age_days=0, alerts=False), sessions)
    assert dispatcher.send_digest().sent
    first = text_part(smtp.messages[-1])
    assert "RMB 10 bn in Shaanxi" in first and "[updated" not in first

    ingest_snapshot(sessions, "later")
    preview = dispatcher.preview_digest()
    report = dispatcher.send_digest()
    assert len(report.sent) == 1 and not report.failed
    message = smtp.messages[-1]
    text = text_part(message)
    assert text.split() == preview.text.split()
    assert message["Subject"].endswith("2 new pledges, 1 revised"), message["Subject"]
    top = text.split("JD CORPORATE BLOG")[0]
    assert "[revised] JD.com to help sell RMB 12 bn in Shaanxi over 3 years (was RMB 10 bn)" in top, top
    assert "[new] JD.com to train 10,000 people" in top, top
    assert "[updated 2021-06-10 16:30 UTC+0800] JD Pledges to Help Sell RMB 12 Billion" in text
    assert "Updated 2021-06-10 16:30 UTC+0800" in html_part(message)

    # Sent once: nothing owed afterwards, and a retry of that digest renders the same message.
    count = len(smtp.messages)
    assert dispatcher.send_digest().sent == [] and len(smtp.messages) == count
    with sessions() as session:
        delivery = store.get_delivery(session, report.sent[0])
        assert dispatcher.compose(session, delivery).text.split() == text.split()


@pytest.mark.slow
def test_an_article_edited_before_its_first_digest_is_not_shown_again(sessions, smtp):
    ingest_snapshot(sessions, "first")
    ingest_snapshot(sessions, "later")
    dispatcher = Dispatcher(config(smtp.port, alert_max_age_days=0, alerts=False), sessions)
    assert dispatcher.send_digest().sent
    assert "RMB 12 bn in Shaanxi" in text_part(smtp.messages[-1])
    report = dispatcher.send_digest()
    assert report.sent == [] and report.skipped_empty
