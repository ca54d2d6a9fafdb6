"""`pledgewatch crawl` at a terminal goes through the daemon's overlap guard.

Each crawl is a CLI subprocess replaying a small site; the competing crawl is a ``crawl_runs`` row
as a crawl process writes it (``running``, its pid and host).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_crawl import db_rows, tiny_config, tiny_site, write_warc

from pledgewatch.store import crawlruns
from pledgewatch.store.db import ensure_schema, make_engine, session_factory
from pledgewatch.store.models import CrawlRun


def crawl_row(db: Path, pid: int) -> int:
    """A running crawl of jd by process ``pid`` on this host, as a crawl process leaves it."""
    engine = make_engine(f"sqlite:///{db}")
    ensure_schema(engine)
    with session_factory(engine)() as session:
        run = CrawlRun(
            status="running", trigger="cli", sources=["jd"], pid=pid, host=crawlruns.this_host(), error_log=[]
        )
        session.add(run)
        session.commit()
        run_id = run.id
    engine.dispose()
    return run_id


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def crawl(tmp_path: Path, db: Path) -> subprocess.CompletedProcess[str]:
    archive = tmp_path / "site.warc.gz"
    if not archive.exists():
        write_warc(archive, tiny_site())
    config = tiny_config(tmp_path / "pw.toml")
    return run_cli("--config", str(config), "--db", str(db), "crawl", "jd", "--replay", str(archive))


@pytest.mark.slow
def test_a_killed_crawl_does_not_block_the_next_and_is_marked_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    killed = crawl_row(db, dead_pid())

    result = crawl(tmp_path, db)

    assert result.returncode == 0, result.stderr
    assert "articles new          3" in result.stdout
    rows = db_rows(db, "SELECT id, status, pid IS NOT NULL, host FROM crawl_runs ORDER BY id")
    assert rows[0][:2] == (killed, "interrupted")
    # The new run names its process, so a kill -9 of it would not block the daemon either.
    assert rows[1][1:] == ("ok", 1, crawlruns.this_host())


@pytest.mark.slow
def test_a_crawl_refuses_to_overlap_a_live_crawl_of_the_same_source(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    live = crawl_row(db, os.getpid())

    result = crawl(tmp_path, db)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(
        f"error: not crawling: crawl run {live} of jd is still running (pid {os.getpid()}"
    )
    assert db_rows(db, "SELECT id, status FROM crawl_runs") == [(live, "running")]
    assert db_rows(db, "SELECT COUNT(*) FROM articles") == [(0,)]
