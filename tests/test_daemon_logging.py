"""What the daemon's log says: failed crawls stand out, scheduled times read to the second."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from pledgewatch.config import load_config
from pledgewatch.crawler.crawl_child import ChildResult, CrawlOutcome
from pledgewatch.scheduler import Daemon, log_outcome
from pledgewatch.store import db


def write_config(path: Path, extra: str = "") -> Path:
    path.write_text(
        f"""
[schedule]
crawl = "every 1h"
digest = "0 8 * * *"
timezone = "Asia/Shanghai"

[email]
alerts = false
recipients = ["analyst@example.org"]
{extra}
""",
        encoding="utf-8",
    )
    return path


def _records(caplog, level):
    return [r for r in caplog.records if r.name == "pledgewatch.daemon" and r.levelno == level]


@pytest.mark.slow
def test_a_failed_crawl_is_a_warning_with_the_source_and_why(tmp_path, sqlite_url, caplog):
    """A real crawl child that fails (its replay archive does not exist)."""
    config = load_config(
        write_config(tmp_path / "pw.toml", '[crawl]\nreplay = "/nonexistent/archive.warc.gz"\n')
    )
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    caplog.set_level(logging.INFO, logger="pledgewatch")
    try:
        outcome = Daemon(config, sqlite_url, engine).crawl_and_alert(["jd"])
    finally:
        engine.dispose()
    assert outcome is not None and outcome.result is not None and outcome.result.status == "failed"
    warnings = [r.getMessage() for r in _records(caplog, logging.WARNING)]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("crawl jd (run ") and "failed in" in warnings[0]
    assert "crawl child exited with code" in warnings[0]


def test_a_crawl_past_its_time_limit_is_a_warning_that_says_so(caplog):
    outcome = CrawlOutcome(
        sources=["chinadaily"],
        run_id=7,
        result=ChildResult(status="timeout", returncode=-15, summary=None, stderr_tail=[], seconds=25.1),
        reason="time limit of 25 s reached: the crawl child was stopped",
    )
    caplog.set_level(logging.INFO, logger="pledgewatch")
    log_outcome(outcome)
    assert [r.getMessage() for r in _records(caplog, logging.WARNING)] == [
        "crawl chinadaily (run 7): timeout in 25.1 s; time limit of 25 s reached: the crawl child was stopped"
    ]
    # A crawl that went fine stays at INFO.
    caplog.clear()
    fine = ChildResult(status="ok", returncode=0, summary={"pages_fetched": 3}, stderr_tail=[], seconds=2.0)
    log_outcome(CrawlOutcome(sources=["jd"], run_id=8, result=fine))
    assert _records(caplog, logging.WARNING) == []
    assert [r.getMessage() for r in _records(caplog, logging.INFO)] == [
        "crawl jd (run 8): ok in 2.0 s: 3 pages fetched"
    ]


@pytest.mark.slow
def test_next_run_is_logged_to_the_second_in_the_schedule_zone(tmp_path, sqlite_url, caplog):
    config = load_config(write_config(tmp_path / "pw.toml"))
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    caplog.set_level(logging.INFO, logger="pledgewatch")
    daemon = Daemon(config, sqlite_url, engine)
    scheduler = daemon.make_scheduler()
    scheduler.start(paused=True)
    try:
        daemon.reconcile(scheduler)
    finally:
        scheduler.shutdown(wait=False)
        engine.dispose()
    lines = [r.getMessage() for r in _records(caplog, logging.INFO) if "next run" in r.getMessage()]
    assert len(lines) == 2, lines
    for line in lines:
        assert re.search(r"next run \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00$", line), line
    assert any("next run" in line and " 08:00:00+08:00" in line for line in lines), lines
