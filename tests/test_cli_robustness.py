"""Bad and edge input at the command line, as a demanding analyst hits it.

Every case expects what the README promises: one line on stderr, exit code 2 for bad input or 1
for a failure while running, no traceback, and no database changed by a command that failed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
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


@pytest.mark.slow
def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path):
    target = tmp_path / "notes.db"
    target.write_text("hello\n")
    for args in (["status"], ["db", "upgrade"], ["search", "Hubei"]):
        line = _one_line(run_cli("--db", str(target), *args), 2)
        assert "file is not a database" in line and str(target) in line
    assert target.read_text() == "hello\n"


@pytest.mark.slow
def test_a_truncated_database_is_one_line(tmp_path: Path):
    full = tmp_path / "full.db"
    _archive(full)
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(full.read_bytes()[:20000])
    line = _one_line(run_cli("--db", str(damaged), "status"), 2)
    assert "malformed" in line


@pytest.mark.slow
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


@pytest.mark.slow
def test_database_folder_that_cannot_be_created_is_one_line(tmp_path: Path):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    line = _one_line(run_cli("--db", str(blocker / "sub" / "x.db"), "db", "upgrade"), 2)
    assert "cannot create folder" in line


@pytest.mark.slow
def test_commands_that_only_read_refuse_a_missing_archive_and_create_nothing(tmp_path: Path):
    """`--db /tmp/typo/x.db status` created the folder and an empty archive, and left them."""
    target = tmp_path / "typo" / "x.db"
    reading = [
        ["status"],
        ["search", "Hubei"],
        ["pledges", "list"],
        ["pledges", "feed"],
        ["digest", "--dry-run", "--out", str(tmp_path / "digest")],
        ["alerts", "--dry-run"],
        ["db", "current"],
        ["db", "downgrade", "-1", "--yes"],
        ["serve", "--port", "0"],
    ]
    for args in reading:
        line = _one_line(run_cli("--db", str(target), *args), 2)
        assert f"no archive at {target}" in line, args
        assert "pledgewatch crawl" in line and "pledgewatch db upgrade" in line, args
        assert list(tmp_path.iterdir()) == [], args


@pytest.mark.slow
def test_a_foreign_sqlite_file_is_refused_unchanged(tmp_path: Path):
    """Another program's database was switched to WAL mode (its header rewritten) before the
    refusal: the connect pragmas ran before the check."""
    path = tmp_path / "places.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        connection.execute("INSERT INTO moz_places (url) VALUES ('https://example.org/')")
    connection.close()
    before = _digest(path)
    text = tmp_path / "report.txt"
    text.write_text(PLEDGE_TEXT)
    for args in (["status"], ["search", "Hubei"], ["db", "upgrade"], ["pledges", "extract", str(text)]):
        line = _one_line(run_cli("--db", str(path), *args), 1)
        assert "no pledgewatch schema revision" in line, args
        assert _digest(path) == before, args
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    connection.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["places.db", "report.txt"]


@pytest.mark.slow
def test_db_upgrade_leaves_another_programs_database_alone(tmp_path: Path):
    path = tmp_path / "places.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    line = _one_line(run_cli("--db", str(path), "db", "upgrade"), 1)
    assert "no pledgewatch schema revision" in line
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"moz_places"}


@pytest.mark.slow
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


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pw.toml"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_huge_day_counts_in_the_config_are_refused(tmp_path: Path):
    """window_days = 10**20 passed `config check`, then every crawl died with an OverflowError."""
    for text, key in (
        ("[crawl]\nwindow_days = 99999999999999999999\n", "crawl.window_days"),
        ("[email]\nalert_max_age_days = 999999\n", "email.alert_max_age_days"),
        ("[schedule]\ncrawl_time_limit = 99999999999999999999\n", "schedule.crawl_time_limit"),
    ):
        line = _one_line(run_cli("--config", str(_config(tmp_path, text)), "config", "check"), 2)
        assert key in line


@pytest.mark.slow
def test_config_check_checks_the_schedule(tmp_path: Path):
    """`config check` said OK to schedules that `run` then refused (or crashed on)."""
    for expression in ("every banana", "61 * * * *", "every 99999999999999999d"):
        config = _config(tmp_path, f'[schedule]\ncrawl = "{expression}"\n')
        line = _one_line(run_cli("--config", str(config), "config", "check"), 2)
        assert "schedule.crawl" in line, expression
    config = _config(tmp_path, '[schedule]\ncrawl = "every 30m"\ndigest = "off"\n')
    assert run_cli("--config", str(config), "config", "check").returncode == 0


@pytest.mark.slow
def test_a_misspelt_source_section_is_refused(tmp_path: Path):
    """[sources.chinadialy] used to be ignored: China Daily stayed enabled, daemon crawls failed."""
    config = _config(tmp_path, "[sources.chinadialy]\nenabled = false\n")
    line = _one_line(run_cli("--config", str(config), "config", "check"), 2)
    assert "sources.chinadialy" in line
    url = _archive(tmp_path / "a.db")
    line = _one_line(
        run_cli("--config", str(config), "--db", url, "crawl", "--replay", str(tmp_path / "x.warc.gz")), 2
    )
    assert "sources.chinadialy" in line


@pytest.mark.slow
def test_numbers_outside_their_range_are_bad_input(tmp_path: Path):
    url = _archive(tmp_path / "a.db")
    # A LIMIT past SQLite's integer, a port past 65535: a traceback / Datasette's own usage text.
    feed = run_cli("--db", url, "pledges", "feed", "--limit", "99999999999999999999999")
    assert feed.returncode == 2 and "Traceback" not in feed.stderr and "--limit" in feed.stderr
    serve = run_cli("--db", url, "serve", "--port", "99999")
    assert serve.returncode == 2 and "datasette" not in serve.stderr and "--port" in serve.stderr
    # nan and inf compare with nothing: they filtered every pledge out without a word.
    for amount in ("nan", "inf", "1e999"):
        line = _one_line(run_cli("--db", url, "pledges", "list", "--min-amount", amount), 2)
        assert "not an amount" in line, amount
    assert run_cli("--db", url, "pledges", "list", "--min-amount", "6 billion").returncode == 0


@pytest.mark.slow
def test_db_downgrade_takes_the_relative_revision_its_help_suggests(tmp_path: Path):
    """`db downgrade -1` (the help's own example) was refused as "No such option: -1"."""
    url = _archive(tmp_path / "a.db")
    result = run_cli("--db", url, "db", "downgrade", "-1", "--yes")
    assert result.returncode == 0, result.stderr
    engine = db.make_engine(url)
    assert db.current_revision(engine) == f"{int(db.head_revision()) - 1:04d}"
    engine.dispose()


SAMPLE_WEB = Path(__file__).resolve().parent.parent / "pledgewatch" / "data" / "sampleweb.warc.gz"


def _cut(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.slow
def test_a_truncated_warc_is_not_taken_for_a_complete_one(tmp_path: Path):
    """An interrupted download imported (or replayed) part of an archive and said "ok"."""
    import gzip

    whole = SAMPLE_WEB.read_bytes()
    plain = gzip.decompress(whole)
    cut_gz = _cut(tmp_path, "cut.warc.gz", whole[: len(whole) * 2 // 3])
    cut_plain = _cut(tmp_path, "cut.warc", plain[: len(plain) // 2])
    for archive in (cut_gz, cut_plain):
        url = _archive(tmp_path / (archive.name + ".db"))  # an existing archive: no creation note
        result = run_cli("--db", url, "import", str(archive), "--json")
        line = _one_line(result, 1)
        assert "cut short" in line, archive
        replay = _one_line(run_cli("--db", url, "crawl", "--replay", str(archive)), 2)
        assert "cut short" in replay, archive
    # The whole archive, compressed or not, is still fine.
    whole_plain = _cut(tmp_path, "whole.warc", plain)
    result = run_cli("--db", str(tmp_path / "ok.db"), "import", str(whole_plain), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"note: created a new, empty archive at {tmp_path / 'ok.db'}\n"


@pytest.mark.slow
def test_importing_an_empty_file_is_bad_input(tmp_path: Path):
    empty = _cut(tmp_path, "empty.warc.gz", b"")
    line = _one_line(run_cli("--db", str(tmp_path / "a.db"), "import", str(empty)), 2)
    assert "empty file" in line


def _saved_page(tmp_path: Path, url_part: str) -> Path:
    """An article page of the sample web, saved as a browser would (no URL beside it)."""
    from warcio.archiveiterator import ArchiveIterator

    with SAMPLE_WEB.open("rb") as stream:
        for record in ArchiveIterator(stream):
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            if record.rec_type == "response" and url_part in url:
                page = tmp_path / "page.html"
                page.write_bytes(record.content_stream().read())
                return page
    raise AssertionError(f"no {url_part} page in the sample web")


@pytest.mark.slow
def test_extract_resolves_a_protocol_relative_canonical_link_to_https(tmp_path: Path):
    """China Daily's canonical link is "//www.chinadaily.com.cn/...": it became file://www...."""
    import json

    page = _saved_page(tmp_path, "chinadaily.com.cn/a/20")
    assert b'href="//www.chinadaily.com.cn' in page.read_bytes()
    result = run_cli("extract", str(page))
    assert result.returncode == 0, result.stderr
    fields = json.loads(result.stdout)
    assert fields["url"].startswith("https://www.chinadaily.com.cn/a/")
    assert fields["canonical_url"] == fields["url"] and fields["source"] == "chinadaily"


@pytest.mark.slow
def test_extract_refuses_an_unknown_charset(tmp_path: Path):
    page = _saved_page(tmp_path, "chinadaily.com.cn/a/20")
    line = _one_line(run_cli("extract", str(page), "--charset", "nosuch-charset"), 2)
    assert "nosuch-charset" in line


@pytest.mark.slow
def test_an_unreachable_database_server_is_a_runtime_failure():
    """README: exit 1 for a failure while running (database unreachable); it was 2."""
    line = _one_line(run_cli("--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "db", "current"), 1)
    assert "cannot open database" in line


@pytest.mark.slow
def test_a_folder_given_as_config_file_is_named_as_such(tmp_path: Path):
    line = _one_line(run_cli("--config", str(tmp_path), "config", "check"), 2)
    assert "is a folder" in line and str(tmp_path) in line


@pytest.mark.slow
def test_conflicting_options_are_refused_not_ignored(tmp_path: Path):
    url = _archive(tmp_path / "a.db")
    config = _config(tmp_path, '[email]\nrecipients = ["analyst@example.org"]\nport = 1\n')
    # --out with --send was ignored (no files written, no word said).
    line = _one_line(
        run_cli("--config", str(config), "--db", url, "digest", "--send", "--out", str(tmp_path / "d")), 2
    )
    assert "--out" in line
    # Two different databases for the demo: the second silently won.
    other = tmp_path / "other.db"
    out = tmp_path / "demo-out"
    line = _one_line(run_cli("--db", url, "demo", "--db", str(other), "--out", str(out)), 2)
    assert "two databases" in line
    assert not other.exists() and not out.exists()


@pytest.mark.slow
def test_record_never_appends_to_a_file_that_is_not_a_warc(tmp_path: Path):
    """`--record archive.db` (meant: --db) appended gzipped WARC records to the SQLite file."""
    url = _archive(tmp_path / "a.db")
    victim = tmp_path / "victim.db"
    _archive(victim)
    notes = _cut(tmp_path, "notes.txt", b"my notes\n")
    before = {path: _digest(path) for path in (victim, notes)}
    for target in (victim, notes):
        result = run_cli("--db", url, "crawl", "--replay", str(SAMPLE_WEB), "--record", str(target))
        line = _one_line(result, 2)
        assert "not a WARC" in line
    assert {path: _digest(path) for path in (victim, notes)} == before
    # An existing recording is still appended to.
    recording = tmp_path / "rec.warc.gz"
    for _ in range(2):
        result = run_cli("--db", url, "crawl", "--replay", str(SAMPLE_WEB), "--record", str(recording))
        assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_pledges_list_refuses_empty_ranges_as_search_does(tmp_path: Path):
    """--since after --until (or min above max) listed "0 pledges", as if there were none."""
    url = _archive(tmp_path / "a.db")
    for args in (
        ["--since", "2021-01-01", "--until", "2019-01-01"],
        ["--min-amount", "10bn", "--max-amount", "1bn"],
    ):
        line = _one_line(run_cli("--db", url, "pledges", "list", *args), 2)
        assert "must" in line, args
    assert (
        run_cli("--db", url, "pledges", "list", "--since", "2019-01-01", "--until", "2021-01-01").returncode
        == 0
    )


def _in_read_only_folder(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    """Run the CLI with ``folder`` read-only: chmod for a user, a read-only bind mount for root
    (root writes through permission bits). Skips where neither is possible."""
    import os
    import shutil
    import subprocess
    import sys

    import pytest

    command = [sys.executable, "-m", "pledgewatch", *args]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return run_cli(*args)
        finally:
            folder.chmod(0o755)
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare to make a folder read-only for root")
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    env = {key: value for key, value in os.environ.items() if key != "PLEDGEWATCH_CONFIG"}
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(folder), *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if result.stderr.startswith(("unshare:", "mount:")):
        pytest.skip(f"cannot make a read-only bind mount here: {result.stderr.strip()}")
    return result


@pytest.mark.slow
def test_an_archive_in_a_read_only_folder_can_be_read(tmp_path: Path):
    """SQLite in WAL mode creates -shm beside the file even to read: a shared archive in a folder
    the user cannot write could not be read at all. Reading works now; writing says why not."""
    import json

    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "archive.db"
    _archive(path)
    text = tmp_path / "report.txt"
    text.write_text(PLEDGE_TEXT)
    assert run_cli("--db", str(path), "pledges", "extract", str(text)).returncode == 0
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists()  # closed cleanly: the file is the whole archive
    before = _digest(path)
    status = _in_read_only_folder(folder, "--db", str(path), "status")
    assert status.returncode == 0, status.stderr
    assert "pledges:            1 (1 mentions)" in status.stdout
    # The archive as the user named it, not the internal read-only URI it was opened through.
    assert f"database:           sqlite:///{path} (read-only)" in status.stdout, status.stdout
    listed = _in_read_only_folder(folder, "--db", str(path), "pledges", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [pledge["actor"] for pledge in json.loads(listed.stdout)] == ["JD.com"]
    # Writing cannot work there: one line that says why.
    line = _one_line(_in_read_only_folder(folder, "--db", str(path), "pledges", "extract", str(text)), 2)
    assert "read-only" in line and str(folder) in line
    assert _digest(path) == before
    assert sorted(p.name for p in folder.iterdir()) == ["archive.db"]


@pytest.mark.slow
def test_a_site_that_cannot_be_reached_is_one_line_per_error_not_a_traceback(tmp_path: Path):
    """Offline, Scrapy logged each site's failed robots.txt with a 70-line Twisted traceback."""
    import json
    import socket

    with socket.socket() as probe:  # a port nothing listens on: every request is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _config(
        tmp_path,
        f"[sources.jd]\nstart_urls = {json.dumps([f'http://127.0.0.1:{port}/'])}\n"
        "[sources.chinadaily]\nenabled = false\n[sources.people]\nenabled = false\n"
        "[crawl]\nretry_times = 0\ntimeout = 5\n",
    )
    url = _archive(tmp_path / "a.db")
    result = run_cli("--config", str(config), "--db", url, "crawl", "jd", "--json")
    # The source reached nothing: the crawl failed (exit 1), see test_crawl_outcome.py.
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "robotstxt" in result.stderr  # the failure is still said, in one line
    assert json.loads(result.stdout)["errors"] >= 1
