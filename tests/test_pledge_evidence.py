"""Why a sentence was read as a pledge: the detector's evidence, stored on the mention and shown
in `pledges list` (table, JSON, CSV) and in the alert (text and HTML, through a real SMTP server).

The detector hands over ``candidate.evidence`` (cue, quantity, subject; a learned decision's
score and features). Most tests here give a candidate its evidence themselves, so they hold
whichever detector is installed; one runs the detector's own.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields
from datetime import UTC, date, datetime

import pytest
from conftest import run_cli
from helpers_daemon import SmtpSink, html_part, seed_archive, text_part
from sqlalchemy import select, text

from pledgewatch.config import Config, EmailConfig
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.pledges import PledgeCandidate, extract_pledges
from pledgewatch.store import db
from pledgewatch.store.models import PledgeMention
from pledgewatch.store.pledges import link_report_candidates

SENTENCE = "JD.com will invest more than RMB 6 billion in Hubei over the next three years."
EVIDENCE = {
    "cue": "will invest",
    "quantity": "more than RMB 6 billion",
    "subject": "JD.com",
    "score": 0.9371,
    "features": ["cue:will", "quantity:money", "subject:watched", "horizon:next"],
}
WHY = 'cue "will invest", quantity "more than RMB 6 billion", subject "JD.com", score 0.94'


class _Scored(PledgeCandidate):
    """A candidate whose evidence the test sets, as a learned decision would hand it over."""

    evidence = None  # a plain attribute here, not the detector's property


def _candidate_with_evidence(evidence: dict | None):
    (candidate,) = extract_pledges(SENTENCE, date(2020, 4, 8))
    scored = _Scored(**{f.name: getattr(candidate, f.name) for f in fields(candidate)})
    scored.evidence = evidence
    return scored


def test_evidence_is_stored_with_the_mention_and_updated_with_it(sessions):
    with sessions() as session:
        link_report_candidates(session, "r1", [_candidate_with_evidence(EVIDENCE)], date(2020, 4, 8), "jd")
        session.commit()
    with sessions() as session:
        (mention,) = session.scalars(select(PledgeMention))
        assert mention.evidence == EVIDENCE
        # The same report processed again, now read differently: its evidence follows.
        link_report_candidates(
            session, "r1", [_candidate_with_evidence({"cue": "plans to"})], date(2020, 4, 8), "jd"
        )
        session.commit()
    with sessions() as session:
        (mention,) = session.scalars(select(PledgeMention))
        assert mention.evidence == {"cue": "plans to"}


def test_a_candidate_without_evidence_stores_none(sessions):
    with sessions() as session:
        link_report_candidates(session, "r1", [_candidate_with_evidence(None)], date(2020, 4, 8), "jd")
        session.commit()
        assert session.scalar(select(PledgeMention.evidence)) is None


@pytest.mark.slow
def test_pledges_list_shows_why_in_table_json_and_csv(tmp_path):
    path = tmp_path / "archive.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        link_report_candidates(session, "r1", [_candidate_with_evidence(EVIDENCE)], date(2020, 4, 8), "jd")
        session.commit()
    engine.dispose()

    table = run_cli("--db", str(path), "pledges", "list", env={"COLUMNS": "400"})
    assert table.returncode == 0, table.stderr
    assert "why" in table.stdout and 'cue "will invest"' in table.stdout

    (pledge,) = json.loads(run_cli("--db", str(path), "pledges", "list", "--format", "json").stdout)
    assert pledge["first_report"]["evidence"] == EVIDENCE
    assert pledge["first_report"]["why"] == WHY + ", features cue:will, quantity:money, subject:watched, ..."

    rows = list(
        csv.DictReader(io.StringIO(run_cli("--db", str(path), "pledges", "list", "--format", "csv").stdout))
    )
    assert [(r["evidence_cue"], r["evidence_quantity"], r["evidence_subject"]) for r in rows] == [
        ("will invest", "more than RMB 6 billion", "JD.com")
    ]
    assert rows[0]["evidence_score"] == "0.9371"
    assert rows[0]["evidence_features"] == "cue:will; quantity:money; subject:watched; horizon:next"


def test_alert_says_why_in_text_and_html(sessions):
    with sessions() as session:
        seeded = seed_archive(session)
        seeded.hubei_mention.evidence = {
            "cue": "will invest",
            "quantity": "more than RMB 6 billion",
            "subject": "JD.com",
        }
        session.commit()
    sink = SmtpSink().start()
    try:
        config = Config(
            email=EmailConfig(
                host="127.0.0.1", port=sink.port, recipients=["analyst@example.org"], alert_max_age_days=0
            )
        )
        Dispatcher(config, sessions).send_alerts()
        messages = sink.messages
    finally:
        sink.stop()
    hubei = next(m for m in messages if "Hubei" in str(m["Subject"]))
    why = 'Why:         cue "will invest", quantity "more than RMB 6 billion", subject "JD.com"'
    assert why in text_part(hubei)
    assert "Why: cue &#34;will invest&#34;, quantity &#34;more than RMB 6 billion&#34;" in html_part(hubei)
    # A mention without evidence (stored before migration 0009) gets no "Why" line, not an empty one.
    northeast = next(m for m in messages if "Heilongjiang" in str(m["Subject"]))
    assert "Why:" not in text_part(northeast) and "Why:" not in html_part(northeast)


def test_migration_0009_adds_evidence_and_keeps_older_mentions(db_url):
    """An archive at 0008 with mentions upgrades: the column appears, old mentions have no evidence."""
    engine = db.make_engine(db_url)
    db.upgrade(engine, "0008")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO pledges (key, actor, kind, revision, created_at, updated_at) "
                "VALUES ('k', 'JD.com', 'invest', 0, :now, :now)"
            ),
            {"now": datetime(2020, 1, 1, tzinfo=UTC).replace(tzinfo=None)},
        )
        connection.execute(
            text(
                "INSERT INTO pledge_mentions (pledge_id, sentence, sentence_index, start_offset, "
                "end_offset, is_new, is_revision, created_at) VALUES "
                "((SELECT id FROM pledges), 's', 0, 0, 1, true, false, :now)"
            ),
            {"now": datetime(2020, 1, 1)},
        )
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        assert session.scalar(select(PledgeMention.evidence)) is None
        mention = session.scalars(select(PledgeMention)).one()
        mention.evidence = {"cue": "will"}
        session.commit()
    db.downgrade(engine, "0008")
    db.upgrade(engine)
    engine.dispose()


@pytest.mark.slow
def test_extract_prints_the_detectors_own_evidence(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        json.dumps({"id": "a", "text": SENTENCE, "published": "2020-04"}) + "\n", encoding="utf-8"
    )
    result = run_cli("pledges", "extract", "--jsonl", str(path))
    assert result.returncode == 0, result.stderr
    (pledge,) = json.loads(result.stdout)["pledges"]
    assert pledge["evidence"]["cue"] and "6 billion" in pledge["evidence"]["quantity"]
