"""Shared helpers for the pledge tests: the seed articles' bodies as the extractor sees them.

The bodies (title, byline and page furniture left out) are kept in the evaluation set
(tests/data/pledges_eval.jsonl, items noted "seed NNN"), so the tests need no file outside the
repository.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache

from conftest import DATA_DIR
from sqlalchemy.orm import Session

from pledgewatch.config import Config
from pledgewatch.ingest import ingest
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.sampleweb import load_manifest

EVAL_PATH = DATA_DIR / "pledges_eval.jsonl"


@cache
def eval_items() -> list[dict]:
    return [json.loads(line) for line in EVAL_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]


def seed_item(key: str) -> dict:
    for item in eval_items():
        if item["note"].startswith(f"seed {key}"):
            return item
    raise KeyError(key)


def seed_body(key: str) -> str:
    return seed_item(key)["text"]


def sample_record(article: dict, snapshot: str = "first") -> ArticleRecord:
    """A sample-web manifest article as the crawl would hand it to ingest, as of ``snapshot``."""
    version = article.get("later", article) if snapshot == "later" else article
    modified = version.get("modified")
    return ArticleRecord(
        url=article["url"],
        source=article["source"],
        title=version.get("title") or article["title"],
        text=version["text"],
        authors=article["authors"],
        published=datetime.fromisoformat(article["published"]),
        modified=datetime.fromisoformat(modified) if modified else None,
        outlet=article.get("outlet"),
    )


def ingest_snapshot(session: Session, snapshot: str) -> None:
    """The sample web's articles of one snapshot, oldest first, through the crawl's ingest step;
    in the later snapshot only those that changed."""
    watchlist = Watchlist(Config().watchlist)
    for article in sorted(load_manifest()["articles"], key=lambda a: a["published"]):
        version = article.get("later", article) if snapshot == "later" else article
        if snapshot not in article["snapshots"] or not version.get("text"):
            continue
        if snapshot == "later" and "later" not in article and "first" in article["snapshots"]:
            continue  # unchanged in the later snapshot
        ingest(session, sample_record(article, snapshot), watchlist)
