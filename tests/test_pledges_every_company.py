"""Every company's pledges in every archived article; the watch list decides what is alerted.

Through the ingest a crawl uses, then the dispatcher and a real SMTP server (aiosmtpd), as the
analyst gets them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers_daemon import SmtpSink, subjects, text_part
from sqlalchemy import select

from pledgewatch.config import Config, EmailConfig, parse_config
from pledgewatch.errors import ConfigError
from pledgewatch.ingest import ingest
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.store.listing import list_pledges
from pledgewatch.store.models import Article

ALIBABA_TEXT = (
    "Alibaba will invest 10 billion yuan in rural service centres over the next three years. "
    "The centres will teach farmers to sell online."
)
JD_TEXT = "JD.com will invest 2 billion yuan in Hunan over the next five years."


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def _config(port: int, **email) -> Config:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "recipients": ["analyst@example.org"],
        "timeout": 5.0,
        "alert_max_age_days": 0,
        **email,
    }
    return Config(email=EmailConfig(**settings))


def _ingest_both(sessions) -> None:
    watchlist = Watchlist(Config().watchlist)
    published = datetime(2021, 3, 1, 2, 0, tzinfo=UTC)
    with sessions() as session:
        alibaba = ingest(
            session,
            ArticleRecord(
                url="https://www.chinadaily.com.cn/a/202103/01/alibaba-rural.html",
                source="chinadaily",
                title="Alibaba to invest in rural service centres",
                text=ALIBABA_TEXT,
                published=published,
            ),
            watchlist,
        )
        jd = ingest(
            session,
            ArticleRecord(
                url="https://www.chinadaily.com.cn/a/202103/01/jd-hunan.html",
                source="chinadaily",
                title="JD to invest in Hunan",
                text=JD_TEXT,
                published=published,
            ),
            watchlist,
        )
    # The Alibaba article names no watched company, and still its pledge is detected.
    assert alibaba.pledges_new == 1 and jd.pledges_new == 1


def test_pledges_of_an_article_without_a_watched_name_are_stored_and_listed(sessions):
    _ingest_both(sessions)
    with sessions() as session:
        relevant = dict(session.execute(select(Article.title, Article.relevant)).all())
        actors = sorted(p.actor for p in list_pledges(session))
    assert relevant["Alibaba to invest in rural service centres"] is False
    assert actors == ["Alibaba", "JD.com"]


def test_alerts_go_to_watched_companies_unless_alert_on_all(sessions, smtp):
    _ingest_both(sessions)
    Dispatcher(_config(smtp.port), sessions).send_alerts()
    assert [s for s in subjects(smtp.messages)] == [
        "New pledge: JD.com to invest RMB 2 bn in Hunan over 5 years"
    ]

    # Every company: the Alibaba pledge (no alert carried it yet) goes out now, once.
    Dispatcher(_config(smtp.port, alert_on="all"), sessions).send_alerts()
    assert len(smtp.messages) == 2
    alibaba = smtp.messages[1]
    assert str(alibaba["Subject"]).startswith("New pledge: Alibaba to invest RMB 10 bn")
    # The footer says why an unwatched company's alert came, and which key stops it.
    body = text_part(alibaba)
    assert 'email.alert_on = "all"' in body and 'email.alert_on = "watchlist"' in body


def test_alert_on_accepts_only_watchlist_or_all():
    assert parse_config({"email": {"alert_on": "all"}}).email.alert_on == "all"
    assert Config().email.alert_on == "watchlist"
    with pytest.raises(ConfigError, match=r"email\.alert_on"):
        parse_config({"email": {"alert_on": "everyone"}})


def test_an_article_saying_only_the_company_takes_its_actor_from_the_headline(sessions):
    """The crawl's ingest gives detection the article's headline and URL: "the company" of the
    text is the company the headline names, not an unresolved descriptor."""
    watchlist = Watchlist(Config().watchlist)
    with sessions() as session:
        ingest(
            session,
            ArticleRecord(
                url="https://www.chinadaily.com.cn/a/202104/02/WS6066e1f2a31024ad0bab3a1c.html",
                source="chinadaily",
                title="Pinduoduo steps up farm support",
                text="The company will invest 3 billion yuan in farm technology over the next two years.",
                published=datetime(2021, 4, 2, 2, 0, tzinfo=UTC),
            ),
            watchlist,
        )
    with sessions() as session:
        rows = list_pledges(session)
    assert [(row.actor, row.amount_value) for row in rows] == [("Pinduoduo", 3e9)]
