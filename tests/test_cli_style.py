"""One CLI style across commands (issue 16): each inconsistency the issue found, and its fix.

The commands run in-process through ``pledgewatch.cli.main`` (the entry point, with its one-line
error handling) over a real SQLite archive of the sample web; stdout and stderr are captured as
a user's terminal would see them when piped.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import helpers_pledges
import pytest

from pledgewatch.cli import main
from pledgewatch.store import db


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("style") / "sample.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        helpers_pledges.ingest_snapshot(session, "first")
        session.commit()
    engine.dispose()
    return path


@pytest.fixture
def cli(archive, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("PLEDGEWATCH_CONFIG", raising=False)

    def run(*args: str, db_path: Path | None = None) -> Result:
        monkeypatch.setattr(sys, "argv", ["pledgewatch", "--db", str(db_path or archive), *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def one_error_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result
    return lines[0]


def test_format_and_limit_have_the_same_short_options_and_counts_say_showing(cli):
    listed = cli("pledges", "list", "-f", "json", "-n", "2")
    assert listed.code == 0 and len(json.loads(listed.stdout)) == 2
    table = cli("pledges", "list", "-n", "3")
    assert table.code == 0 and "showing 3 of " in table.stdout
    csv = cli("pledges", "list", "-f", "CSV", "-n", "1")
    assert csv.code == 0 and csv.stdout.startswith("pledge_id,actor,")
    found = cli("search", "Hubei", "-n", "2")
    assert found.code == 0 and "showing 2 of 5 articles matching" in found.stdout


def test_relative_dates_everywhere(cli):
    recent = cli("pledges", "list", "--since", "30d")
    # The sample web is years old: nothing that recent, and that is said in one line.
    assert recent.code == 0 and "no pledge matches --since 30d (the archive has" in recent.stderr
    assert cli("pledges", "list", "--new-since", "12h", "-f", "json").code == 0
    assert cli("search", "Hubei", "--since", "1y").code == 0
    bad = one_error_line(cli("pledges", "list", "--since", "last tuesday"))
    assert "12h / 30d" in bad


def test_choices_are_case_insensitive(cli):
    jobs = cli("pledges", "list", "--kind", "JOBS", "-f", "json")
    assert jobs.code == 0 and {p["kind"] for p in json.loads(jobs.stdout)} == {"jobs"}
    assert "closest: jobs" in one_error_line(cli("pledges", "list", "--kind", "jbos"))


def test_unknown_actor_and_region_are_reported_with_the_closest_names(cli):
    actor = one_error_line(cli("pledges", "list", "--actor", "Tencnet"))
    assert "--actor 'Tencnet' is not a known company (closest: Tencent" in actor
    region = one_error_line(cli("pledges", "list", "--region", "Hubie"))
    assert "--region 'Hubie' is not a known region (closest: Hubei" in region
    # A known company with no pledges is not an error: its empty list is explained.
    known = cli("pledges", "list", "--actor", "jd", "--since", "2099-01-01")
    assert known.code == 0 and "no pledge matches" in known.stderr


def test_boolean_flags_are_shown_as_flags(cli):
    helped = cli("rescan", "-h")
    assert helped.code == 0 and "--dry-run" in helped.stdout and "<bool>" not in helped.stdout


def test_a_query_starting_with_a_dash_goes_after_double_dash(cli):
    refused = one_error_line(cli("search", "-Pinduoduo Hubei"))
    assert "goes after '--'" in refused and "'-Pinduoduo Hubei'" in refused
    accepted = cli("search", "--", "-Pinduoduo Hubei")
    assert accepted.code == 0 and "matching Hubei -Pinduoduo" in accepted.stdout


def test_usage_errors_are_one_line(cli):
    assert "requires an argument" in one_error_line(cli("pledges", "list", "--kind"))
    assert "Did you mean 'list'" in one_error_line(cli("pledges", "lst"))


def test_wide_table_shows_sentence_and_link_and_never_cuts_a_date(cli):
    wide = cli("pledges", "list", "--wide", "--actor", "Tencent")
    assert wide.code == 0
    assert "Tencent Holdings Ltd will invest 500 billion yuan" in wide.stdout
    assert "https://www.chinadaily.com.cn/" in wide.stdout
    narrow = cli("pledges", "list", "-n", "5")
    assert "2016-01-13" in narrow.stdout  # at 80 columns, the date is whole


def test_feed_out_does_not_create_folders(cli, tmp_path):
    target = tmp_path / "missing" / "feed.xml"
    line = one_error_line(cli("pledges", "feed", "--out", str(target)))
    assert "does not exist" in line and not (tmp_path / "missing").exists()
    target.parent.mkdir()
    assert cli("pledges", "feed", "--out", str(target), "-n", "3").code == 0 and target.exists()


def test_serve_metadata_leaves_no_file_behind():
    from pledgewatch.cli.search import _metadata_file

    before = set(Path(tempfile.gettempdir()).glob("pledgewatch-datasette-*"))
    path = _metadata_file('{"title": "x"}')
    try:
        assert Path(path).read_text(encoding="utf-8") == '{"title": "x"}'
        assert set(Path(tempfile.gettempdir()).glob("pledgewatch-datasette-*")) == before
    finally:
        if path.startswith("/dev/fd/"):
            os.close(int(path.rsplit("/", 1)[1]))


def test_alerts_dry_run_says_how_many_are_too_old_and_the_key(cli):
    result = cli("alerts", "--dry-run")
    assert result.code == 0
    assert "no alerts due:" in result.stderr and "[email] alert_max_age_days" in result.stderr
    assert "every new pledge of the watch list has been alerted" not in result.stderr


def test_overrides_from_the_command_line(cli, archive, tmp_path):
    import shutil

    copy = tmp_path / "copy.db"
    shutil.copy(archive, copy)
    listed = json.loads(cli("pledges", "list", "-f", "json", "--actor", "jd", db_path=copy).stdout)
    target = next(p for p in listed if p["region"] == "Guizhou")
    corrected = cli(
        "pledges", "correct", str(target["id"]), "--region", "Guangxi", "--by", "ana", db_path=copy
    )
    assert corrected.code == 0 and "corrected region Guizhou -> Guangxi (by ana" in corrected.stdout
    rejected = cli(
        "pledges", "reject", f"m{target['mentions'][0]['id']}", "--why", "a past figure", db_path=copy
    )
    assert rejected.code == 0 and "rejected: a past figure" in rejected.stdout
    hidden = json.loads(cli("pledges", "list", "-f", "json", "--actor", "jd", db_path=copy).stdout)
    assert not any(p["id"] == target["id"] for p in hidden)  # its only report was rejected
    shown = json.loads(
        cli("pledges", "list", "-f", "json", "--rejected", "--actor", "jd", db_path=copy).stdout
    )
    entry = next(p for p in shown if p["id"] == target["id"])
    assert entry["region"] == "Guangxi" and entry["rejected_mentions"]
    assert "two different" in one_error_line(cli("pledges", "merge", "1", "1", db_path=copy))
    assert "no pledge 99999" in one_error_line(
        cli("pledges", "correct", "99999", "--kind", "jobs", db_path=copy)
    )


def test_db_upgrade_advises_a_rescan_when_the_detector_changed(cli, archive, tmp_path):
    import shutil

    copy = tmp_path / "old.db"
    shutil.copy(archive, copy)
    assert cli("db", "downgrade", "0013", "--yes", db_path=copy).code == 0
    upgraded = cli("db", "upgrade", db_path=copy)
    assert upgraded.code == 0 and "rescan advised: the archive's pledges were found by an older detector" in (
        upgraded.stdout
    )
    assert cli("rescan", db_path=copy).code == 0
    again = cli("db", "upgrade", db_path=copy)
    assert again.code == 0 and "rescan advised" not in again.stdout


def test_a_message_without_recipients_does_not_claim_the_reader_is_in_them(archive):
    from pledgewatch.config import Config, EmailConfig
    from pledgewatch.notify.dispatch import Dispatcher

    engine = db.make_engine(f"sqlite:///{archive}")
    try:
        dispatcher = Dispatcher(
            Config(email=EmailConfig(recipients=[])), db.session_factory(engine), alert_max_age_days=0
        )
        alert = dispatcher.preview_alerts()[0]
        assert "your address is in email.recipients" not in alert.text
        assert "email.recipients is empty in" in alert.text and "nobody is mailed" in alert.html
        digest = dispatcher.preview_digest()
        assert "your address is in email.recipients" not in digest.text
    finally:
        engine.dispose()


def test_a_crawl_summary_says_the_window_dropped_articles():
    from pledgewatch.crawler.summary import CrawlSummary

    assert CrawlSummary(articles_new=0, outside_window=12).window_note("[crawl] window_days = 30") == (
        "0 articles stored: 12 links led to articles published before the window ([crawl] window_days = 30; "
        "--since or a larger value reaches further back)"
    )
    assert CrawlSummary(articles_new=1, outside_window=12).window_note("x") == ""


@pytest.mark.slow
def test_a_replay_of_old_news_says_the_window_dropped_it(tmp_path):
    from conftest import run_cli

    from pledgewatch.cli.crawl import SAMPLE_WEB

    result = run_cli("--db", str(tmp_path / "a.db"), "crawl", "--replay", str(SAMPLE_WEB))
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: 0 articles stored")]
    assert len(notes) == 1 and "([crawl] window_days = 30;" in notes[0], result.stderr


def test_run_once_says_the_window_dropped_articles_in_its_crawl_line():
    from pledgewatch.crawler.crawl_child import ChildResult, CrawlOutcome

    summary = {"pages_fetched": 19, "articles_new": 0, "articles_updated": 0, "outside_window": 91}
    outcome = CrawlOutcome(["jd"], 1, ChildResult("ok", 0, summary, [], 1.0))
    assert outcome.describe().endswith(
        "; 91 links led to articles published before the window, not stored ([crawl] window_days)"
    )
    summary["articles_new"] = 2
    assert "window" not in outcome.describe()
