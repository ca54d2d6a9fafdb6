"""Pledge identity in the archive: new versus re-reported versus revised, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from helpers_pledges import seed_body
from sqlalchemy import event, func, select, text

from pledgewatch.ingest import record_article_pledges, record_report
from pledgewatch.records import ArticleRecord
from pledgewatch.store import db
from pledgewatch.store.archive import save_article
from pledgewatch.store.listing import PledgeFilter, list_pledges
from pledgewatch.store.models import Pledge, PledgeMention


@pytest.fixture
def session(db_url):
    engine = db.make_engine(db_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        yield session
    engine.dispose()


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_seed_003_re_report_links_to_seed_000_pledge(session):
    first = record_report(session, "jd-blog-hubei", seed_body("000"), date(2020, 4, 8), "jd")
    session.commit()
    assert [o.is_new for o in first] == [True]
    hubei = first[0].pledge
    later = record_report(session, "people-hubei", seed_body("003"), date(2020, 4, 30), "people")
    session.commit()
    jd = [o for o in later if o.pledge.actor == "JD.com"]
    assert len(jd) == 1
    assert jd[0].pledge.id == hubei.id and jd[0].is_new is False
    # The People's Daily mention keeps its own wording; the pledge its first report's date.
    assert jd[0].mention.source_name == "people"
    assert hubei.first_published_at == datetime(2020, 4, 8, tzinfo=UTC)
    assert len(hubei.mentions) == 2


def test_re_report_in_dollars_weeks_later_is_the_same_pledge(session):
    record_report(
        session,
        "a",
        "JD.com will invest 3 billion yuan in Sichuan over the next five years to upgrade rural logistics.",
        date(2019, 3, 18),
        "chinadaily",
    )
    outcomes = record_report(
        session,
        "b",
        "JD plans to plough roughly $450 million into rural logistics in Sichuan by 2024.",
        date(2019, 4, 20),
        "people",
    )
    assert len(outcomes) == 1 and outcomes[0].is_new is False
    assert _count(session, Pledge) == 1


def test_same_actor_and_amount_but_other_region_or_year_is_a_new_pledge(session):
    record_report(
        session,
        "hubei",
        "JD will invest 6 billion yuan in Hubei over the next three years.",
        date(2020, 4, 8),
        "jd",
    )
    other_region = record_report(
        session,
        "jiangxi",
        "JD will invest 6 billion yuan in Jiangxi over the next three years.",
        date(2020, 5, 8),
        "chinadaily",
    )
    other_year = record_report(
        session,
        "hubei-2025",
        "JD will invest 6 billion yuan in Hubei between 2025 and 2027 to build data centers.",
        date(2024, 5, 8),
        "chinadaily",
    )
    assert other_region[0].is_new and other_year[0].is_new
    assert _count(session, Pledge) == 3


def test_same_amount_for_another_purpose_is_a_new_pledge(session):
    record_report(
        session,
        "ssv",
        "Tencent will invest 50 billion yuan in a sustainable social value program covering basic science.",
        date(2021, 4, 19),
        "chinadaily",
    )
    outcomes = record_report(
        session,
        "cp",
        "Tencent announced it will allocate another 50 billion yuan to a common prosperity program.",
        date(2021, 8, 18),
        "chinadaily",
    )
    assert outcomes[0].is_new


def test_raised_pledge_is_a_revision_of_the_known_pledge(session):
    first = record_report(
        session,
        "a",
        "JD.com will invest 1 billion yuan in rural logistics in Guizhou over the next three years.",
        date(2019, 5, 27),
        "jd",
    )
    outcomes = record_report(
        session,
        "b",
        "JD.com has raised its pledge for logistics in Guizhou to 1.5 billion yuan from 1 billion yuan.",
        date(2020, 6, 15),
        "chinadaily",
    )
    session.commit()
    assert len(outcomes) == 1
    revised = outcomes[0]
    assert revised.pledge.id == first[0].pledge.id
    assert revised.is_revision and not revised.is_new and revised.mention.is_revision
    assert revised.pledge.amount_value == 1.5e9 and revised.pledge.revision == 1
    # The first report keeps the amount it printed.
    assert first[0].mention.amount_value == 1e9


def test_processing_a_report_again_does_not_duplicate_mentions(session):
    for _ in range(2):
        outcomes = record_report(session, "same", seed_body("004"), date(2016, 1, 13), "chinadaily")
        session.commit()
    assert len(outcomes) == 3 and not any(o.is_new for o in outcomes)
    assert _count(session, PledgeMention) == 3
    assert _count(session, Pledge) == 3


def _article(session, text: str, published: datetime):
    record = ArticleRecord(
        url="https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/",
        source="jd",
        title="JD.com to Invest over RMB 6 Billion in Hubei",
        text=text,
        published=published,
    )
    return save_article(session, record, ["JD.com"]).article


def _overviews(session) -> tuple[list[dict], list[int]]:
    """What a SQL user sees: the pledges_overview rows and articles_overview's mention counts."""
    pledges = [dict(row) for row in session.execute(text("SELECT * FROM pledges_overview")).mappings()]
    counts = list(session.scalars(text("SELECT pledge_mentions FROM articles_overview")))
    return pledges, counts


def test_record_article_pledges_and_an_edit(session):
    published = datetime(2020, 4, 8, 10, tzinfo=UTC)
    article = _article(session, seed_body("000"), published)
    outcomes = record_article_pledges(session, article)
    session.commit()
    assert [(o.is_new, o.pledge.region) for o in outcomes] == [(True, "Hubei")]
    assert outcomes[0].mention.article_id == article.id
    # The same article fetched again, unchanged or edited elsewhere: still one mention.
    again = record_article_pledges(session, article)
    assert [o.is_new for o in again] == [False]
    edited = _article(session, seed_body("000").replace("Areas of focus", "Key areas of focus"), published)
    assert edited.id == article.id
    record_article_pledges(session, edited)
    session.commit()
    assert _count(session, PledgeMention) == 1
    # An edit that changes the amount revises the pledge this article reported.
    corrected = _article(session, seed_body("000").replace("RMB 6 billion", "RMB 7 billion"), published)
    outcomes = record_article_pledges(session, corrected)
    session.commit()
    assert [(o.is_revision, o.pledge.amount_value) for o in outcomes] == [(True, 7e9)]
    # The revised sentence is a mention of its own (so it is alerted); the original statement is
    # kept as history, withdrawn, with the amount it printed.
    mentions = session.scalars(select(PledgeMention).order_by(PledgeMention.id)).all()
    assert [(m.amount_value, m.is_revision, m.withdrawn_at is not None) for m in mentions] == [
        (6e9, False, True),
        (7e9, True, False),
    ]
    assert outcomes[0].mention.id == mentions[1].id and _count(session, Pledge) == 1
    # The SQL views count the current statement only, and show it (not the withdrawn one) as the report.
    (overview,), article_counts = _overviews(session)
    assert (overview["mention_count"], overview["withdrawn_mention_count"]) == (1, 1)
    assert "RMB 7 billion" in overview["first_sentence"] and article_counts == [1]
    # An edit that adds a paragraph before the pledge shifts its sentence: still the same mention.
    shifted = _article(session, "JD's support for Hubei keeps growing.\n" + corrected.text, published)
    outcomes = record_article_pledges(session, shifted)
    session.commit()
    assert [(o.is_new, o.is_revision, o.mention.sentence_index) for o in outcomes] == [(False, False, 1)]
    assert outcomes[0].mention.id == mentions[1].id and _count(session, PledgeMention) == 2
    # An edit that drops the pledge sentence keeps the pledge; its mention is withdrawn.
    dropped = _article(session, "JD's support for Hubei keeps growing. Details were not given.", published)
    assert record_article_pledges(session, dropped) == []
    session.commit()
    session.expire_all()
    assert _count(session, Pledge) == 1 and _count(session, PledgeMention) == 2
    assert all(m.withdrawn_at is not None for m in session.scalars(select(PledgeMention)))
    assert list_pledges(session) == [] and len(list_pledges(session, include_withdrawn=True)) == 1
    # The views agree with `pledges list`: no article states the pledge any more.
    assert _overviews(session) == ([], [0])


def test_identity_lookup_reads_only_the_actor_and_kind(session, db_url):
    record_report(session, "a", "Alibaba will invest 10 billion yuan in Zhejiang.", date(2021, 1, 1), "x")
    statements: list[str] = []
    engine = session.get_bind()

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        record_report(session, "b", "JD will invest 10 billion yuan in Zhejiang.", date(2021, 1, 2), "x")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    lookups = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM pledges" in s]
    assert lookups, statements
    # The narrowing query filters by actor and kind; the pledges it found are then loaded by id.
    narrowing = [s for s in lookups if "pledges.kind" in s]
    assert narrowing and all("pledges.actor =" in s for s in narrowing)
    assert all(s in narrowing or "pledges.id IN" in s for s in lookups)
    # Nothing of Alibaba's was a candidate: JD's report is a pledge of its own.
    assert _count(session, Pledge) == 2


def test_list_filters(session):
    record_report(session, "000", seed_body("000"), date(2020, 4, 8), "jd")
    record_report(session, "001", seed_body("001"), date(2018, 8, 24), "chinadaily")
    record_report(session, "004", seed_body("004"), date(2016, 1, 13), "chinadaily")
    session.commit()

    def ids(**kwargs) -> list[tuple[str, float]]:
        return [(p.kind, p.amount_value) for p in list_pledges(session, PledgeFilter(**kwargs))]

    assert len(ids()) == 6
    assert ids(regions=("Hubei",)) == [("invest", 6e9)]
    assert sorted(ids(regions=("Liaoning",))) == [("invest", 2e10), ("jobs", 9000)]
    assert ids(kind="train") == [("train", 1e6)]
    assert ids(min_amount=5e9) == [("invest", 2e10), ("invest", 6e9)]
    assert ids(since=datetime(2020, 1, 1, tzinfo=UTC)) == [("invest", 6e9)]
    assert len(ids(until=datetime(2017, 1, 1, tzinfo=UTC))) == 3
    assert ids(actor="Alibaba") == []
    # User text is matched literally: LIKE wildcards match nothing special.
    assert ids(regions=("%",)) == [] and ids(actor="%") == []


def test_purpose_words_stored_per_mention_and_recomputed_when_stale(session):
    """Identity compares purpose words stored with each mention (migration 0016). A mention
    stored before 0016 (no stems) or under other rules (another key) still links its re-report;
    a mention of another purpose does not."""
    first = "JD will invest 1 billion yuan in drone delivery research."
    record_report(session, "a", first, date(2021, 3, 1), "jd")
    session.commit()
    mention = session.scalars(select(PledgeMention)).one()
    assert "drone" in mention.purpose_stems.split() and mention.purpose_key.endswith("|JD.com")
    for stems, key in ((None, None), ("unrelated words", "an-old-version|JD.com")):
        session.execute(
            text("UPDATE pledge_mentions SET purpose_stems = :s, purpose_key = :k"), {"s": stems, "k": key}
        )
        session.commit()
        session.expire_all()
        again = record_report(
            session,
            f"b{key}",
            "JD plans to spend 1 billion yuan on drone delivery research.",
            date(2021, 3, 9),
            "x",
        )
        session.commit()
        assert [(o.is_new, o.pledge.id) for o in again] == [(False, mention.pledge_id)]
    session.expire_all()
    assert "drone" in session.get(PledgeMention, mention.id).purpose_stems.split()
    other = record_report(
        session, "c", "JD will invest 1 billion yuan in cold-chain warehouses.", date(2021, 3, 9), "x"
    )
    assert [o.is_new for o in other] == [True]
