"""Concurrent writers on one PostgreSQL archive never create a second article, URL alias, source,
story or pledge (issue 18): several `pledgewatch import` processes store the same sample web at
the same moment, as the workers of a cluster do with overlapping copies."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import run_cli
from helpers_cluster import SAMPLE_WEB
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

COUNTS = {
    "articles": "SELECT count(*) FROM articles",
    "article_urls": "SELECT count(*) FROM article_urls",
    "sources": "SELECT count(*) FROM sources",
    "stories": "SELECT count(DISTINCT story_id) FROM articles",
    "story_rows": "SELECT count(*) FROM stories WHERE id IN (SELECT story_id FROM articles)",
    "pledges": "SELECT count(*) FROM pledges",
    "pledge_mentions": "SELECT count(*) FROM pledge_mentions",
}


def _counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return {name: int(connection.execute(text(sql)).scalar_one()) for name, sql in COUNTS.items()}
    finally:
        engine.dispose()


def test_parallel_imports_store_each_thing_once(tmp_path, postgres_schema_url):
    reference = f"sqlite:///{tmp_path / 'one-writer.db'}"
    single = run_cli("--db", reference, "import", str(SAMPLE_WEB), "--json")
    assert single.returncode == 0, single.stderr
    expected = _counts(reference)
    assert expected["articles"] > 30 and expected["pledges"] > 10

    assert run_cli("--db", postgres_schema_url, "db", "upgrade").returncode == 0
    env = {**os.environ, "PLEDGEWATCH_DB": postgres_schema_url}
    env.pop("PLEDGEWATCH_CONFIG", None)
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "pledgewatch", "import", str(SAMPLE_WEB), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    summaries = []
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err[-3000:]
        summaries.append(json.loads(out))
    # No writer failed on a constraint: each either stored an article or found it stored.
    assert [s["errors"] for s in summaries] == [0, 0, 0]
    assert sum(s["articles_new"] for s in summaries) == expected["articles"]
    assert _counts(postgres_schema_url) == expected
