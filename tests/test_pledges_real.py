"""Pledge detection on real text (issue 13): the forms real pages use, evidence, bounded work.

Sentences here are written for the tests in the style of the real pages (none is copied from the
labelled sets); ``pledges_real_pagesA.jsonl`` is the vendored development half of the real set
(see its .md for provenance).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pledgewatch.pledges import KINDS, PledgeCandidate, extract_pledges
from pledgewatch.pledges import cues as cues_module
from pledgewatch.pledges._data import load
from pledgewatch.pledges.extract import MAX_SENTENCE_CHARS

DATA = Path(__file__).parent / "data"


def _only(text: str, published: date | None = None) -> PledgeCandidate:
    found = extract_pledges(text, published)
    assert len(found) == 1, [c.explain() for c in found]
    return found[0]


@pytest.mark.parametrize(
    ("text", "actor", "value", "unit"),
    [
        ("The Suning logistics hub in Nanjing is expected to create 7,000 jobs.", "Suning", 7000, "jobs"),
        (
            "Tencent said the programme should create around 3,000 new jobs in Guizhou.",
            "Tencent",
            3000,
            "jobs",
        ),
        ("Meituan aims to recruit 50,000 riders in the second half of the year.", "Meituan", 50000, "jobs"),
        ("Haier intends to open 300 service stations in rural Henan.", "Haier", 300, "stations"),
        ("Baidu is looking to train 20,000 AI engineers by 2027.", "Baidu", 20000, "people"),
        ("Alibaba is pouring 60 billion yuan into cloud computing infrastructure.", "Alibaba", 6e10, None),
        (
            "Pinduoduo is investing an additional 5 billion yuan in agricultural research.",
            "Pinduoduo",
            5e9,
            None,
        ),
        ("Xiaomi is set to donate RMB 200 million to rural schools.", "Xiaomi", 2e8, None),
    ],
)
def test_future_expected_and_progressive_forms(text, actor, value, unit):
    pledge = _only(text)
    assert pledge.actor == actor
    assert pledge.amount_value == pytest.approx(value)
    assert pledge.amount_unit == unit


def test_percentage_target_is_an_emissions_pledge():
    pledge = _only("Haier is looking to cut its total carbon emissions by 40% by 2030 compared with 2020.")
    assert (pledge.actor, pledge.kind, pledge.amount_value, pledge.amount_unit) == (
        "Haier",
        "emissions",
        40,
        "percent",
    )
    assert pledge.end_year == 2030


def test_kinds_are_a_data_registry():
    assert tuple(entry["name"] for entry in load("kinds")["kinds"]) == KINDS
    assert "emissions" in KINDS


def test_named_commitment_and_earmarked_fund():
    first = _only("Tencent will keep donating until the total 8 billion yuan commitment is fulfilled.")
    assert (first.actor, first.amount_value) == ("Tencent", 8e9)
    second = _only("Meituan set up a 3-billion yuan fund earmarked for rider welfare.")
    assert (second.actor, second.amount_value) == ("Meituan", 3e9)


def test_pronoun_actor_resolved_from_the_sentence_before():
    found = extract_pledges(
        "Suning opened its 5,000th store on Friday. The company will open 800 more stores next year."
    )
    assert [(p.actor, p.amount_value, p.actor_resolved) for p in found] == [("Suning", 800, True)]
    assert found[0].actor_source == "previous sentence"


def test_unresolved_descriptor_is_reported_as_written():
    pledge = _only("The e-commerce giant will invest 12 billion yuan in smart logistics over five years.")
    assert pledge.actor == "the e-commerce giant"
    assert pledge.actor_resolved is False
    assert "unresolved" in pledge.explain()


def test_title_names_the_actor_of_a_descriptor():
    text = "The company will invest 12 billion yuan in smart logistics over five years."
    pledge = _only_with_title(text, "Suning unveils logistics plan")
    assert (pledge.actor, pledge.actor_resolved, pledge.actor_source) == ("Suning", True, "article subject")


def _only_with_title(text: str, title: str) -> PledgeCandidate:
    found = extract_pledges(text, title=title)
    assert len(found) == 1
    return found[0]


def test_every_company_not_only_watched_ones():
    pledge = _only("Geely will invest 10 billion yuan in a battery plant in Zhejiang.")
    assert (pledge.actor, pledge.region) == ("Geely", "Zhejiang")
    suffix = _only("Zhongda Agritech Co. will build 40 greenhouses in Gansu.")
    assert suffix.actor == "Zhongda Agritech Co"


def test_joint_subject_takes_the_first_company():
    assert _only("Baidu and Geely will jointly invest 2 billion yuan in a car venture.").actor == "Baidu"


def test_dateline_is_not_the_region():
    assert _only("Beijing, Sep 4 - Tencent will donate 1 billion yuan to rural schools.").region is None
    assert _only("SHANGHAI (Reuters) - Alibaba will invest 5 billion yuan in Sichuan.").region == "Sichuan"


def test_evidence_explains_the_decision():
    pledge = _only(
        "JD Logistics will build 30 smart warehouses in Hubei over the next three years.", date(2021, 5, 1)
    )
    assert (pledge.cue, pledge.quantity_text, pledge.subject) == (
        "will",
        "30 smart warehouses",
        "JD Logistics",
    )
    assert pledge.evidence == {
        "cue": "will",
        "quantity": "30 smart warehouses",
        "subject": "JD Logistics",
        "actor_source": "named",
    }
    assert pledge.explain() == (
        'JD.com: cue "will" + quantity "30 smart warehouses" [subject "JD Logistics", named] -> build'
    )


@pytest.mark.parametrize(
    "text",
    [
        "Analysts expect JD's revenue to reach 1 trillion yuan by 2025.",
        "JD Logistics was infused with $2.5 billion in investment last year to help expand its network.",
        "Platforms such as Tmall are expected to keep growing where analysts forecast growth of 15 percent.",
        "The company had helped 200,000 farmers sell their produce by the end of 2020.",
        "It had planned to open 1,000 stores, but scrapped the plan.",
    ],
)
def test_negatives_stay_negative(text):
    assert extract_pledges(text) == []


def test_development_half_of_the_real_set():
    """Rows not marked uncertain of the vendored half (the old rules: F1 0.70 here)."""
    rows = [
        json.loads(line) for line in (DATA / "pledges_real_pagesA.jsonl").read_text().splitlines() if line
    ]
    tp = fp = fn = amount = 0
    for row in rows:
        if row["uncertain"]:
            continue
        found = extract_pledges(row["sentence"])
        if found and row["is_pledge"]:
            tp += 1
            gold = row["amount_value"]
            amount += gold is not None and abs(found[0].amount_value - gold) <= 0.01 * gold
        fp += bool(found) and not row["is_pledge"]
        fn += not found and row["is_pledge"]
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert 2 * precision * recall / (precision + recall) >= 0.95, (tp, fp, fn)
    assert amount / tp >= 0.95


class _CountingPattern:
    """A compiled pattern that counts the characters its scans cover."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.scanned = 0

    def finditer(self, string, pos=0, endpos=None):
        end = len(string) if endpos is None else min(endpos, len(string))
        self.scanned += max(0, end - pos)
        return self.pattern.finditer(string, pos, end)


def test_long_number_heavy_text_is_bounded(monkeypatch):
    """Issue 19: 100 KB of amounts by province in one "sentence" is read up to the sentence cap,
    with one cue scan per sentence, instead of one scan of the whole prefix per quantity."""
    counting = _CountingPattern(cues_module._CUE_RE)
    monkeypatch.setattr(cues_module, "_CUE_RE", counting)
    cues_module._cue_matches.cache_clear()
    unit = "RMB 30 million for Hubei, RMB 40 million for Henan, "
    text = "JD will invest " + unit * (100_000 // len(unit))
    found = extract_pledges(text)
    assert [p.amount_value for p in found] == [3e7]
    # One scan of at most the capped sentence, plus the short forward scans of nominal commitments.
    assert counting.scanned <= 3 * MAX_SENTENCE_CHARS
    cues_module._cue_matches.cache_clear()


def test_quantity_past_the_sentence_cap_is_not_read():
    filler = "and more words " * (MAX_SENTENCE_CHARS // 15 + 5)
    assert extract_pledges(f"The weather was fine {filler} so JD will invest 5 billion yuan in Hubei.") == []


# Session 5: forms that the rules of session 4 got wrong (sentences written for the tests).


def test_url_slug_names_the_actor_of_a_lone_descriptor():
    text = "The company will invest 3 billion yuan in new warehouses over the next two years."
    alone = _only(text)
    assert (alone.actor, alone.actor_resolved) == ("the company", False)
    with_url = extract_pledges(text, url="https://example.com/2021/05/suning-to-expand-warehouse-network/")[0]
    assert (with_url.actor, with_url.actor_source, with_url.actor_resolved) == (
        "Suning",
        "article subject",
        True,
    )
    # The host is no context: every page of jd.com is not "about JD".
    assert extract_pledges(text, url="https://jd.com/a/202105/WS60a1.html")[0].actor_resolved is False


def test_outlet_of_a_company_newsroom_names_the_actor():
    found = extract_pledges(
        "It will train 5,000 rural e-commerce workers this year.", outlet="JD corporate blog"
    )
    assert found[0].actor == "JD.com"


def test_company_in_a_fronted_comparison_is_not_the_subject():
    pledge = _only(
        "Aside from Tencent, Meituan also announced plans to open 300 rural service stations in Yunnan."
    )
    assert pledge.actor == "Meituan"


def test_possessive_place_before_a_descriptor_is_not_a_government():
    pledge = _only("Beijing's biggest online retailer will be investing 2 billion yuan in cold-chain trucks.")
    assert pledge.amount_value == 2e9 and pledge.actor_resolved is False


def test_appositive_with_a_possessive_is_not_the_subject():
    pledge = _only(
        "Suning, China's largest electronics chain and a direct-to-consumer seller, "
        "will open 80 stores in Anhui."
    )
    assert (pledge.actor, pledge.amount_value) == ("Suning", 80)


def test_dated_goal_is_a_percentage_pledge():
    pledge = _only("The group's climate targets include cutting packaging waste by 40 percent by 2028.")
    assert (pledge.kind, pledge.amount_value, pledge.amount_unit) == ("emissions", 40, "percent")


def test_announced_amount_over_a_horizon_is_a_commitment():
    pledge = _only(
        "Alibaba also announced investment of 60 billion yuan over three years in rural logistics."
    )
    assert (pledge.actor, pledge.amount_value) == ("Alibaba", 6e10)


def test_unnamed_project_is_reported_unresolved_but_its_size_is_not():
    built = _only("A total of 120 rural warehouses will be established in Guizhou over the coming years.")
    assert (built.kind, built.actor_resolved, built.region) == ("build", False, "Guizhou")
    jobs = _only("The new distribution centre is expected to create 4,000 jobs for residents.")
    assert (jobs.kind, jobs.actor) == ("jobs", "the new distribution centre")
    assert extract_pledges("The logistics park will cover 80 hectares when complete.") == []
    # A government's project is not a company's pledge.
    assert (
        extract_pledges("The new highway, the provincial government said, is expected to create 9,000 jobs.")
        == []
    )


@pytest.mark.parametrize(
    "text",
    [
        "Thanks to the funding round, the logistics arm will now be valued at $12bn.",
        "This will be made possible by a $3bn investment in the payments unit made in 2016.",
        "Analysts expect Meituan to hire 20,000 riders this summer.",
        "Experts believe the company will invest 4 billion yuan in the region.",
        "Under the deal, the venture will be 60 percent owned by Alibaba.",
        "Zhang, a deputy director at the State Council's research centre, told reporters that buying the "
        "buildings will save the retailer about CNY20 million a year.",
        "Each shopper is entitled to buy 5 boxes of face masks (250 masks in total).",
    ],
)
def test_more_negatives_stay_negative(text):
    assert extract_pledges(text, url="https://example.com/suning-expands/") == []


def test_a_count_the_verb_commits_needs_no_lexicon_noun():
    pledge = _only("Meituan will sign up 8,000 new grocery suppliers in Hunan over the next two years.")
    assert (pledge.amount_value, pledge.amount_unit, pledge.region) == (8000, "suppliers", "Hunan")


def test_a_place_based_company_is_a_company():
    pledge = _only("The Hangzhou-based firm also plans to open 600 rural service stations this year.")
    assert (pledge.actor, pledge.amount_value) == ("the Hangzhou-based firm", 600)


def test_forms_written_for_the_rules_stay_decided():
    """Sentences written by the project (not real text, so no evidence of real-world quality) in
    the forms real pages use, pledges and hard negatives, each one a decision the rules of session 5
    make: a change that flips one breaks a form that was deliberately handled."""
    rows = [json.loads(line) for line in (DATA / "pledges_forms.jsonl").read_text().splitlines() if line]
    wrong = [row["text"] for row in rows if bool(extract_pledges(row["text"])) != row["is_pledge"]]
    assert wrong == []


def test_a_named_executive_resolves_the_company():
    pledge = _only("Chairman Wang Xing said the company will hire 30,000 more riders in Sichuan.")
    assert (pledge.actor, pledge.actor_source) == ("Meituan", "executive")
    # The person is never the actor: a company named in the sentence still comes first.
    assert _only("Wang Xing said Meituan will hire 30,000 more riders.").actor_source == "named"
