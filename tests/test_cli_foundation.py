"""The CLI as a user runs it: schema creation, refusing old schemas, and one-line config errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from sqlalchemy import text

from pledgewatch.store import db


@pytest.mark.slow
def test_db_upgrade_creates_schema_and_is_idempotent(db_url):
    first = run_cli("--db", db_url, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "upgraded" in first.stdout
    again = run_cli("--db", db_url, "db", "upgrade")
    assert again.returncode == 0 and "already at" in again.stdout
    current = run_cli("--db", db_url, "db", "current")
    assert db.head_revision() in current.stdout and "up to date" in current.stdout


@pytest.mark.slow
def test_database_from_a_newer_version_is_refused(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_unknown'"))
    engine.dispose()
    result = run_cli("--db", url, "status")
    assert result.returncode == 1
    assert "newer version" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_older_schema_is_refused_with_upgrade_hint(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine, "0001")
    engine.dispose()
    if db.head_revision() == "0001":
        # Only one revision exists: an older schema can only be an empty one, which is created.
        result = run_cli("--db", url, "status")
        assert result.returncode == 0, result.stderr
        return
    result = run_cli("--db", url, "status")
    assert result.returncode == 1
    assert "pledgewatch db upgrade" in result.stderr
    assert run_cli("--db", url, "db", "upgrade").returncode == 0
    assert run_cli("--db", url, "status").returncode == 0


@pytest.mark.slow
def test_new_sqlite_database_is_created_at_head(tmp_path: Path):
    target = tmp_path / "sub" / "fresh.db"
    result = run_cli("--db", str(target), "alerts", "--send")  # writes: creates the archive first
    assert "created a new, empty archive" in result.stderr
    report = tmp_path / "report.txt"
    report.write_text("JD will invest RMB 6 billion in Hubei.\n")
    result = run_cli("--db", str(target), "pledges", "extract", str(report))
    assert result.returncode == 0, result.stderr
    assert target.exists()
    engine = db.make_engine(f"sqlite:///{target}")
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


@pytest.mark.slow
def test_env_var_selects_database(tmp_path: Path):
    target = tmp_path / "from-env.db"
    result = run_cli("db", "upgrade", env={"PLEDGEWATCH_DB": f"sqlite:///{target}"})
    assert result.returncode == 0, result.stderr
    assert target.exists()


@pytest.mark.slow
def test_unknown_config_key_is_one_clear_line(tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text('[crawl]\nuser_agent = "x"\nspeed = 3\n')
    result = run_cli("--config", str(config), "config", "check")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "crawl.speed" in result.stderr and str(config) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_wrong_type_names_key_and_file(tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text('[email]\nport = "twenty-five"\n')
    result = run_cli("--config", str(config), "config", "check")
    assert result.returncode == 2
    assert "email.port" in result.stderr and "bad.toml" in result.stderr


@pytest.mark.slow
def test_missing_config_file(tmp_path: Path):
    result = run_cli("--config", str(tmp_path / "nope.toml"), "config", "check")
    assert result.returncode == 2
    assert "config file not found" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_invalid_toml(tmp_path: Path):
    config = tmp_path / "broken.toml"
    config.write_text("[crawl\n")
    result = run_cli("--config", str(config), "config", "check")
    assert result.returncode == 2 and "not valid TOML" in result.stderr


@pytest.mark.slow
def test_example_config_is_valid():
    example = Path(__file__).resolve().parent.parent / "pledgewatch.example.toml"
    result = run_cli("--config", str(example), "config", "check")
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_unreachable_database_is_a_clear_error():
    result = run_cli("--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "db", "current")
    assert result.returncode != 0
    assert "cannot open database" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_unknown_revision_is_one_line(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    for command in (["db", "upgrade", "zz"], ["db", "downgrade", "zz", "--yes"]):
        result = run_cli("--db", url, *command)
        assert result.returncode == 2, result.stderr
        assert "zz" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_downgrade_asks_for_confirmation(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'keep.db'}"
    assert run_cli("--db", url, "db", "upgrade").returncode == 0
    refused = run_cli("--db", url, "db", "downgrade", "base")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    engine = db.make_engine(url)
    assert db.current_revision(engine) == db.head_revision()  # nothing dropped
    engine.dispose()
    done = run_cli("--db", url, "db", "downgrade", "base", "--yes")
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_new_archive_is_announced(tmp_path: Path):
    """A command that stores something creates a new archive at a mistyped path, but never
    silently: `pledges extract --db NEW` and `import` created one without a word."""
    from pledgewatch.cli.crawl import SAMPLE_WEB

    report = tmp_path / "report.txt"
    report.write_text("JD will invest RMB 6 billion in Hubei.\n")
    for args in (["pledges", "extract", str(report)], ["import", str(SAMPLE_WEB), "--json"]):
        target = tmp_path / "typo" / f"{args[0]}.db"
        first = run_cli("--db", str(target), *args)
        assert first.returncode == 0, first.stderr
        assert f"created a new, empty archive at {target}" in first.stderr, args
        again = run_cli("--db", str(target), *args)
        assert "created a new" not in again.stderr, args
    # Given after `extract` too.
    target = tmp_path / "typo" / "after.db"
    result = run_cli("pledges", "extract", str(report), "--db", str(target))
    assert f"created a new, empty archive at {target}" in result.stderr


@pytest.mark.slow
def test_output_folder_that_is_a_file(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert run_cli("--db", url, "db", "upgrade").returncode == 0  # digest --dry-run only reads
    for command in (["digest", "--dry-run", "--out", str(blocker)], ["demo", "--out", str(blocker)]):
        result = run_cli("--db", url, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert "is not a folder" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_failed_command_leaves_no_empty_archive(tmp_path: Path):
    target = tmp_path / "typo.db"
    # alerts --send learns that nobody is configured to receive them after opening the archive.
    result = run_cli("--db", str(target), "alerts", "--send")
    assert result.returncode == 2
    # The creation is announced when it happens; its removal is said too.
    lines = result.stderr.strip().splitlines()
    assert lines[:2] == [
        f"note: created a new, empty archive at {target}",
        f"note: removed the new archive at {target} again (still empty)",
    ]
    assert lines[2].startswith("error: email.recipients is empty")
    assert len(lines) == 3
    assert not target.exists()


@pytest.mark.slow
def test_bad_crawl_arguments_are_refused_before_an_archive_is_created(tmp_path: Path):
    target = tmp_path / "typo.db"
    for args in (["crawl", "nosuchsource"], ["crawl", "--replay", str(tmp_path / "missing.warc.gz")]):
        result = run_cli("--db", str(target), *args)
        assert result.returncode == 2
        # One line: no archive was created (and removed again) for a typo.
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error: ")
        assert not target.exists()
