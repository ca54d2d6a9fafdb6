"""Shared helpers of the dedup tests: the measured article pairs and records built from them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pledgewatch.records import ArticleRecord
from pledgewatch.spiders.urls import identify
from pledgewatch.store import db

PAIRS_DIR = Path(__file__).resolve().parent / "data" / "dedup_pairs"
FETCHED = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)

# One plausible article URL per source, numbered so that every call can get a distinct one.
URL_PATTERNS = {
    "jd": "https://jdcorporateblog.com/jd-story-{n}/",
    "chinadaily": "https://www.chinadaily.com.cn/a/202004/09/WS5e8e6a2fa3105d50a3d14{n:03x}.html",
    "people": "https://en.people.cn/n3/2020/0430/c90000-96855{n:02d}.html",
}


@dataclass(frozen=True)
class Pair:
    a: str
    a_source: str
    b: str
    b_source: str
    expect: str
    why: str

    @property
    def id(self) -> str:
        return f"{self.a.removesuffix('.txt')}~{self.b.removesuffix('.txt')}"


def pairs(*expect: str) -> list[Pair]:
    data = json.loads((PAIRS_DIR / "pairs.json").read_text())["pairs"]
    return [Pair(**p) for p in data if not expect or p["expect"] in expect]


def text(name: str) -> str:
    return (PAIRS_DIR / name).read_text(encoding="utf-8")


def url(source: str, n: int) -> str:
    return URL_PATTERNS[source].format(n=n)


def record(
    source: str, body: str, n: int = 1, *, at: str | None = None, minutes: int = 0, **kw
) -> ArticleRecord:
    """An ArticleRecord as a spider yields it (``at`` overrides the URL)."""
    return identify(
        ArticleRecord(
            url=at or url(source, n),
            source=source,
            title=kw.pop("title", f"{source} article {n}"),
            text=body,
            fetched_at=FETCHED + timedelta(minutes=minutes),
            **kw,
        )
    )


def open_session(db_url: str) -> Iterator:
    engine = db.make_engine(db_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        yield session
    engine.dispose()
