"""Pledge headlines (alert subjects, feed titles, digest lines) say what the text says.

The time frame keeps the text's wording ("by 2022" is not "in 2019-2022", "in the coming weeks" is
not "by 2020", one year is never "2020-2020"), and a pledge of kind ``other`` takes the sentence's
own verb ("help 100,000 enterprises", not "commit 100,000 enterprises"). The sample web's every
pledge, first and later snapshot, is checked through the crawl pipeline on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from helpers_pledges import ingest_snapshot
from sqlalchemy import select

from pledgewatch.notify.alerts import pledge_fields
from pledgewatch.notify.rendering import pledge_headline
from pledgewatch.store.models import Pledge, PledgeMention


def pledge(sentence: str, **fields) -> Pledge:
    defaults = {"actor": "JD.com", "amount_value": None, "currency": None, "amount_unit": None}
    made = Pledge(**{**defaults, **fields})
    made.mentions = [PledgeMention(id=1, sentence=sentence, sentence_index=0)]
    return made


@pytest.mark.parametrize(
    ("fields", "sentence", "headline"),
    [
        (
            {"kind": "train", "amount_value": 1e5, "amount_unit": "people", "region": "Sichuan"}
            | {"horizon": "by 2022", "start_year": 2019, "end_year": 2022},
            "JD.com will train 100,000 rural e-commerce entrepreneurs in Sichuan province by 2022.",
            "JD.com to train 100,000 people in Sichuan by 2022",
        ),
        (
            {"kind": "jobs", "amount_value": 2e4, "amount_unit": "jobs"}
            | {"horizon": "in the coming weeks", "start_year": 2020, "end_year": 2020},
            "JD.com will hire 20,000 people across China in the coming weeks.",
            "JD.com to create 20,000 jobs in the coming weeks",
        ),
        (
            {"kind": "other", "amount_value": 1e5, "amount_unit": "enterprises"}
            | {"horizon": "by 2023", "start_year": 2021, "end_year": 2023},
            "JD.com Inc said it will help 100,000 small and medium-sized enterprises go digital by 2023.",
            "JD.com to help 100,000 enterprises by 2023",
        ),
        (
            {"kind": "other", "amount_value": 1e10, "currency": "CNY", "region": "Hubei"}
            | {"horizon": "this year", "start_year": 2020, "end_year": 2020},
            "Pinduoduo will help farmers in Hubei province sell 10 billion yuan of produce this year.",
            "JD.com to help sell RMB 10 bn in Hubei in 2020",
        ),
        (
            {"kind": "other", "amount_value": 13, "amount_unit": "events", "region": "Hubei"},
            "Douyin has planned 13 livestreaming shows for 13 prefectures and cities of Hubei.",
            "JD.com to commit to 13 events in Hubei",
        ),
        (
            {"kind": "train", "amount_value": 1e4, "amount_unit": "people"}
            | {"horizon": "between 2016 and 2020", "start_year": 2016, "end_year": 2020},
            "JD will train 10,000 people between 2016 and 2020.",
            "JD.com to train 10,000 people in 2016-2020",
        ),
    ],
)
def test_headline_follows_the_texts_wording(fields, sentence, headline):
    assert pledge_headline(pledge(sentence, **fields)) == headline


def test_one_year_is_not_a_range_in_the_alert_fields():
    made = pledge(
        "JD.com will hire 20,000 people in the coming weeks.",
        kind="jobs",
        amount_value=2e4,
        amount_unit="jobs",
        horizon="in the coming weeks",
        start_year=2020,
        end_year=2020,
    )
    mention = made.mentions[0]
    mention.pledge = made
    assert ("Horizon", "in the coming weeks (2020)") in pledge_fields(mention)


# Every pledge of the sample web (both snapshots), as its alert subject / feed title reads.
SAMPLE_HEADLINES = {
    "JD.com to help lift 2 million people out of poverty",
    "JD.com to be working on projects in 200 counties",
    "JD.com to train 1 million people",
    "Alibaba to invest RMB 10 bn over 5 years",
    "JD.com to create 10,000 jobs in Guizhou over 3 years",
    "JD.com to invest RMB 20 bn in Heilongjiang, Jilin, Liaoning over 3 years",
    "JD.com to create 9,000 jobs in Liaoning over 3 years",
    "JD.com to build 6 facilities in Guangxi by 2025",
    "JD.com to create 5,000 jobs in Guangxi",
    "JD.com to build 100 stations in Shaanxi over 2 years",
    "JD.com to donate RMB 50 million over 5 years",
    "JD.com to train 100,000 people in Sichuan by 2022",
    "JD.com to create 20,000 jobs in the coming weeks",
    "JD.com to invest RMB 6 bn in Hubei over 3 years",
    "Alibaba to hold 100 events in Hubei between April and June",
    "Douyin to commit to 13 events in Hubei",
    "Pinduoduo to help sell RMB 10 bn in Hubei in 2020",
    "JD.com to invest RMB 10 bn in Guangdong, Hong Kong, Macao over 5 years",
    "JD.com to help sell RMB 12 bn in Shaanxi over 3 years",
    "JD.com to train 10,000 people by the end of 2022",
    "JD.com to help 100,000 enterprises by 2023",
}


@pytest.mark.slow
def test_every_sample_web_headline_reads_as_the_text_says(sessions):
    with sessions() as session:
        for snapshot in ("first", "later"):
            ingest_snapshot(session, snapshot)
        headlines = {pledge_headline(p) for p in session.scalars(select(Pledge))}
    assert headlines == SAMPLE_HEADLINES, sorted(headlines ^ SAMPLE_HEADLINES)
