"""Bad and edge input at the command line, as a demanding analyst hits it.

Every case expects what the README promises: one line on stderr, exit code 2 for bad input or 1
for a failure while running, no traceback, and no database changed by a command that failed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from conftest import run_cli

from pledgewatch.store import db

PLEDGE_TEXT = "JD will invest RMB 6 billion in Hubei over the next three years.\n"


def _archive(path: Path) -> str:
    """An empty archive at the current schema; returns its URL."""
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(result, code: int) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path):
    target = tmp_path / "notes.db"
    target.write_text("hello\n")
    for args in (["status"], ["db", "upgrade"], ["search", "Hubei"]):
        line = _one_line(run_cli("--db", str(target), *args), 2)
        assert "file is not a database" in line and str(target) in line
    assert target.read_text() == "hello\n"


def test_a_truncated_database_is_one_line(tmp_path: Path):
    full = tmp_path / "full.db"
    _archive(full)
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(full.read_bytes()[:20000])
    line = _one_line(run_cli("--db", str(damaged), "status"), 2)
    assert "malformed" in line


def test_writing_to_a_read_only_database_is_one_line(tmp_path: Path):
    """A shared archive opened read-only: reads work, a write says why it failed (exit 1)."""
    path = tmp_path / "shared.db"
    _archive(path)
    before = _digest(path)
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    assert run_cli("--db", read_only, "status").returncode == 0
    text = tmp_path / "report.txt"
    text.write_text(PLEDGE_TEXT)
    line = _one_line(run_cli("pledges", "extract", str(text), "--db", read_only), 1)
    assert "readonly database" in line
    assert _digest(path) == before


def test_database_folder_that_cannot_be_created_is_one_line(tmp_path: Path):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    line = _one_line(run_cli("--db", str(blocker / "sub" / "x.db"), "status"), 2)
    assert "cannot create folder" in line


def test_db_upgrade_leaves_another_programs_database_alone(tmp_path: Path):
    path = tmp_path / "places.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    line = _one_line(run_cli("--db", str(path), "db", "upgrade"), 1)
    assert "no pledgewatch schema revision" in line
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"moz_places"}


def test_dates_outside_what_utc_can_hold_are_bad_input(tmp_path: Path):
    """Year 1 east of UTC, the day after 9999-12-31, a million days ago: no traceback."""
    url = _archive(tmp_path / "a.db")
    cases = [
        ["search", "Hubei", "--since", "0001-01-01T00:00:00+01:00"],
        ["search", "Hubei", "--until", "9999-12-31"],
        ["search", "Hubei", "--since", "99999999999d"],
        ["pledges", "list", "--since", "0001-01-01T00:00:00+01:00"],
        ["pledges", "list", "--new-since", "9999-12-31T23:59:59-05:00"],
    ]
    for args in cases:
        line = _one_line(run_cli("--db", url, *args), 2)
        assert "out of range" in line, args
    # The same instant written in another zone still works.
    assert run_cli("--db", url, "search", "Hubei", "--since", "2019-01-01T00:00+08:00").returncode == 0
