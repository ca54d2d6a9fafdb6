"""The store pipeline and ingest: relevance, statuses, and one bad article never losing the others."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy.extension import ExtensionManager
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from pledgewatch.config import Config
from pledgewatch.crawler.pipelines import StorePipeline
from pledgewatch.crawler.settings import ARCHIVE_EXTENSION
from pledgewatch.ingest import ingest
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.store.db import ensure_schema, make_engine, session_factory
from pledgewatch.store.models import Article

PUBLISHED = datetime(2020, 4, 8, 2, 0, tzinfo=UTC)


def record(
    url: str, text: str, title: str = "A title", published: datetime | None = PUBLISHED
) -> ArticleRecord:
    return ArticleRecord(url=url, source="jd", title=title, text=text, published=published)


def test_ingest_flags_relevance_and_reports_new_unchanged_updated(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    watchlist = Watchlist(Config().watchlist)
    url = "https://jdcorporateblog.com/hubei/"
    with session_factory(engine)() as session:
        first = ingest(session, record(url, "JD.com will invest RMB 6 billion in Hubei."), watchlist)
        again = ingest(session, record(url, "JD.com will invest RMB 6 billion in Hubei."), watchlist)
        edited = ingest(session, record(url, "JD.com will invest RMB 7 billion in Hubei."), watchlist)
        other = ingest(
            session, record("https://jdcorporateblog.com/jdk/", "A JDK 21 release note."), watchlist
        )
    assert (first.status, again.status, edited.status, other.status) == ("new", "unchanged", "updated", "new")
    assert first.article_id == again.article_id == edited.article_id
    with session_factory(engine)() as session:
        relevant = dict(session.execute(select(Article.canonical_url, Article.relevant)).all())
        version = session.scalar(select(Article.version).where(Article.canonical_url == url))
    engine.dispose()
    assert relevant == {url: True, "https://jdcorporateblog.com/jdk/": False}
    assert version == 2


def test_one_bad_article_is_counted_and_the_rest_is_stored(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    crawler = get_crawler(
        settings_dict={
            "PLEDGEWATCH_DB_URL": sqlite_url,
            "PLEDGEWATCH_CONFIG": Config(),
            "EXTENSIONS": {ARCHIVE_EXTENSION: 100},
        }
    )
    # What a crawl does before it builds its components: the extensions, among them the archive.
    crawler.extensions = build_from_crawler(ExtensionManager, crawler)
    crawler.stats.open_spider()
    pipeline = StorePipeline.from_crawler(crawler)

    # A naive publication time: the store refuses it (times must be timezone-aware).
    bad = record("https://jdcorporateblog.com/bad/", "JD.com text.", published=datetime(2020, 4, 8))
    good = record("https://jdcorporateblog.com/good/", "JD.com will hire 20,000 people.")
    assert pipeline.process_item(bad) is bad
    assert pipeline.process_item(good) is good

    stats = crawler.stats.get_stats()
    assert stats["pledgewatch/errors"] == 1
    assert stats["pledgewatch/articles_new"] == 1
    assert stats["pledgewatch/articles_seen"] == 2
    assert "store https://jdcorporateblog.com/bad/" in stats["pledgewatch/error_log"][0]
    with session_factory(engine)() as session:
        urls = session.scalars(select(Article.canonical_url)).all()
    engine.dispose()
    assert urls == ["https://jdcorporateblog.com/good/"]
