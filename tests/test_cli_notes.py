"""What the CLI tells a person: times in the schedule's zone (named), notes when they are news."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import run_cli

from pledgewatch.store import db
from pledgewatch.store.models import CrawlRun


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_new_archive_is_announced_when_it_is_created_not_at_exit(tmp_path: Path):
    """`run` may never exit: the note must come while it runs, before the daemon's first line."""
    target = tmp_path / "typo.db"
    config = tmp_path / "pw.toml"
    config.write_text(
        '[schedule]\ncrawl = "off"\ndigest = "off"\n[email]\nalerts = false\n', encoding="utf-8"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PLEDGEWATCH_CONFIG", None)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "pledgewatch", "--db", str(target), "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(120, daemon.kill)  # a hung daemon must not hang the suite
    watchdog.start()
    seen: list[str] = []
    try:
        assert daemon.stderr is not None
        for line in daemon.stderr:
            seen.append(line.rstrip("\n"))
            if "pledgewatch daemon running" in line:
                break
        # Still running: whatever it said so far was said before any exit.
        assert daemon.poll() is None, seen
        assert f"note: created a new, empty archive at {target}" in seen, seen
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=60)
        watchdog.cancel()
    assert daemon.returncode == 0
