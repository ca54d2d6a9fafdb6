"""Issue 19, item 6: every bad ``--db`` value is one line, never a traceback, and a server URL
without a database name is refused instead of silently using the OS user's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from pledgewatch.errors import ConfigError
from pledgewatch.store.db import normalise_db_url

BAD = [
    "/tmp/" + "a" * 5000 + ".db",  # path too long
    "sqlite:////tmp/" + "b" * 300 + ".db",  # one name too long
    "postgresql://[::1:5432/test",  # unclosed IPv6 bracket
    "postgresql://",  # no database name
    "postgresql+psycopg://postgres@127.0.0.1:5432/",
    "postgresql://127.0.0.1:5432",
    "postgresql://u:pw@host:notaport/db",
]


@pytest.mark.parametrize("value", [*BAD, "/tmp/a\x00b.db", "sqlite:////tmp/x\r\ny.db"])
def test_bad_database_urls_are_one_config_error(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        normalise_db_url(value)
    assert "\n" not in str(caught.value)


def test_a_password_is_never_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        normalise_db_url("postgresql://user:hunter2@[::1:5432/db")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("value", ["sqlite:///:memory:", "/tmp/ok.db", "postgresql://u@h:5432/db"])
def test_good_urls_pass(value: str) -> None:
    assert normalise_db_url(value)


@pytest.mark.slow
def test_every_bad_db_value_is_one_line_for_every_kind_of_command(tmp_path: Path) -> None:
    nul_config = tmp_path / "nul.toml"
    nul_config.write_text('[database]\nurl = "/tmp/a\\u0000b.db"\n', encoding="utf-8")
    cases = [(["--db", value], command) for value in BAD for command in (["status"], ["db", "upgrade"])]
    cases.append((["--config", str(nul_config)], ["status"]))
    for options, command in cases:
        result = run_cli(*options, *command, cwd=tmp_path, timeout=60)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode != 0, (options, command)
        assert "Traceback" not in result.stderr, (options, command, result.stderr[-500:])
        assert len(lines) == 1, (options, command, lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nul.toml"], "nothing created"
