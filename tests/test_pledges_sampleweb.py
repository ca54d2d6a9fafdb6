"""Pledge detection on the sample web's articles against its manifest (detection only, no crawl).

The manifest (built by the sample-web helper, not tuned on by the pledge rules) lists the expected
pledges of every article and whether each is the first report ("new") or a later mention ("known").
"""

from __future__ import annotations

from datetime import datetime

import pytest

from pledgewatch.ingest import record_report
from pledgewatch.sampleweb import load_manifest
from pledgewatch.store import db


@pytest.fixture(scope="module")
def run():
    """Every article of the manifest, in publication order, through one temporary store."""
    articles = sorted((a for a in load_manifest()["articles"] if a.get("text")), key=lambda a: a["published"])
    engine = db.make_engine("sqlite://")
    db.ensure_schema(engine)
    results = {}
    with db.session_factory(engine)() as session:
        for article in articles:
            published = datetime.fromisoformat(article["published"])
            outcomes = record_report(session, article["key"], article["text"], published, article["source"])
            session.commit()
            results[article["key"]] = (article, [(o.candidate, o.pledge.id, o.is_new) for o in outcomes])
    engine.dispose()
    return results


def test_hubei_pledge_is_new_once_then_known(run):
    _, blog = run["jd-com-to-invest-over-rmb-6-billion-in-hubei"]
    _, people = run["internet-plus-strategy-accelerates-recovery-of-hubeis-economy"]
    (first,) = [p for p in blog if p[0].actor == "JD.com"]
    assert first[2] is True and first[0].amount_value == 6e9 and first[0].region == "Hubei"
    (later,) = [p for p in people if p[0].actor == "JD.com"]
    assert later[1] == first[1] and later[2] is False


def test_esg_post_past_achievements_raise_no_pledge(run):
    _, found = run["jd-esg-jds-ongoing-commitment-to-rural-revitalization"]
    assert found == []


def test_detection_matches_the_manifest(run):
    tp = fp = fn = 0
    agree = paired = 0
    for article, found in run.values():
        expected = {p["sentence"]: p for p in article["expected_pledges"]}
        sentences = {candidate.sentence: is_new for candidate, _, is_new in found}
        for sentence, pledge in expected.items():
            if sentence in sentences:
                tp += 1
                paired += 1
                agree += sentences[sentence] == (pledge["new_or_known"] == "new")
            else:
                fn += 1
        fp += sum(1 for sentence in sentences if sentence not in expected)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert 2 * precision * recall / (precision + recall) >= 0.9, (tp, fp, fn)
    assert agree / paired >= 0.9
