"""A small archive for search and web-view tests: the five seed articles plus a few synthetic ones.

Articles are written through the real write path (``store.archive.save_article``), so the search
index is filled by the database triggers / generated column exactly as in a crawl. Pledges are added
through the ORM (pledge detection is another module's job; here they only need to exist).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import SEEDS_DIR
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pledgewatch.records import ArticleRecord
from pledgewatch.store import db
from pledgewatch.store.archive import get_or_create_source, save_article
from pledgewatch.store.models import Article, Pledge, PledgeMention


def seeds_dir() -> Path:
    """The vendored seed articles (tests/data/seeds)."""
    return SEEDS_DIR


# key -> (seed file, source, url, title, published, entities)
SEEDS: dict[str, tuple[str, str, str, str, datetime, list[str]]] = {
    "seed000": (
        "000_87c92a4e2c955b78.txt",
        "jd",
        "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/",
        "JD.com to Invest over RMB 6 Billion in Hubei",
        datetime(2020, 4, 8, 2, 0, tzinfo=UTC),
        ["JD.com"],
    ),
    "seed001": (
        "001_c282de24248220e8.txt",
        "chinadaily",
        "https://www.chinadaily.com.cn/a/202005/12/WS5eb9e0a3a310a8b241155f8c.html",
        "JD plans to add jobs in northeastern region",
        datetime(2020, 5, 12, 1, 30, tzinfo=UTC),
        ["JD.com"],
    ),
    "seed002": (
        "002_95abd2d7b559822c.txt",
        "jd",
        "https://jdcorporateblog.com/jd-esg-jds-ongoing-commitment-to-rural-revitalization/",
        "JD ESG: JD's Ongoing Commitment to Rural Revitalization",
        datetime(2021, 6, 30, 2, 0, tzinfo=UTC),
        ["JD.com"],
    ),
    "seed003": (
        "003_e6876707a9cf0135.txt",
        "people",
        "https://en.people.cn/n3/2020/0430/c90000-9685505.html",
        "Internet Plus strategy accelerates recovery of Hubei's economy",
        datetime(2020, 4, 30, 1, 7, tzinfo=UTC),
        ["JD.com", "Alibaba"],
    ),
    "seed004": (
        "004_53da56a8763ae14c.txt",
        "chinadaily",
        "https://www.chinadaily.com.cn/a/201601/14/WS5a2f3c11a3101a51ddf8f1a2.html",
        "E-commerce projects planned in 200 counties with 25,000 villages to boost employment",
        datetime(2016, 1, 14, 1, 0, tzinfo=UTC),
        ["JD.com"],
    ),
}


def _synthetic(now: datetime) -> dict[str, tuple[str, str, str, str, datetime | None, list[str]]]:
    """key -> (text, source, url, title, published, entities)."""
    return {
        # "Tianjin" only in the title here ...
        "title_hit": (
            "The retailer opened a new store and a logistics hub. Shoppers queued for opening offers and "
            "the company said sales of household appliances rose sharply in the first week.",
            "chinadaily",
            "https://www.chinadaily.com.cn/a/202103/02/WS603d8f1aa31024ad0baab0c1.html",
            "Suning opens flagship store in Tianjin",
            datetime(2021, 3, 2, 3, 0, tzinfo=UTC),
            ["Suning"],
        ),
        # ... and only in the body (twice) here: the title hit must rank first.
        "body_hit": (
            "Retail sales in northern cities rose in February. In Tianjin, department stores reported more "
            "visitors, and officials in Tianjin expect the recovery to continue through spring.",
            "people",
            "https://en.people.cn/n3/2021/0305/c90000-9825011.html",
            "Retail sales recover in northern cities",
            datetime(2021, 3, 5, 3, 0, tzinfo=UTC),
            [],
        ),
        "recent_rural": (
            "Rural revitalization is gaining pace in Guizhou province, where e-commerce cooperatives help "
            "farmers sell tea and chili peppers online. Local officials said incomes rose this year.",
            "people",
            "https://en.people.cn/n3/recent/c90000-9900001.html",
            "Rural revitalization gains pace in Guizhou",
            now - timedelta(days=10),
            [],
        ),
        "undated": (
            "A note on rural revitalization without a publication date; it must not pass date filters.",
            "jd",
            "https://jdcorporateblog.com/undated-note/",
            "An undated note",
            None,
            [],
        ),
        "hostile_text": (
            'Quotes "NEAR" and column:filters and * stars ^ carets \'; DROP TABLE articles; -- in a '
            "text about Pinduoduo and 北京 e-commerce.",
            "people",
            "https://en.people.cn/n3/2020/0101/c90000-9000001.html",
            "Pinduoduo notes",
            datetime(2020, 1, 1, tzinfo=UTC),
            ["Pinduoduo"],
        ),
    }


def seed_archive(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Save the seed and synthetic articles; returns key -> article id. Commits."""
    now = now or datetime.now(UTC)
    ids: dict[str, int] = {}
    for key, (filename, source, url, title, published, entities) in SEEDS.items():
        text = (seeds_dir() / filename).read_text(encoding="utf-8")
        record = ArticleRecord(url=url, source=source, title=title, text=text, published=published)
        ids[key] = save_article(session, record, entities).article.id
    for key, (text, source, url, title, published, entities) in _synthetic(now).items():
        record = ArticleRecord(url=url, source=source, title=title, text=text, published=published)
        ids[key] = save_article(session, record, entities).article.id
    session.commit()
    return ids


def add_hubei_pledge(session: Session, ids: dict[str, int], created_at: datetime | None = None) -> int:
    """JD's RMB 6 bn Hubei pledge, reported by seed 000 and re-reported by seed 003. Commits."""
    first = session.get_one(Article, ids["seed000"])
    later = session.get_one(Article, ids["seed003"])
    pledge = Pledge(
        key="jd.com|investment|hubei|3y|6e9",
        actor="JD.com",
        kind="investment",
        amount_value=6e9,
        currency="CNY",
        amount_unit="yuan",
        qualifier="more than",
        region="Hubei",
        horizon="over the next three years",
        start_year=2020,
        end_year=2022,
        first_published_at=first.published_at,
        created_at=created_at or datetime.now(UTC),
    )
    sentence = "JD.com announced today that it would invest more than RMB 6 billion in Hubei province"
    for index, article in enumerate((later, first)):
        start = article.text.find("6 billion")
        pledge.mentions.append(
            PledgeMention(
                article_id=article.id,
                source_name=article.source.name,
                sentence=sentence,
                sentence_index=index,
                start_offset=max(start, 0),
                end_offset=max(start, 0) + len(sentence),
                amount_value=6e9 if article is first else 849e6,
                currency="CNY" if article is first else "USD",
                is_new=article is first,
                published_at=article.published_at,
            )
        )
    session.add(pledge)
    session.commit()
    return pledge.id


def open_archive(url: str) -> tuple[object, Session]:
    engine = db.make_engine(url)
    db.ensure_schema(engine)
    return engine, db.session_factory(engine)()


def fill_window_archive(session: Session) -> dict[str, list[int]]:
    """3,000 articles, archived in order; which ones contain what (ids, oldest first)."""
    sources = [get_or_create_source(session, name).id for name in ("jd", "people")]
    session.commit()
    now = datetime(2024, 1, 1, tzinfo=UTC)
    contains: dict[str, list[int]] = {
        key: [] for key in ("Hubei", "logistics", "market", "rural", "phrase", "people")
    }
    rows = []
    draw = random.Random(20200408).random
    for number in range(3000):
        words = ["report"]
        # At random (fixed seed), so no pattern lines up with the ranges: Hubei in a quarter of the
        # oldest articles and 2 % of the others, logistics in a fifth, market in half; the phrase, and
        # its two words the other way round (a match for the words, not for the phrase).
        if draw() < (0.25 if number < 900 else 0.02):
            words.append("Hubei")
        if draw() < 0.2:
            words.append("logistics")
        if draw() < 0.5:
            words.append("market")
        if draw() < 0.15:
            words.append("rural revitalization")
        elif draw() < 0.15:
            words.append("revitalization rural")
        rows.append(
            {
                "source_id": sources[number % 2],
                "canonical_url": f"https://example.invalid/{number}",
                "title": f"Article {number}",
                "authors": [],
                "published_at": now - timedelta(hours=3000 - number),
                "fetched_at": now,
                "text": " ".join(words) + ".",
                "content_hash": f"{number:064x}",
                "relevant": False,
                "entities": [],
                "version": 1,
            }
        )
    session.execute(insert(Article), rows)
    session.commit()
    ids = session.scalars(
        select(Article.id).where(Article.title.like("Article %")).order_by(Article.id)
    ).all()
    for article_id, row in zip(ids, rows, strict=True):
        for word in ("Hubei", "logistics", "market", "rural"):
            if word in row["text"]:
                contains[word].append(article_id)
        if "rural revitalization" in row["text"]:
            contains["phrase"].append(article_id)
        if row["source_id"] == sources[1]:
            contains["people"].append(article_id)
    return contains
