"""Pledge detection and field extraction on the seed articles and on the traps the rules must avoid."""

from __future__ import annotations

from datetime import date

import pytest
from helpers_pledges import seed_body

from pledgewatch.config import WatchEntity
from pledgewatch.pledges import ActorResolver, extract_pledges, find_quantities, split_sentences
from pledgewatch.pledges.regions import normalise_region


def _one(text: str, published: date | None = None, **kwargs):
    found = extract_pledges(text, published, **kwargs)
    assert len(found) == 1, [c.sentence for c in found]
    return found[0]


def test_seed_000_hubei_pledge():
    found = extract_pledges(seed_body("000"), date(2020, 4, 8))
    assert len(found) == 1
    pledge = found[0]
    assert pledge.actor == "JD.com"
    assert pledge.kind == "invest"
    assert pledge.amount_value == 6e9 and pledge.currency == "CNY"
    assert pledge.qualifier == "more than"
    assert pledge.region == "Hubei"
    assert (pledge.start_year, pledge.end_year) == (2020, 2023)
    assert pledge.horizon == "over the next three years"
    assert pledge.sentence.startswith("JD.com announced today that it would invest")
    body = seed_body("000")
    assert body[pledge.start_offset : pledge.end_offset] == pledge.sentence
    # "Asia No. 1 in Wuhan" is neither a quantity nor a sentence break.
    assert not any("No. 1" in c.sentence for c in found)


def test_seed_001_northeast_and_liaoning_jobs():
    found = extract_pledges(seed_body("001"), date(2018, 8, 24))
    money = [c for c in found if c.currency]
    jobs = [c for c in found if c.kind == "jobs"]
    assert money and all(c.amount_value == 2e10 and c.currency == "CNY" for c in money)
    first = money[0]
    # The bracketed "($3.12 billion)" is a conversion, kept only for linking re-reports.
    assert (first.alt_amount_value, first.alt_currency) == (3.12e9, "USD")
    assert set(first.region.split(", ")) == {"Heilongjiang", "Jilin", "Liaoning"}
    assert (first.start_year, first.end_year) == (2018, 2021)
    # The CEO's quote states the same commitment: its actor is the speaker's company.
    assert any(c.sentence.startswith("“We are confident") and c.actor == "JD.com" for c in money)
    assert len(jobs) == 1
    assert (jobs[0].amount_value, jobs[0].amount_unit, jobs[0].region) == (9000, "jobs", "Liaoning")
    # "has achieved full coverage", "So far, JD has signed": past, not pledges.
    assert not any("So far" in c.sentence or "has achieved" in c.sentence for c in found)


def test_seed_002_past_achievements_raise_no_pledge():
    assert extract_pledges(seed_body("002"), date(2021, 4, 16)) == []


def test_seed_003_re_report_in_yuan_with_dollar_conversion():
    found = extract_pledges(seed_body("003"), date(2020, 4, 30))
    jd = [c for c in found if c.actor == "JD.com"]
    assert len(jd) == 1
    assert (jd[0].amount_value, jd[0].currency) == (6e9, "CNY")
    assert (jd[0].alt_amount_value, jd[0].alt_currency) == (849e6, "USD")
    assert (jd[0].region, jd[0].start_year, jd[0].end_year) == ("Hubei", 2020, 2023)
    # Past figures of other companies ("had sold 796,000 tons", "distributing 100 million yuan of
    # coupons", "nearly 200 of its franchised stores") are not pledges.
    sentences = " ".join(c.sentence for c in found)
    assert "796,000" not in sentences and "coupons" not in sentences and "Suning" not in sentences


def test_seed_004_poverty_counties_and_training_by_coreference():
    found = extract_pledges(seed_body("004"), date(2016, 1, 13))
    by_kind = {c.kind: c for c in found}
    assert set(by_kind) == {"poverty", "other", "train"}
    assert (by_kind["poverty"].amount_value, by_kind["poverty"].amount_unit) == (2e6, "people")
    assert (by_kind["other"].amount_value, by_kind["other"].amount_unit) == (200, "counties")
    train = by_kind["train"]
    assert train.sentence.startswith("It will also help train one million people")
    assert (train.actor, train.amount_value, train.amount_unit) == ("JD.com", 1e6, "people")
    # A commitment without a quantity, a government statistic and a company fact are not pledges.
    sentences = " ".join(c.sentence for c in found)
    assert "committed to investing more" not in sentences
    assert "700 million" not in sentences and "30 million yuan" not in sentences


@pytest.mark.parametrize(
    "sentence",
    [
        "China aims to lift more than 10 million rural residents out of poverty this year, Premier Li said.",
        "Hubei province plans to invest 500 billion yuan in new infrastructure projects by 2022.",
        "Analysts at Morgan Stanley expect JD's annual revenue to exceed 1 trillion yuan by 2022.",
        "JD's merchandise volume during the 618 festival is expected to top 300 billion yuan this year.",
        "If the pilot succeeds, JD could extend the program to another 500 counties, an executive said.",
        "As of Sept. 30, 2020, JD had helped 110 impoverished counties put 3 million commodities online.",
        "JD will continue to support local farmers and small businesses in Hubei.",
        "JD denied media reports that it would invest 50 billion yuan in a new electric vehicle venture.",
        "In 2020, JD Foundation donated around RMB 200 million yuan to rural schools.",
        "JD is considering investing up to 2 billion yuan in a new logistics hub in Xi'an.",
    ],
)
def test_not_a_pledge(sentence):
    assert extract_pledges(sentence, date(2021, 1, 1)) == []


def test_mixed_sentence_extracts_the_future_amount():
    pledge = _one(
        "JD, which invested 3 billion yuan in Shaanxi between 2017 and 2019, will invest a further "
        "5 billion yuan in the province over the next five years.",
        date(2020, 8, 19),
    )
    assert (pledge.amount_value, pledge.qualifier, pledge.region) == (5e9, "additional", "Shaanxi")
    assert (pledge.start_year, pledge.end_year) == (2020, 2025)


def test_revision_takes_the_new_amount():
    pledge = _one(
        "JD.com has raised its pledge for logistics in Guizhou to 1.5 billion yuan from 1 billion yuan."
    )
    assert pledge.is_revision and pledge.amount_value == 1.5e9


def test_descriptor_coreference_and_configured_watch_list():
    resolver = ActorResolver.from_entities(
        [WatchEntity(name="Alibaba Group", aliases=["Alibaba", "Taobao", "the Hangzhou-based giant"])]
    )
    text = (
        "Taobao opened a Hubei section on Friday. The e-commerce giant will hold more than 100 "
        "promotional events for Hubei farmers between April and June."
    )
    pledge = _one(text, date(2020, 4, 30), resolver=resolver)
    assert pledge.actor == "Alibaba Group"
    assert (pledge.amount_value, pledge.amount_unit, pledge.region) == (100, "events", "Hubei")


def test_horizons():
    cases = {
        "JD will invest 1 billion yuan in Anhui by 2025.": (2021, 2025),
        "JD plans to build 300 stations in Gansu between 2016 and 2020.": (2016, 2020),
        "JD will invest 2 billion yuan in Hunan over the next five years.": (2021, 2026),
        "JD will create 2,000 jobs in Jilin next year.": (2022, 2022),
    }
    for sentence, years in cases.items():
        pledge = _one(sentence, date(2021, 3, 1))
        assert (pledge.start_year, pledge.end_year) == years, sentence


def test_sentence_splitting_keeps_abbreviations_numbers_and_quotes():
    text = (
        "JD.com Inc. said on Monday it will invest $3.12 bn. "
        "Beidahuang General Aviation Co. will help. Its Asia No. 1 park opened. "
        "“We will invest more,” said Liu. The end."
    )
    sentences = [s.text for s in split_sentences(text)]
    assert sentences == [
        "JD.com Inc. said on Monday it will invest $3.12 bn.",
        "Beidahuang General Aviation Co. will help.",
        "Its Asia No. 1 park opened.",
        "“We will invest more,” said Liu.",
        "The end.",
    ]


def test_quantities_money_and_counts():
    quantities = find_quantities(
        "It will invest RMB 6 billion, a 10-billion-yuan fund, and train one million people."
    )
    assert [(q.value, q.currency, q.unit) for q in quantities] == [
        (6e9, "CNY", None),
        (1e10, "CNY", None),
        (1e6, None, "people"),
    ]
    assert find_quantities("About 70 percent of its employees and No. 1 in 2020") == []


def test_regions_normalise_macro_regions_and_cities():
    assert normalise_region("Northeast China") == "Heilongjiang, Jilin, Liaoning"
    assert normalise_region("Wuhan") == "Hubei"
    assert normalise_region("Hubei province") == "Hubei"
    assert normalise_region("nowhere in particular") is None
