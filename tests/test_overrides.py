"""An analyst's overrides (correct, reject, merge, split) survive rescans and reach every output.

The sample web is archived with the default watch list; an analyst corrects a region, rejects a
pledge, merges two and splits a report off; a rescan (the detector reading every text again)
leaves all four as the analyst said. A rejected pledge is never alerted; a correction of a pledge
readers were alerted to shows in the next digest as corrected.
"""

from __future__ import annotations

import helpers_pledges
import pytest
from helpers_daemon import SmtpSink, subjects, text_part
from sqlalchemy import func, select

from pledgewatch.config import Config, EmailConfig
from pledgewatch.errors import UsageError
from pledgewatch.ingest import rescan
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.notify.feed import render_pledges_feed
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.store import overrides
from pledgewatch.store.deliveries import pledges_for_feed
from pledgewatch.store.listing import PledgeFilter, list_pledges, pledge_to_dict
from pledgewatch.store.models import DeliveryItem, Pledge, PledgeMention


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def mail_config(port: int, **email) -> Config:
    settings = {"host": "127.0.0.1", "port": port, "recipients": ["analyst@example.org"], "timeout": 5.0}
    return Config(email=EmailConfig(**{**settings, **email}))


def _find(session, actor: str, kind: str, region: str | None = None, amount: float | None = None) -> Pledge:
    for pledge in list_pledges(session, PledgeFilter(actor=actor, kind=kind)):
        if (region is None or pledge.region == region) and (amount is None or pledge.amount_value == amount):
            return pledge
    raise AssertionError(f"no {actor} {kind} {region} {amount} pledge in the sample web")


def _listed(session) -> dict[int, dict]:
    return {p["id"]: p for p in (pledge_to_dict(x) for x in list_pledges(session))}


def test_overrides_hold_through_a_rescan(sessions):
    with sessions() as session:
        helpers_pledges.ingest_snapshot(session, "first")
        session.commit()
    with sessions() as session:
        guizhou = _find(session, "JD.com", "jobs", "Guizhou").id
        not_a_pledge = _find(session, "JD.com", "other", amount=200.0).id
        shaanxi_a = _find(session, "JD.com", "build", "Shaanxi").id
        shaanxi_b = _find(session, "JD.com", "other", "Shaanxi").id
        hubei = _find(session, "JD.com", "invest", "Hubei")
        hubei_id, second_report = hubei.id, sorted(m.id for m in hubei.mentions)[1]
        northeast = _find(session, "JD.com", "invest", "Heilongjiang, Jilin, Liaoning")
        northeast_id, wrong_report = northeast.id, sorted(m.id for m in northeast.mentions)[1]
        overrides.correct(session, guizhou, {"region": "Guangxi"}, by="ana")
        overrides.reject_mention(session, wrong_report, "says what was done, not a pledge", by="ana")
        overrides.reject_pledge(session, not_a_pledge, "a past figure, not a pledge", by="ana")
        overrides.merge(session, shaanxi_b, shaanxi_a, by="ana")
        split_to = overrides.split(session, second_report, by="ana").other_pledge_id
        session.commit()

    def check(session) -> None:
        listed = _listed(session)
        assert listed[guizhou]["region"] == "Guangxi" and listed[guizhou]["corrected"]
        assert listed[guizhou]["machine"] == {"region": "Guizhou"}
        assert listed[guizhou]["overrides"][0]["by"] == "ana"
        assert "region Guizhou -> Guangxi" in listed[guizhou]["overrides"][0]["summary"]
        assert not_a_pledge not in listed and shaanxi_a not in listed
        assert len(listed[shaanxi_b]["mentions"]) == 2
        assert [m["id"] for m in listed[split_to]["mentions"]] == [second_report]
        assert second_report not in [m["id"] for m in listed[hubei_id]["mentions"]]
        assert wrong_report not in [m["id"] for m in listed[northeast_id]["mentions"]]
        assert [m["id"] for m in listed[northeast_id]["rejected_mentions"]] == [wrong_report]
        # The filters match what the analyst says: Guangxi finds it, Guizhou does not.
        assert guizhou in [p.id for p in list_pledges(session, PledgeFilter(regions=("Guangxi",)))]
        assert guizhou not in [p.id for p in list_pledges(session, PledgeFilter(regions=("Guizhou",)))]
        rejected = list_pledges(session, include_rejected=True)
        assert not_a_pledge in [p.id for p in rejected]
        assert pledge_to_dict(session.get(Pledge, not_a_pledge))["rejected"] == "a past figure, not a pledge"

    with sessions() as session:
        check(session)
        mentions = session.scalar(select(func.count()).select_from(PledgeMention))
    with sessions() as session:
        report = rescan(session, Watchlist(Config().watchlist))
        assert (report.pledges_new, report.mentions_withdrawn) == (0, 0)
    with sessions() as session:
        check(session)
        assert session.scalar(select(func.count()).select_from(PledgeMention)) == mentions
        feed = render_pledges_feed(pledges_for_feed(session, 200))
        assert f"urn:pledgewatch:pledge:{not_a_pledge}<" not in feed
        assert f"urn:pledgewatch:pledge:{shaanxi_a}<" not in feed
        assert "in Guangxi" in feed and "corrected region Guizhou -&amp;gt; Guangxi (by ana" in feed


def test_a_rejected_pledge_is_never_alerted_and_a_correction_reaches_the_digest(sessions, smtp):
    with sessions() as session:
        helpers_pledges.ingest_snapshot(session, "first")
        session.commit()
        rejected = _find(session, "JD.com", "other", amount=200.0)
        rejected_id, rejected_mention = rejected.id, rejected.mentions[0].id
        overrides.reject_pledge(session, rejected_id, "not a pledge", by="ana")
        # Corrected before its alert: the alert says what the analyst says.
        overrides.correct(
            session, _find(session, "JD.com", "train", "Sichuan").id, {"region": "Chengdu"}, by="ana"
        )
        session.commit()
    Dispatcher(mail_config(smtp.port, alert_max_age_days=0), sessions).send_alerts()
    alerted = subjects(smtp.messages)
    assert alerted and not any("200" in subject and "JD.com" in subject for subject in alerted)
    assert any("in Chengdu" in subject for subject in alerted)
    assert not any("in Sichuan" in subject and "train" in subject for subject in alerted)
    with sessions() as session:
        carried = session.scalar(
            select(func.count())
            .select_from(DeliveryItem)
            .where(DeliveryItem.item_type == "pledge_mention", DeliveryItem.item_id == rejected_mention)
        )
        assert carried == 0
    # A rescan, then alerts again: still nothing for the rejected pledge, nothing repeated.
    with sessions() as session:
        rescan(session, Watchlist(Config().watchlist))
    Dispatcher(mail_config(smtp.port, alert_max_age_days=0), sessions).send_alerts()
    assert subjects(smtp.messages) == alerted

    # A correction after the alert: the next digest says so.
    with sessions() as session:
        guizhou = _find(session, "JD.com", "jobs", "Guizhou").id
        overrides.correct(session, guizhou, {"region": "Guangxi"}, by="ana")
        session.commit()
    dispatcher = Dispatcher(mail_config(smtp.port, alert_max_age_days=0), sessions)
    dispatcher.send_digest()
    digest = smtp.messages[-1]
    assert "corrected" in digest["Subject"]
    body = text_part(digest)
    assert "CORRECTED BY AN ANALYST" in body and "region Guizhou -> Guangxi (by ana" in body
    # Once: the digest after it has nothing to correct.
    dispatcher.send_digest()
    assert sum("corrected" in s for s in subjects(smtp.messages)) == 1


def test_bad_overrides_are_one_line_errors(sessions):
    with sessions() as session:
        helpers_pledges.ingest_snapshot(session, "first")
        session.commit()
        single = _find(session, "JD.com", "jobs", "Guizhou")
        with pytest.raises(UsageError, match="no pledge 99999"):
            overrides.correct(session, 99999, {"region": "Hubei"}, by="ana")
        with pytest.raises(UsageError, match="only report"):
            overrides.split(session, single.mentions[0].id, by="ana")
        with pytest.raises(UsageError, match="two different"):
            overrides.merge(session, single.id, single.id, by="ana")
