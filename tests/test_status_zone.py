"""`pledgewatch status` shows times in the schedule's zone, like the rest of pledgewatch, and says so."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from conftest import run_cli

from pledgewatch.store import db
from pledgewatch.store.models import CrawlRun


def test_status_shows_the_last_crawl_in_the_schedule_zone(tmp_path: Path, sqlite_url: str):
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        started = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
        session.add(CrawlRun(started_at=started, status="ok", sources=["jd"]))
        session.commit()
    engine.dispose()
    config = tmp_path / "pw.toml"
    config.write_text('[schedule]\ntimezone = "Asia/Shanghai"\n', encoding="utf-8")
    result = run_cli("--db", sqlite_url, "--config", str(config), "status")
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("last crawl:")]
    # 23:30 UTC is 07:30 the next morning in Shanghai.
    assert line.split(":", 1)[1].strip() == "2026-03-02 07:30 Asia/Shanghai (UTC+08:00), ok"
