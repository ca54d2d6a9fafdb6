"""Pledge identity on text worded as the real press words it (issue 13), on SQLite and PostgreSQL.

Real re-reports come from other outlets, weeks later or undated, in other words, another currency
and another verb; two pledges of one company and one amount differ in purpose or year. The
sentences below are written for these tests in that style (the labelled real sets are not part
of the repository).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import event

from pledgewatch.ingest import record_report
from pledgewatch.pledges import extract_pledges
from pledgewatch.store import db
from pledgewatch.store.models import Pledge
from pledgewatch.store.pledges import link_report_candidates


@pytest.fixture
def session(db_url):
    engine = db.make_engine(db_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        yield session
    engine.dispose()


def _report(session, ref: str, text: str, published: date | None, source: str = "outlet"):
    outcomes = record_report(session, ref, text, published, source)
    session.commit()
    assert outcomes, f"no pledge detected in {text!r}"
    return outcomes[0]


def test_one_pledge_in_yuan_dollars_rmb_bn_and_pounds_by_four_outlets(session):
    first = _report(
        session,
        "a",
        "Tencent will invest 20 billion yuan in rural revitalization over the next three years.",
        date(2021, 3, 1),
    )
    dollars = _report(
        session, "b", "Tencent plans to put $3.1 billion into rural revitalization.", date(2021, 3, 20)
    )
    rmb_bn = _report(session, "c", "Tencent will spend RMB20bn on rural revitalization.", date(2021, 4, 2))
    # A British paper's figure, as the detector hands it over (pounds at 2021's rate, 8.87 yuan).
    sentence = "Tencent will set aside £2.25 billion for rural revitalization."
    pounds_candidate = replace(
        first.candidate, amount_value=2.25e9, currency="GBP", sentence=sentence, end_offset=len(sentence)
    )
    (pounds,) = link_report_candidates(session, "d", [pounds_candidate], date(2021, 4, 9), "guardian")
    assert first.is_new
    assert (dollars.pledge.id, dollars.is_new) == (first.pledge.id, False)
    assert (rmb_bn.pledge.id, rmb_bn.is_new) == (first.pledge.id, False)
    assert (pounds.pledge.id, pounds.is_new) == (first.pledge.id, False)


def test_the_same_money_under_another_verb_is_one_pledge_in_another_year_another(session):
    """A fund launched and goods to be purchased: the detector may name two kinds, the pledge is one."""
    fund = _report(
        session,
        "fund",
        "JD.com said on Friday it will launch a 200 billion yuan fund to help exporters sell their "
        "products at home over the next year.",
        date(2025, 4, 11),
    )
    purchase = _report(
        session,
        "purchase",
        "E-commerce giant JD.com has pledged to purchase at least 200 billion yuan worth of "
        "export goods over the coming year.",
        date(2025, 4, 13),
    )
    assert (purchase.pledge.id, purchase.is_new) == (fund.pledge.id, False)
    stores_2020 = _report(session, "y1", "Suning will open 3,000 stores in 2020.", date(2019, 12, 20))
    stores_2022 = _report(session, "y2", "Suning will open 3,000 stores in 2022.", date(2021, 12, 20))
    assert stores_2022.is_new and stores_2022.pledge.id != stores_2020.pledge.id


def test_undated_re_reports_link_by_purpose_and_stay_apart_from_another_purpose(session):
    """Half the real reports carry no date: the purpose words decide, the press's words do not."""
    logistics = _report(
        session,
        "l1",
        "Alibaba will invest 100 billion yuan over the next five years to build a global logistics network.",
        None,
    )
    again = _report(
        session,
        "l2",
        "The e-commerce giant Alibaba said it plans to invest 100 billion yuan in its global logistics "
        "network, its chairman told reporters on Monday.",
        None,
    )
    prosperity = _report(
        session,
        "p1",
        "E-commerce giant Alibaba will invest 100 billion yuan by 2025 to support common prosperity, "
        "its chairman told reporters on Monday.",
        None,
    )
    assert (again.pledge.id, again.is_new) == (logistics.pledge.id, False)
    # "e-commerce giant", "chairman", "told reporters", "Monday" say nothing about which pledge.
    assert prosperity.is_new and prosperity.pledge.id != logistics.pledge.id


def test_lookup_reads_only_amounts_that_could_match(session):
    """The identity lookup is narrowed in SQL: a company's pledges of other amounts are never read,
    so linking stays as fast with a long archive as with a short one."""
    for n, amount in enumerate((1, 2, 3, 5, 8, 13, 21, 34)):
        _report(session, f"other-{n}", f"JD will invest {amount} billion yuan in Anhui.", date(2021, 1, 1))
    session.expunge_all()
    read: list[float | None] = []

    def loaded(instance, _context):
        read.append(instance.amount_value)

    event.listen(Pledge, "load", loaded)
    try:
        outcome = _report(session, "new", "JD will invest 13 billion yuan in Anhui.", date(2021, 2, 1))
    finally:
        event.remove(Pledge, "load", loaded)
    assert not outcome.is_new
    # Only the 13 billion pledge was read, not the company's seven others.
    assert read == [13e9]


def test_a_report_whose_actor_is_only_it_links_to_the_named_pledge(session):
    """Alone, "It will also set up ..." names no company; the detector hands over the actor as
    written, marked unresolved. The known pledge of that amount and purpose is the one it reports."""
    named = _report(
        session,
        "named",
        "Alibaba will set up a 20 billion yuan common prosperity development fund by 2025.",
        date(2021, 9, 2),
    )
    sentence = "It will also set up a 20 billion yuan common prosperity development fund for general use."
    unresolved = replace(
        named.candidate, actor="It", sentence=sentence, end_offset=len(sentence), end_year=None
    )
    unresolved.actor_resolved = False  # as the detector marks an actor nothing in the text resolves
    other_purpose = replace(unresolved, sentence="It will also invest 20 billion yuan in cloud data centres.")
    other_purpose.actor_resolved = False
    (linked,) = link_report_candidates(session, "it", [unresolved], None, "outlet")
    (apart,) = link_report_candidates(session, "it-2", [other_purpose], None, "outlet")
    assert (linked.pledge.id, linked.is_new) == (named.pledge.id, False)
    assert linked.pledge.actor == "Alibaba"
    assert apart.is_new and apart.pledge.id != named.pledge.id


def test_a_pledge_first_reported_as_it_gets_its_company_from_a_later_report(session):
    sentence = "It will build 150 drone airports in Sichuan for unmanned aerial vehicle delivery."
    (detected,) = extract_pledges(f"JD.com said so. {sentence}", date(2017, 4, 7))
    unresolved = replace(
        detected,
        actor="it",
        actor_resolved=False,
        sentence=sentence,
        start_offset=0,
        end_offset=len(sentence),
    )
    (first,) = link_report_candidates(session, "first", [unresolved], date(2017, 4, 7), "outlet")
    assert first.is_new and first.pledge.actor == "it"
    named = _report(
        session,
        "named",
        "JD.com will build 150 airports in Sichuan province for unmanned aerial vehicle delivery.",
        date(2017, 4, 20),
    )
    assert (named.pledge.id, named.is_new) == (first.pledge.id, False)
    assert (named.pledge.actor, named.pledge.actor_resolved) == ("JD.com", True)
