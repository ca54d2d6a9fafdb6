"""Issue 19, item 6: reading commands pointed at an empty PostgreSQL database or schema create
nothing; they say in one line that the archive is not initialised.

On a real PostgreSQL server (``$PLEDGEWATCH_TEST_POSTGRES_URL``), in a throwaway schema (the
``postgres_schema_url`` fixture's ``search_path``); skipped, saying why, without the variable.
Before, ``status`` or ``search`` built the whole archive schema in whatever database they were
given. Commands that store (``db upgrade``, ``crawl``) still create it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from sqlalchemy import create_engine, inspect

READING_COMMANDS = [
    ("status",),
    ("status", "--json"),
    ("search", "pledge"),
    ("pledges", "list"),
    ("pledges", "feed", "--out", "FEED"),
    ("report", "--out", "REPORT"),
    ("alerts", "--dry-run"),
    ("digest", "--dry-run", "--out", "DIGEST"),
]


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return inspect(connection).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_reading_commands_on_an_empty_postgres_schema_create_nothing(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    for command in READING_COMMANDS:
        argv = [str(tmp_path / arg) if arg.isupper() else arg for arg in command]
        result = run_cli("--db", postgres_schema_url, *argv, env={"PLEDGEWATCH_CONFIG": ""}, timeout=120)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2, (command, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, command
        assert len(lines) == 1 and "is not initialised" in lines[0], (command, result.stderr)
        assert "nothing created" in lines[0]
        assert _tables(postgres_schema_url) == [], f"{command} created tables"
    # A command that stores does create the archive, and the reading commands then work.
    created = run_cli("--db", postgres_schema_url, "db", "upgrade", env={"PLEDGEWATCH_CONFIG": ""})
    assert created.returncode == 0, created.stderr
    assert "articles" in _tables(postgres_schema_url)
    status = run_cli("--db", postgres_schema_url, "status", env={"PLEDGEWATCH_CONFIG": ""})
    assert status.returncode == 0, status.stderr
